"""Audit benchmark: append cost on a step transition, and verification speed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/podium .venv/bin/python bench/audit.py

Runs in a throw-away database (test_<name>, created and dropped here), so the
append-only tables of the real database are never touched. Prints:

* the p50 / p95 of a step-like transition (lock the instance row, update it, commit)
  without and with its audit event, and the difference (goal: < 1 ms at p50);
* append throughput with 4 concurrent writers (events/s);
* verification time and rate over EVENTS events (default 1,000,000; goal > 100,000/s).

Environment: BENCH_EVENTS (events to verify), BENCH_TRANSITIONS (per writer).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from _measure import percentile, summary, throwaway_database  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit import chain  # noqa: E402
from audit.models import AuditEvent  # noqa: E402
from audit.verification import verify_all  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
TRANSITIONS = int(os.environ.get("BENCH_TRANSITIONS", "1000"))
WRITERS = 4
EVENTS_PER_STREAM = 10


def _instances(count: int) -> list[int]:
    from orchestration.models import Flow, FlowInstance, FlowVersion

    flow = Flow.objects.create(name="Bench", slug=f"bench-{time.time_ns()}")
    version = FlowVersion.objects.create(flow=flow, number=1, status="published", definition={})
    rows = [FlowInstance(flow=flow, version=version, business_key=f"B-{i}") for i in range(count)]
    return [i.pk for i in FlowInstance.objects.bulk_create(rows)]


def _transition(instance_id: int, with_audit: bool) -> float:
    """One transition as the engine makes it: lock, (append), update the row, commit."""
    from orchestration.models import FlowInstance

    started = time.perf_counter()
    with transaction.atomic():
        row = (
            FlowInstance.objects.select_for_update()
            .only("id", "flow_id", "business_key", "audit_seq", "audit_hash")
            .get(pk=instance_id)
        )
        fields = {"updated_at": timezone.now()}
        if with_audit:
            entry = chain.Entry(
                "step.succeeded",
                chain.Actor.system(),
                "steprun",
                "1",
                row.flow_id,
                row.pk,
                row.business_key,
                {"step": "check", "attempt": 1},
            )
            seq, digest = chain.append_at_head(
                f"instance:{row.pk}", (row.audit_seq, row.audit_hash), [entry]
            )
            fields.update(audit_seq=seq, audit_hash=digest)
        FlowInstance.objects.filter(pk=row.pk).update(**fields)
    return (time.perf_counter() - started) * 1000


def _batch_writer(args: tuple[int, int, multiprocessing.Queue]) -> None:
    """Append batches of 50 events per commit to the writer's own streams."""
    writer, batches, out = args
    connections.close_all()
    head = (0, chain.GENESIS)
    entries = [
        chain.Entry("step.succeeded", chain.Actor.system(), payload={"i": i}) for i in range(50)
    ]
    for _ in range(batches):
        with transaction.atomic():
            head = chain.append_at_head(f"batch:{writer}", head, entries)
    out.put(batches * 50)
    connections.close_all()


def _writer(args: tuple[list[int], bool, multiprocessing.Queue]) -> None:
    instance_ids, with_audit, out = args
    connections.close_all()
    timings = [_transition(pk, with_audit) for pk in instance_ids]
    out.put(timings)
    connections.close_all()


def _run_writers(
    instance_ids: list[int], with_audit: bool, writers: int = WRITERS
) -> tuple[list[float], float]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    chunks = [instance_ids[i::writers] for i in range(writers)]
    connections.close_all()
    started = time.perf_counter()
    procs = [ctx.Process(target=_writer, args=((chunk, with_audit, out),)) for chunk in chunks]
    for proc in procs:
        proc.start()
    timings = [t for _ in procs for t in out.get()]
    for proc in procs:
        proc.join()
    return timings, time.perf_counter() - started


def bench_append() -> None:
    ids = _instances(TRANSITIONS * WRITERS)
    for pk in ids[:50]:  # warm up
        _transition(pk, False)
    half = len(ids) // 2
    # Latency: one writer, alternating plain and audited transitions on distinct rows.
    plain, _ = _run_writers(ids[:half], with_audit=False, writers=1)
    audited, _ = _run_writers(ids[half:], with_audit=True, writers=1)
    print(f"transition without audit event: {summary(plain, 2)}")
    print(
        f"transition with audit event:    p50 {percentile(audited, 50):.2f} ms, "
        f"p95 {percentile(audited, 95):.2f} ms"
    )
    print(
        "audit append adds at p50:       "
        f"{percentile(audited, 50) - percentile(plain, 50):.3f} ms (goal < 1 ms)"
    )
    # Throughput: four writers appending (each transition is one event).
    audited, seconds = _run_writers(ids, with_audit=True)
    print(
        f"append throughput, {WRITERS} writers:  {len(audited) / seconds:,.0f} events/s "
        f"(one event per transition and commit; transition p50 {percentile(audited, 50):.2f} ms)"
    )
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    connections.close_all()
    started = time.perf_counter()
    procs = [ctx.Process(target=_batch_writer, args=((w, 40, out),)) for w in range(WRITERS)]
    for proc in procs:
        proc.start()
    total = sum(out.get() for _ in procs)
    for proc in procs:
        proc.join()
    rate = total / (time.perf_counter() - started)
    print(
        f"append throughput, {WRITERS} writers:  {rate:,.0f} events/s "
        f"(50 events per commit, as chains of inline steps write them)"
    )


