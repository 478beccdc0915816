from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from console import views as console_views

urlpatterns = [
    path("", console_views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", console_views.healthz, name="healthz"),
    path("", include("orchestration.urls")),
    path("", include("approvals.urls")),
    path("audit/", include("audit.urls")),
    path("console/", include("console.urls")),
    path("django-admin/", admin.site.urls),
]

handler400 = "console.views.bad_request"
