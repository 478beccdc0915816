"""Instances list benchmark: server time of the cases list at 100,000 cases.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/podium .venv/bin/python bench/instance_list.py

Runs in a throw-away test database (created and dropped here). Generates BENCH_INSTANCES
cases (default 100,000) over 20 flows, 5 % of them failed (all in one flow the user
may not see: the worst case for a status filter; half of them ended at a failure end,
half wait for an operator) and one in 1,000 stuck, each case
with RUNS_PER_CASE step runs (the list says where each live or failed case is now).
Signs in a process owner who may see half of the flows and times full requests
through Django (middleware, permission filter, query, template) for the first page, a
deep page, and each filter.
Prints p50 / p95 per scenario and the overall p95 (goal: <= 150 ms).
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
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from orchestration.access import grant_owner_permissions  # noqa: E402
from orchestration.models import Flow, FlowInstance, FlowVersion, StepRun  # noqa: E402

INSTANCES = int(os.environ.get("BENCH_INSTANCES", "100000"))
FLOWS = 20
REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
BATCH = 5000
RUNS_PER_CASE = 10


def generate(total: int = INSTANCES) -> tuple[User, list[Flow]]:
    """total cases over FLOWS flows; returns a user who sees the first half of the flows."""
    mine, theirs = Group.objects.create(name="Finance"), Group.objects.create(name="Support")
    user = User.objects.create_user("olivia", password="x")
    user.groups.add(mine)
    flows, versions = [], []
    for n in range(FLOWS):
        flow = Flow.objects.create(
            name=f"Flow {n}", slug=f"flow-{n}", owner_team=mine if n % 2 == 0 else theirs
        )
        grant_owner_permissions(flow)
        flows.append(flow)
        versions.append(
            FlowVersion.objects.create(flow=flow, number=1, status="published", definition={})
        )
    start = timezone.now() - dt.timedelta(days=365)
    rows = []
    for i in range(total):
        version = versions[i % FLOWS]
        status = "failed" if i % 20 == 7 else ("running" if i % 3 == 0 else "succeeded")
        rows.append(
            FlowInstance(
                flow_id=version.flow_id,
                version=version,
                status=status,
                business_key=f"INV-{i:06d}",
                stuck_since=start if status == "running" and i % 999 == 0 else None,
                finished_at=start if status == "failed" and i % 40 == 7 else None,
                input={"amount": i},
                data={"amount": i},
            )
        )
        if len(rows) == BATCH:
            FlowInstance.objects.bulk_create(rows)
            rows = []
    if rows:
        FlowInstance.objects.bulk_create(rows)
    # Spread creation times over a year, oldest first (auto_now_add set them all to now).
    seconds = 365 * 86400 / total
    table = FlowInstance._meta.db_table
    first = FlowInstance.objects.order_by("id").values_list("id", flat=True).first()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET created_at = %s + (id - %s) * %s * interval '1 second'",
                [start, first, seconds],
            )
        else:
            cursor.execute(
                f"UPDATE {table} SET created_at = strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, "
                f"'+' || ((id - %s) * %s) || ' seconds')",
                [start.strftime("%Y-%m-%d %H:%M:%S"), first, seconds],
            )
    _generate_runs()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {FlowInstance._meta.db_table}")
            cursor.execute(f"ANALYZE {StepRun._meta.db_table}")
    return user, flows


def _generate_runs() -> None:
    """RUNS_PER_CASE runs a case, in one statement: all succeeded but the last, which
    waits in a running case and failed in a failed one."""
    runs, cases = StepRun._meta.db_table, FlowInstance._meta.db_table
    last = f"n = {RUNS_PER_CASE}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE steps(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM steps "
            f"WHERE n < {RUNS_PER_CASE}) "
            f"INSERT INTO {runs} (instance_id, step_id, kind, attempt, status, input, output, "
            "state, error, error_kind, traceback, worker, idempotency_key, created_at, actor) "
            f"SELECT c.id, 'step' || n, 'set', 1, CASE WHEN {last} AND c.status = 'running' "
            f"THEN 'waiting' WHEN {last} AND c.status = 'failed' THEN 'failed' "
            "ELSE 'succeeded' END, '{}', '{}', '{}', "
            f"CASE WHEN {last} AND c.status = 'failed' THEN 'The service said 503' ELSE '' END, "
            f"'', '', '', c.id || '-' || n, c.created_at, '' FROM {cases} c, steps "
            "ORDER BY c.id, n"
        )


def scenarios(flows: list[Flow]) -> dict[str, str]:
    deep = FlowInstance.objects.order_by("id").values_list("id", flat=True)[INSTANCES // 10]
    today = timezone.localdate()
    return {
        "first page": "",
        "deep page": f"?before={deep}",
        "status=running (common)": "?status=running",
        "status=failed (none visible)": "?status=failed",
        "status=failed, deep": f"?status=failed&before={deep}",
        "stuck (one case in 1,000)": "?status=stuck",
        "failed, waiting for an operator": "?status=needs_operator",
        "flow": f"?flow={flows[0].slug}",
        "business key": f"?business_key=INV-{INSTANCES // 2:06d}",
        "business key start, lower case": f"?business_key=inv-{INSTANCES // 2:06d}"[:-2],
        "owner team": f"?owner_team={flows[0].owner_team_id}",
        "date range": f"?created_from={today - dt.timedelta(days=30)}&created_to={today}",
        "no match (other team's flow)": f"?flow={flows[1].slug}",
    }


def measure(client: Client, query: str) -> list[float]:
    return [timed(lambda: client.get("/instances/" + query)) for _ in range(REPEAT)]


def main() -> None:
    with throwaway_database() as test_name:
        print(f"database: {connection.vendor} ({test_name}), {INSTANCES:,} cases")
        began = time.perf_counter()
        user, flows = generate()
        print(f"generated in {time.perf_counter() - began:.1f} s")
        client = Client()
        client.force_login(user)
        everything = []
        for name, query in scenarios(flows).items():
            measure(client, query)  # warm up
            timings = measure(client, query)
            everything += timings
            print(f"{name:32} {summary(timings)}")
        print(
            f"instances list p95 server time: {percentile(everything, 95):.1f} ms (goal <= 150 ms)"
        )


if __name__ == "__main__":
    main()
