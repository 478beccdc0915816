from django.urls import path

from approvals import views

app_name = "approvals"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("escalations/", views.escalations, name="escalations"),
]
