"""Approval inbox benchmark: server time of My tasks, a Team queue and a task page with
10,000 open tasks across 50 teams.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/podium .venv/bin/python bench/inbox.py

Runs in a throw-away test database (created and dropped here). Generates BENCH_TASKS open
tasks (default 10,000) over 50 teams and 10 flows, 2,000 decided tasks for the "similar
past cases" panel, an approver in one team with 200 tasks assigned to them personally,
and times full requests through Django (middleware, access filter, query, template).
Prints p50 / p95 per page (goal: p95 < 150 ms each), plus the Escalations page as a team
lead who sees all 50 teams.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from _measure import percentile, summary, throwaway_database, timed  # noqa: E402
from django.contrib.auth.models import Group, Permission, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from approvals.models import HumanTask  # noqa: E402
from orchestration.models import Flow, FlowInstance, FlowVersion, StepRun  # noqa: E402

TASKS = int(os.environ.get("BENCH_TASKS", "10000"))
DONE = 2000
TEAMS = 50
FLOWS = 10
PERSONAL = 200
REPEAT = int(os.environ.get("BENCH_REPEAT", "40"))
BATCH = 2000
CONFIG = {
    "fields": ["amount", "country"],
    "allow_bulk": True,
    "escalation": {"notify_after_minutes": 60, "reassign_after_minutes": 120, "levels": ["Team 1"]},
}


def _bulk(model, rows):
    for i in range(0, len(rows), BATCH):
        model.objects.bulk_create(rows[i : i + BATCH])


def generate() -> tuple[User, Group, int, User]:
    teams = [Group.objects.create(name=f"Team {n}") for n in range(TEAMS)]
    approver = User.objects.create_user("alex", password="x", first_name="Alex")
    approver.groups.add(teams[0])
    flows = [
        Flow.objects.create(name=f"Purchase flow {n}", slug=f"flow-{n}", owner_team=teams[n])
        for n in range(FLOWS)
    ]
    versions = [
        FlowVersion.objects.create(flow=f, number=1, status="published", definition={})
        for f in flows
    ]
    total = TASKS + DONE
    _bulk(
        FlowInstance,
        [
            FlowInstance(
                flow_id=versions[i % FLOWS].flow_id,
                version=versions[i % FLOWS],
                business_key=f"PO-{i:06d}",
                data={
                    "amount": (i * 37) % 90000,
                    "country": ["FR", "DE", "NL", "ES"][i % 4],
                    "supplier": f"Supplier {i % 300}",
                    "lines": [{"item": "Chairs", "qty": i % 9}],
                },
            )
            for i in range(total)
        ],
    )
    instances = list(
        FlowInstance.objects.order_by("id").values_list("id", "flow_id", "data", "business_key")
    )
    _bulk(
        StepRun,
        [
            StepRun(instance_id=iid, step_id="approve", kind="approval", status="waiting")
            for iid, *_rest in instances
        ],
    )
    runs = dict(StepRun.objects.values_list("instance_id", "id"))
    now = timezone.now()
    tasks = []
    for i, (iid, flow_id, data, key) in enumerate(instances):
        done = i >= TASKS
        team = teams[i % TEAMS]
        personal = i % TEAMS == 0 and i // TEAMS < PERSONAL
        tasks.append(
            HumanTask(
                step_run_id=runs[iid],
                instance_id=iid,
                flow_id=flow_id,
                step_id="approve",
                step_label="Approve purchase",
                business_key=key,
                kind="approval",
                title=f"Approve purchase · Purchase flow · {key}",
                status="done" if done else "open",
                priority=1 + i % 4,
                assignee_user=approver if personal else None,
                assignee_team=team,
                outcomes=["approve", "reject"],
                context=data,
                config=CONFIG,
                due_at=now + dt.timedelta(minutes=(i * 7) % 5000 - 600),
                next_escalation_at=now + dt.timedelta(minutes=(i * 7) % 5000 - 600),
                decided_at=now - dt.timedelta(minutes=i) if done else None,
                outcome=("approve" if i % 3 else "reject") if done else "",
            )
        )
    _bulk(HumanTask, tasks)
    with connection.cursor() as cursor:
        for model in (HumanTask, FlowInstance, StepRun):
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    lead = User.objects.create_user("lee", password="x", first_name="Lee")
    lead.user_permissions.add(Permission.objects.get(codename="view_humantask"))
    some_task = HumanTask.objects.filter(assignee_user=approver, status="open").order_by("id")
    return approver, teams[0], some_task.values_list("id", flat=True)[PERSONAL // 2], lead


def measure(client: Client, url: str) -> list[float]:
    return [timed(lambda: client.get(url)) for _ in range(REPEAT)]


def main() -> None:
    with throwaway_database() as test_name:
        print(f"database: {connection.vendor} ({test_name}), {TASKS:,} open tasks, {TEAMS} teams")
        began = time.perf_counter()
        approver, team, task_id, lead = generate()
        print(f"generated in {time.perf_counter() - began:.1f} s")
        client = Client()
        client.force_login(approver)
        pages = {
            "My tasks": "/inbox/",
            "My tasks, priority sort, page 2": "/inbox/?sort=priority",
            "Team queue": f"/inbox/teams/{team.pk}/",
            "Team queue, filtered": f"/inbox/teams/{team.pk}/?due=overdue&key=PO-00",
            "task page": f"/tasks/{task_id}/",
            "nav count": "/inbox/count/",
        }
        cursor = client.get(pages["My tasks, priority sort, page 2"]).context["next_cursor"]
        pages["My tasks, priority sort, page 2"] += f"&after={cursor}"
        worst = 0.0
        for name, url in pages.items():
            measure(client, url)  # warm up
            timings = measure(client, url)
            worst = max(worst, percentile(timings, 95))
            print(f"{name:34} {summary(timings)}")
        lead_client = Client()
        lead_client.force_login(lead)
        measure(lead_client, "/escalations/")
        timings = measure(lead_client, "/escalations/")
        worst = max(worst, percentile(timings, 95))
        name = "Escalations (lead, all 50 teams)"
        print(f"{name:34} {summary(timings)}")
        print(f"inbox worst p95 server time: {worst:.1f} ms (goal < 150 ms)")


if __name__ == "__main__":
    main()
