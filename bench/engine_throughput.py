"""Engine throughput against bare Celery, measured in the same run on the same worker setup.

Prints completed steps per second for (a) one Celery task per step and (b) chains of
automated steps run inline, the hop latency from one step's end to the next step's
start on an idle system (p50/p95), the queries per transition as the server gets them,
and the throughput of bare Celery no-op tasks with the same worker configuration. As a
yardstick it also runs the raw-SQL "lean transition" of shared/PERFORMANCE.md
(bench/_reference_task.py) on the same worker set-up, for its idle hop and its throughput.

    .venv/bin/python bench/engine_throughput.py [--instances 500] [--steps 10] [--rounds 1]

With --rounds N it measures everything N times and also prints the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import pairwise

sys.path.insert(0, os.path.dirname(__file__))
from _setup import ROOT, configure, production_mode

production_mode()
configure("podium_bench")

import redis  # noqa: E402
from _measure import percentile  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from audit.chain import Actor  # noqa: E402
from config.celery import app  # noqa: E402
from orchestration.engine import runner  # noqa: E402
from orchestration.engine.api import start_instance  # noqa: E402
from orchestration.engine.pg_round_trips import queries_sent  # noqa: E402
from orchestration.models import (  # noqa: E402
    Flow,
    FlowInstance,
    FlowVersion,
    StepRun,
    VersionStatus,
)

# Both sides run on the worker set-up Podium ships (config/settings.py: prefork, 8
# processes on PostgreSQL). BENCH_CONCURRENCY=2 compares them with one process per core
# instead, BENCH_POOL=threads on a thread pool.
POOL = os.environ.get("BENCH_POOL", "prefork")
CONCURRENCY = os.environ.get("BENCH_CONCURRENCY", str(settings.CELERY_WORKER_CONCURRENCY))
WORKER_ARGS = [
    f"--pool={POOL}",
    f"--concurrency={CONCURRENCY}",
    "--loglevel=ERROR",
    "--without-heartbeat",
    "--without-mingle",
    "--without-gossip",
    "--queues=podium",
]
ACTOR = Actor.system("benchmark")
# Between rounds, for the database to finish what the last throughput run left it.
QUIET_SECONDS = 20


def noop_definition(n: int) -> dict:
    ids = [f"s{i}" for i in range(1, n + 1)]
    steps = [{"id": "start", "kind": "start", "label": "Start", "owner": "system:bench"}]
    steps += [
        {"id": i, "kind": "set", "label": i, "owner": "system:bench", "config": {"assign": {}}}
        for i in ids
    ]
    steps.append({"id": "end", "kind": "end", "label": "End", "owner": "system:bench"})
    chain = ["start", *ids, "end"]
    return {
        "format": "podium/v1",
        "input_schema": {"type": "object"},
        "steps": steps,
        "connections": [{"from": a, "to": b} for a, b in pairwise(chain)],
    }


def fresh_version(steps: int) -> FlowVersion:
    FlowInstance.objects.all().delete()
    flow, _ = Flow.objects.get_or_create(slug="bench", defaults={"name": "Benchmark"})
    FlowVersion.objects.filter(flow=flow).delete()
    return FlowVersion.objects.create(
        flow=flow, number=1, status=VersionStatus.PUBLISHED, definition=noop_definition(steps)
    )


def worker(env: dict[str, str], include: str = "") -> subprocess.Popen:
    full = {**os.environ, **env}
    extra = [f"--include={include}"] if include else []
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", *WORKER_ARGS, *extra],
        cwd=ROOT,
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return process
    raise SystemExit("the benchmark worker did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def purge() -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("podium")


def bare_celery(tasks: int) -> float:
    """Drain rate of `tasks` empty tasks: from the first send until the queue and the
    workers' unacknowledged set are both empty."""
    store = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    process = worker({"PODIUM_BENCH_NOOP": "1"})
    try:
        started = time.perf_counter()
        for _ in range(tasks):
            app.send_task("bench.noop")
        while store.llen("podium") or store.hlen("unacked"):
            time.sleep(0.005)
        return tasks / (time.perf_counter() - started)
    finally:
        stop(process)