ACTIONS = ["step.started", "step.succeeded", "step.waiting", "step.completed", "step.failed"]


def _fill(total: int) -> None:
    """Chains of EVENTS_PER_STREAM events like a case's, spread over flows, actors and
    time; written with COPY on PostgreSQL."""
    base = timezone.now() - timedelta(seconds=total // EVENTS_PER_STREAM)
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column != "id"]
    batch: list[AuditEvent] = []
    for n in range(total // EVENTS_PER_STREAM):
        flow_id = n % 50 + 1
        entries = [
            chain.Entry(
                "instance.started" if i == 0 else ACTIONS[(n + i) % len(ACTIONS)],
                _actor(n, i),
                "step_run",
                str(i),
                flow_id,
                n,
                f"K-{n}",
                {"step": f"s{i}", "attempt": 1, "amount": n * 1.5},
            )
            for i in range(EVENTS_PER_STREAM)
        ]
        events, _ = chain.build_events(f"bench:{n}", (0, chain.GENESIS), entries, base)
        for i, event in enumerate(events):
            event.occurred_at = base + timedelta(seconds=n, milliseconds=i)
            event.hash = chain.event_hash(event)
            if i + 1 < len(events):
                events[i + 1].prev_hash = event.hash
        batch.extend(events)
        if len(batch) >= 50_000:
            _write(batch, columns)
            batch = []
    if batch:
        _write(batch, columns)


def _actor(n: int, i: int) -> chain.Actor:
    if i == 3:
        return chain.Actor("user", str(n % 20 + 1), f"user{n % 20 + 1}")
    if i == 2:
        return chain.Actor.ai("rules", f"v{n % 3}")
    return chain.Actor.system()


def _write(events: list[AuditEvent], columns: list[str]) -> None:
    if connection.vendor != "postgresql":
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        return
    from psycopg.types.json import Jsonb

    connection.ensure_connection()
    table = AuditEvent._meta.db_table
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for event in events:
            copy.write_row(
                [Jsonb(getattr(event, c)) if c == "payload" else getattr(event, c) for c in columns]
            )
    connection.connection.commit() if not connection.connection.autocommit else None


def bench_verify() -> None:
    started = time.perf_counter()
    _fill(EVENTS)
    print(f"wrote {EVENTS:,} events in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM ANALYZE {AuditEvent._meta.db_table}")
    result = verify_all()
    assert result.ok, result.summary()
    print(
        f"verify: {result.checked:,} events in {result.seconds:.2f} s = "
        f"{result.rate:,.0f} events/s (goal > 100,000/s)"
    )


def _searches() -> dict[str, dict]:
    ai = "ai:rules@v1"
    day = (timezone.now() - timedelta(hours=6)).date().isoformat()
    return {
        "newest events (no filter)": {},
        "by flow": {"flow_id": 7},
        "by business key": {"business_key": "K-4242"},
        "by case": {"instance": 4242},
        "by person": {"actor": "user"},
        "by AI provider/version": {"actor": ai},
        "by action": {"action": "step.failed"},
        "by flow and day": {"flow_id": 7, "since": day, "until": day},
        "owner scope (5 flows)": {"flows": [1, 2, 3, 4, 5]},
    }


def bench_search() -> None:
    """Explorer queries at EVENTS events: server time of a page, and the plan used."""
    from audit import search
    from audit.access import AuditScope

    everything = AuditScope(True, frozenset())
    for label, spec in _searches().items():
        spec = dict(spec)
        flow_id = spec.pop("flow_id", None)
        flows = spec.pop("flows", None)
        actor = spec.pop("actor", None)
        events = search.filtered(everything, spec)
        if flow_id:
            events = events.filter(flow_id=flow_id)
        if flows:
            events = events.filter(flow_id__in=flows)
        if actor == "user":
            events = events.filter(actor_kind="user", actor_id="7")
        elif actor:
            events = events.filter(search.actor_q(actor))
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            found = search.page(events)
            if found.next_cursor:
                search.page(events, found.next_cursor, size=search.PAGE_SIZE)
            timings.append((time.perf_counter() - started) * 1000)
        plan = ""
        if connection.vendor == "postgresql":
            plan = events[: search.PAGE_SIZE + 1].explain()
            plan = next(
                (line.strip() for line in plan.splitlines() if "Index" in line or "Scan" in line),
                plan.splitlines()[0],
            )
        print(f"search {label:28s} {summary(timings)}  (page 1 + count + page 2)  {plan[:90]}")


def main() -> None:
    with throwaway_database() as test_name:
        print(f"database: {connection.vendor} ({test_name})")
        if os.environ.get("BENCH_SKIP_APPEND") != "1":
            bench_append()
        if os.environ.get("BENCH_SKIP_VERIFY") != "1":
            bench_verify()
            bench_search()


if __name__ == "__main__":
    main()
