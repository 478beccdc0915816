from django.urls import path

from orchestration import views

app_name = "orchestration"
urlpatterns = [
    path("flows/", views.flow_list, name="flow_list"),
    path("dashboards/", views.dashboards, name="dashboards"),
]