def engine_run(instances: int, steps: int, inline: int) -> float:
    """Drain rate, in steps per second, of cases started before the worker starts."""
    version = fresh_version(steps)
    ids = [start_instance(version, {}, trigger="manual", actor=ACTOR).pk for _ in range(instances)]
    process = worker({"PODIUM_INLINE_STEPS": str(inline)})
    try:
        while FlowInstance.objects.filter(pk__in=ids, status="running").exists():
            time.sleep(0.2)
    finally:
        stop(process)
    runs = StepRun.objects.filter(instance_id__in=ids).exclude(kind="start")
    span = runs.aggregate(first=Min("started_at"), last=Max("finished_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    return runs.count() / seconds


def reference_run(instances: int, steps: int) -> float:
    """Drain rate of the raw-SQL yardstick, counting runs as engine_run does (the steps
    and the end step), with the first messages queued before the worker starts."""
    from _reference_task import create_cases

    runs = create_cases(instances)
    for run in runs:
        app.send_task("bench.reference_step", kwargs={"run_id": run, "last": steps + 1})
    process = reference_worker()
    total = instances * (steps + 1)
    try:
        while _reference_finished() < total:
            time.sleep(0.2)
    finally:
        stop(process)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM reference_run"
        )
        (seconds,) = cursor.fetchone()
    return total / float(seconds)


def reference_worker() -> subprocess.Popen:
    path = os.pathsep.join(filter(None, [os.path.dirname(__file__), os.environ.get("PYTHONPATH")]))
    return worker({"PYTHONPATH": path}, include="_reference_task")


def _reference_finished() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reference_run WHERE status = 'succeeded'")
        return cursor.fetchone()[0]


def hop_latency(samples: int, steps: int) -> tuple[float, float]:
    version = fresh_version(steps)
    process = worker({"PODIUM_INLINE_STEPS": "0"})
    hops: list[float] = []
    try:
        for _ in range(samples):
            instance = start_instance(version, {}, trigger="manual", actor=ACTOR)
            while FlowInstance.objects.filter(pk=instance.pk, status="running").exists():
                time.sleep(0.01)
            runs = list(StepRun.objects.filter(instance=instance).order_by("id"))
            hops += [
                (b.started_at - a.finished_at).total_seconds() * 1000 for a, b in pairwise(runs[1:])
            ]
    finally:
        stop(process)
    return percentile(hops, 50), percentile(hops, 95)


def reference_hop_latency(samples: int, steps: int) -> tuple[float, float]:
    """The idle hop of the yardstick, measured as hop_latency measures the engine's: one
    case at a time, from a run's end to the next run's start as the database has them."""
    from _reference_task import create_cases

    process = reference_worker()
    try:
        for number, run in enumerate(create_cases(samples), start=1):
            app.send_task("bench.reference_step", kwargs={"run_id": run, "last": steps + 1})
            while _reference_finished() < number * (steps + 1):
                time.sleep(0.01)
    finally:
        stop(process)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM started_at - lag(finished_at) "
            "OVER (PARTITION BY case_id ORDER BY id)) * 1000 FROM reference_run"
        )
        hops = [float(hop) for (hop,) in cursor.fetchall() if hop is not None]
    return percentile(hops, 50), percentile(hops, 95)


def queries_per_transition() -> list[str]:
    """What one warm no-op transition (graph cached, plans prepared) sends to the server,
    one entry per round trip, e.g. 'BEGIN; EXECUTE lock' (libpq's trace, not Django's
    query log)."""
    settings.PODIUM_INLINE_STEPS = 0  # one step per transition, as in per-task mode
    version = fresh_version(3)
    instance = start_instance(version, {}, trigger="manual", actor=ACTOR)
    for _ in range(3):
        run = StepRun.objects.filter(instance=instance, status="queued").first()
        with queries_sent() as sent:
            runner.process(run.pk, "bench")
    return [_describe(sql) for sql in sent]


