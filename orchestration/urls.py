from django.urls import include, path, re_path

from orchestration import access_views, api, instance_views, ownership_views, views

app_name = "orchestration"
urlpatterns = [
    path("flows/", views.flow_list, name="flow_list"),
    path("flows/new/", views.flow_create, name="flow_create"),
    path("flows/import/", views.flow_import, name="flow_import"),
    path("flows/<slug:slug>/", views.flow_detail, name="flow_detail"),
    path("flows/<slug:slug>/start/", views.flow_start, name="flow_start"),
    path("flows/<slug:slug>/import/", views.flow_import_draft, name="flow_import_draft"),
    path("flows/<slug:slug>/versions/<int:number>/yaml/", views.version_yaml, name="version_yaml"),
    path(
        "flows/<slug:slug>/versions/<int:number>/publish/",
        views.version_publish,
        name="version_publish",
    ),
    path(
        "flows/<slug:slug>/versions/<int:number>/retire/",
        views.version_retire,
        name="version_retire",
    ),
    path(
        "flows/<slug:slug>/versions/<int:number>/new-draft/",
        views.version_new_draft,
        name="version_new_draft",
    ),
    path("flows/<slug:slug>/owners/", ownership_views.flow_owners, name="flow_owners"),
    path("flows/<slug:slug>/access/grant/", access_views.access_grant, name="access_grant"),
    path("flows/<slug:slug>/access/revoke/", access_views.access_revoke, name="access_revoke"),
    path("flows/<slug:slug>/tokens/", access_views.token_create, name="token_create"),
    path(
        "flows/<slug:slug>/tokens/<int:token_id>/revoke/",
        access_views.token_revoke,
        name="token_revoke",
    ),
    path("instances/", instance_views.instance_list, name="instance_list"),
    path("instances/<int:instance_id>/", instance_views.instance_detail, name="instance_detail"),
    path("instances/<int:instance_id>/live/", instance_views.instance_live, name="instance_live"),
    path("instances/<int:instance_id>/act/", instance_views.instance_act, name="instance_act"),
    path("api/flows/<slug:slug>/start", api.start, name="api_start"),
    path("api/instances/<int:instance_id>", api.instance_status, name="api_instance"),
    re_path(r"^api/(?P<rest>.*)$", api.not_found, name="api_not_found"),
    path("dashboards/", views.dashboards, name="dashboards"),
    path("", include("orchestration.editor.urls")),
    path("", include("orchestration.handoff.urls")),
]
