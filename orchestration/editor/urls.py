"""The editor's URLs, included into the `orchestration` namespace (names start `editor`)."""

from django.urls import path

from orchestration.editor import release_views, views

P = "flows/<slug:slug>/editor/"
V = P + "v<int:number>/"

urlpatterns = [
    path(P, views.editor, name="editor"),
    path(V, views.editor_version, name="editor_version"),
    path(V + "save/", views.editor_save, name="editor_save"),
    path(V + "step/", views.editor_step, name="editor_step"),
    path(V + "connection/", views.editor_connection, name="editor_connection"),
    path(V + "yaml/", release_views.editor_yaml, name="editor_yaml"),
    path(V + "publish/", release_views.editor_publish, name="editor_publish"),
    path(V + "new-draft/", release_views.editor_new_draft, name="editor_new_draft"),
    path(V + "test-run/", release_views.editor_test_run, name="editor_test_run"),
    path(P + "runs/<int:instance_id>/", release_views.editor_run_status, name="editor_run_status"),
    path(
        "flows/editor/check-expression/",
        views.editor_check_expression,
        name="editor_check_expression",
    ),
]