def _describe(sql: str) -> str:
    """'BEGIN; EXECUTE podium_lock_1(7)' -> 'BEGIN; EXECUTE lock', and a statement sent
    as it is by its verb and first table: 'SELECT … FROM "orchestration_steprun" …' ->
    'SELECT steprun'."""
    statements = []
    for statement in sql.split("; "):
        verb, _, rest = statement.partition(" ")
        if verb in ("PREPARE", "EXECUTE"):
            what = rest.split("(")[0].split(" ")[0].removeprefix("podium_").rsplit("_", 1)[0]
        else:
            what = rest.split('"')[1] if '"' in rest else ""
            what = what.removeprefix("orchestration_").removeprefix("audit_")
        statements.append(f"{verb} {what}".strip())
    return "; ".join(statements)


# How each figure is printed, from a round's figures (or their medians).
LINES: dict[str, Callable[[dict[str, float]], str]] = {
    "hop": lambda f: (
        f"hop latency, idle, task per step: p50 {f['hop_p50']:.2f} ms, p95 {f['hop_p95']:.2f} ms"
    ),
    "yardstick_hop": lambda f: (
        f"yardstick hop latency, idle:      p50 {f['yardstick_hop_p50']:.2f} ms, "
        f"p95 {f['yardstick_hop_p95']:.2f} ms"
    ),
    "bare": lambda f: f"bare Celery no-op tasks:          {f['bare']:8.0f} tasks/s",
    "per_task": lambda f: (
        f"engine, one task per step:  {f['per_task']:8.0f} steps/s "
        f"({f['per_task_share']:.0%} of bare)"
    ),
    "yardstick": lambda f: (
        f"yardstick, raw-SQL lean transition: {f['yardstick']:5.0f} steps/s "
        f"({f['yardstick_share']:.0%} of bare; the engine reaches {f['of_yardstick']:.0%} of it)"
    ),
    "chained": lambda f: (
        f"engine, chained automated steps: {f['chained']:8.0f} steps/s "
        f"({f['chained_share']:.0%} of bare)"
    ),
}


def one_round(instances: int, steps: int) -> dict[str, float]:
    """Every figure once, each printed as soon as it is measured, idle hops first (see
    main)."""
    f: dict[str, float] = {}
    f["hop_p50"], f["hop_p95"] = hop_latency(50, steps)
    print(LINES["hop"](f), flush=True)
    f["yardstick_hop_p50"], f["yardstick_hop_p95"] = reference_hop_latency(50, steps)
    print(LINES["yardstick_hop"](f), flush=True)
    f["bare"] = bare_celery(instances * steps)
    print(LINES["bare"](f), flush=True)
    f["per_task"] = engine_run(instances, steps, inline=0)
    f["per_task_share"] = f["per_task"] / f["bare"]
    print(LINES["per_task"](f), flush=True)
    f["yardstick"] = reference_run(instances, steps)
    f["yardstick_share"] = f["yardstick"] / f["bare"]
    f["of_yardstick"] = f["per_task"] / f["yardstick"]
    print(LINES["yardstick"](f), flush=True)
    f["chained"] = engine_run(instances, steps, inline=50)
    f["chained_share"] = f["chained"] / f["bare"]
    print(LINES["chained"](f), flush=True)
    return f


def print_medians(rounds: list[dict[str, float]]) -> None:
    """Medians over the rounds; each share is the median of the rounds' own shares, since
    only figures from one round were measured under the same conditions."""
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"\nmedians of {len(rounds)} rounds")
    for line in LINES.values():
        print(line(medians))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure everything this many times; print medians"
    )
    args = parser.parse_args()
    purge()
    print(
        f"database: {connection.vendor}, broker: {settings.CELERY_BROKER_URL.split(':')[0]}, "
        f"{args.instances} instances x {args.steps} no-op steps, worker {POOL} -c {CONCURRENCY}",
        flush=True,
    )
    # Each round measures the idle hops first, while the database is quiet: after the
    # throughput runs it is busy for a while with autovacuum and checkpoints, and an
    # "idle" hop would measure those. Later rounds start after a pause for the same reason.
    rounds = []
    for number in range(1, args.rounds + 1):
        if args.rounds > 1:
            if number > 1:
                time.sleep(QUIET_SECONDS)
            print(f"\nround {number} of {args.rounds}", flush=True)
        rounds.append(one_round(args.instances, args.steps))
    if args.rounds > 1:
        print_medians(rounds)
    sent = queries_per_transition()
    print(f"queries per warm transition:      {len(sent)} ({' | '.join(sent)})")


if __name__ == "__main__":
    main()
