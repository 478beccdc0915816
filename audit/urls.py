from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.home, name="home"),
    path("verify/", views.verify_now, name="verify"),
    path("heads.json", views.heads_download, name="heads"),
    path("events/", views.event_search, name="search"),
    path("events/export.csv", views.event_export, {"fmt": "csv"}, name="export_csv"),
    path("events/export.jsonl", views.event_export, {"fmt": "jsonl"}, name="export_jsonl"),
    path("decisions/<int:record_id>/", views.decision, name="decision"),
    path("cases/<int:instance_id>/evidence.zip", views.evidence_pack, name="evidence_pack"),
    path("flows/<slug:slug>/", views.flow_register, name="register"),
]
