from django.urls import path

from console import views

app_name = "console"
urlpatterns = [
    path("", views.console_home, name="home"),
    path("people/", views.people, name="people"),
    path("permissions/", views.permissions, name="permissions"),
    path("tokens/", views.tokens, name="tokens"),
    path("allow-list/", views.allow_list, name="allow_list"),
    path("allow-list/<int:target_id>/remove/", views.allow_list_remove, name="allow_list_remove"),
    path("workers/", views.workers, name="workers"),
]
