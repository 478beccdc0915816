"""The handoff map's URLs, included into the `orchestration` namespace (names start `handoff`)."""

from django.urls import path

from orchestration.handoff import views

P = "flows/<slug:slug>/handoff/"

urlpatterns = [
    path(P, views.handoff, name="handoff"),
    path(P + "edge/", views.handoff_edge, name="handoff_edge"),
    path(P + "actor/", views.handoff_actor, name="handoff_actor"),
]
