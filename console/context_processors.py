from __future__ import annotations

from typing import Any

from django.http import HttpRequest

# (key, label, icon, url name, path prefix)
AREAS = [
    ("flows", "Flows", "ti-hierarchy-2", "orchestration:flow_list", ("/flows", "/instances")),
    ("inbox", "Inbox", "ti-inbox", "approvals:inbox", ("/inbox", "/tasks")),
    ("escalations", "Escalations", "ti-alarm", "approvals:escalations", ("/escalations",)),
    ("dashboards", "Dashboards", "ti-chart-bar", "orchestration:dashboards", ("/dashboards",)),
    ("audit", "Audit", "ti-shield-check", "audit:home", ("/audit",)),
    ("console", "Admin", "ti-settings", "console:home", ("/console",)),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    active = next((key for key, *_rest, prefixes in AREAS if request.path.startswith(prefixes)), "")
    return {"nav_areas": AREAS, "nav_active": active}
