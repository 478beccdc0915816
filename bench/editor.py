"""Flow editor benchmark: server time to open and to autosave (merge + lint + save)
generated 50 / 200 / 500-step flows.

    .venv/bin/python bench/editor.py            # embedded SQLite unless DATABASE_URL is set

Runs in a throw-away test database (created and dropped here). Each flow mixes every
common kind (set, approval, decision, HTTP with an error path, branch with a condition
and a default, notify) between one start and two end steps, with positions. Times full
requests through Django (middleware, access check, lint, elements, template):

* open: GET of the editor page of the draft (load + lint + render);
* save: the canvas's autosave POST of the whole graph (merge + lint + save + problems).

Prints p50 / p95 per size (goal: a 200-step flow opens and lints within 1 s; the browser
then lays it out with dagre: tests/browser/test_editor_panels.py prints that time, and
does not judge it, as a busy machine makes any bound flaky).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PODIUM_VAR_DIR", "/tmp/podium-bench-editor")

import django

django.setup()

from _measure import summary, throwaway_database, timed  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from orchestration.access import grant_owner_permissions  # noqa: E402
from orchestration.models import Flow, FlowVersion  # noqa: E402

SIZES = [50, 200, 500]
REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))
CYCLE = ["set", "approval", "decision", "http", "branch", "notify"]


def generate(size: int) -> dict[str, Any]:
    """start → size-3 steps in a chain (branches skip one step) → end / failed."""
    steps: list[dict[str, Any]] = [
        {
            "id": "start",
            "kind": "start",
            "label": "Start",
            "owner": "team:Ops",
            "config": {"triggers": [{"type": "manual"}]},
        }
    ]
    connections: list[dict[str, Any]] = []
    middle = [f"s{i}" for i in range(1, size - 2)]
    chain = ["start", *middle, "done"]
    for i, step_id in enumerate(middle):
        kind = CYCLE[i % len(CYCLE)]
        step: dict[str, Any] = {
            "id": step_id,
            "kind": kind,
            "label": f"Step {i + 1} ({kind})",
            "owner": "team:Ops",
            "description": "Generated for the bench.",
        }
        if kind == "set":
            step["config"] = {"assign": {f"v{i}": f"{i} + 1"}}
        elif kind == "approval":
            step["config"] = {"assignees": ["team:Ops"]}
            step["sla"] = {"minutes": 240}
        elif kind == "decision":
            step["config"] = {
                "provider": "rules",
                "outcomes": ["yes", "no"],
                "review_team": "team:Ops",
                "threshold": 0.8,
            }
        elif kind == "http":
            step["config"] = {"method": "POST", "url": "https://api.example.com/x"}
            step["on_error"] = "failed"
        elif kind == "notify":
            step["config"] = {"to": ["team:Ops"], "subject": "Hello", "body": "Step done"}
        steps.append(step)
    steps.append({"id": "done", "kind": "end", "label": "Done", "config": {"result": "success"}})
    steps.append(
        {
            "id": "failed",
            "kind": "end",
            "label": "Failed",
            "config": {"result": "failure", "reason": "a call failed"},
        }
    )
    for a, b in itertools.pairwise(chain):
        kind = next((s["kind"] for s in steps if s["id"] == a), "")
        if kind == "branch":
            connections.append({"from": a, "to": b, "condition": "data.amount > 10"})
            connections.append({"from": a, "to": "failed", "default": True})
        else:
            connections.append({"from": a, "to": b})
    layout = {s["id"]: [0, 90 * n] for n, s in enumerate(steps)}
    return {
        "format": "podium/v1",
        "input_schema": {"type": "object"},
        "steps": steps,
        "connections": connections,
        "layout": layout,
    }


def graph_of(definition: dict[str, Any]) -> dict[str, Any]:
    where = definition["layout"]
    return {
        "nodes": [
            {
                "id": s["id"],
                "kind": s["kind"],
                "label": s["label"],
                "x": where[s["id"]][0],
                "y": where[s["id"]][1],
            }
            for s in definition["steps"]
        ],
        "edges": [{"source": c["from"], "target": c["to"]} for c in definition["connections"]],
    }


def measure(client: Client, flow: Flow, version: FlowVersion) -> tuple[list[float], list[float]]:
    page = f"/flows/{flow.slug}/editor/v{version.number}/"
    save = page + "save/"
    graph = graph_of(version.definition)
    opens, saves = [], []
    timed(lambda: client.get(page))  # warm-up: templates, catalog, CEL
    for _ in range(REPEAT):
        opens.append(timed(lambda: client.get(page)))
        version.refresh_from_db(fields=["revision"])
        body = json.dumps({"revision": version.revision, "graph": graph})
        saves.append(timed(lambda b=body: client.post(save, b, content_type="application/json")))
    return opens, saves


def main() -> None:
    with throwaway_database():
        team = Group.objects.create(name="Ops")
        user = User.objects.create_user("olivia", password="x")
        user.groups.add(team)
        client = Client()
        client.force_login(user)
        print(
            f"editor: server time per request, {REPEAT} runs each "
            f"({connection.vendor}); goal: 200 steps open + lint < 1000 ms"
        )
        for size in SIZES:
            flow = Flow.objects.create(name=f"Bench {size}", slug=f"bench-{size}", owner_team=team)
            grant_owner_permissions(flow)
            version = FlowVersion.objects.create(
                flow=flow, number=1, status="draft", definition=generate(size)
            )
            opens, saves = measure(client, flow, version)
            print(f"  {size:>3} steps: open {summary(opens)} | autosave {summary(saves)}")


if __name__ == "__main__":
    main()
