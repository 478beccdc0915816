from django.urls import path

from approvals import views

app_name = "approvals"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/teams/", views.team_queue, name="team_queues"),
    path("inbox/teams/<int:team_id>/", views.team_queue, name="team_queue"),
    path("inbox/count/", views.nav_count, name="nav_count"),
    path("inbox/bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("inbox/away/", views.away, name="away"),
    path("inbox/away/<int:delegation_id>/end/", views.end_away, name="end_away"),
    path("inbox/notifications/", views.notifications, name="notifications"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/claim/", views.claim, name="claim"),
    path("tasks/<int:task_id>/release/", views.release, name="release"),
    path("tasks/<int:task_id>/decide/", views.decide, name="decide"),
    path("escalations/", views.escalations, name="escalations"),
]
