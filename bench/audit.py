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
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

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
                "step.succeeded", chain.Actor.system(), "steprun", "1", row.flow_id, row.pk,
                row.business_key, {"step": "check", "attempt": 1},
            )  # fmt: skip
            seq, digest = chain.append_at_head(
                f"instance:{row.pk}", (row.audit_seq, row.audit_hash), [entry]
            )
            fields.update(audit_seq=seq, audit_hash=digest)
        FlowInstance.objects.filter(pk=row.pk).update(**fields)
    return (time.perf_counter() - started) * 1000


def _writer(args: tuple[list[int], bool, multiprocessing.Queue]) -> None:
    instance_ids, with_audit, out = args
    connections.close_all()
    timings = [_transition(pk, with_audit) for pk in instance_ids]
    out.put(timings)
    connections.close_all()


def _run_writers(instance_ids: list[int], with_audit: bool) -> tuple[list[float], float]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    chunks = [instance_ids[i::WRITERS] for i in range(WRITERS)]
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
    plain, _ = _run_writers(ids, with_audit=False)
    audited, seconds = _run_writers(ids, with_audit=True)
    p50, p50a = statistics.median(plain), statistics.median(audited)
    p95 = statistics.quantiles(plain, n=20)[18]
    p95a = statistics.quantiles(audited, n=20)[18]
    print(f"transition without audit event: p50 {p50:.2f} ms, p95 {p95:.2f} ms ({WRITERS} writers)")
    print(f"transition with audit event:    p50 {p50a:.2f} ms, p95 {p95a:.2f} ms")
    print(f"audit append adds at p50:       {p50a - p50:.3f} ms (goal < 1 ms)")
    print(f"append throughput, {WRITERS} writers:  {len(audited) / seconds:,.0f} events/s")


def _fill(total: int) -> None:
    """Chains of EVENTS_PER_STREAM events, written with COPY on PostgreSQL."""
    now = timezone.now()
    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column != "id"]
    batch: list[AuditEvent] = []
    for n in range(total // EVENTS_PER_STREAM):
        entries = [
            chain.Entry(
                f"step.event{i}", chain.Actor.system(), "steprun", str(i), 1, n, f"K-{n}",
                {"step": f"s{i}", "attempt": 1, "amount": n * 1.5},
            )  # fmt: skip
            for i in range(EVENTS_PER_STREAM)
        ]
        events, _ = chain.build_events(f"bench:{n}", (0, chain.GENESIS), entries, now)
        batch.extend(events)
        if len(batch) >= 50_000:
            _write(batch, columns)
            batch = []
    if batch:
        _write(batch, columns)


def _write(events: list[AuditEvent], columns: list[str]) -> None:
    if connection.vendor != "postgresql":
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        return
    from psycopg.types.json import Jsonb

    connection.ensure_connection()
    table = AuditEvent._meta.db_table
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for event in events:
                copy.write_row(
                    [
                        Jsonb(getattr(event, c)) if c == "payload" else getattr(event, c)
                        for c in columns
                    ]
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


def main() -> None:
    creation = connection.creation
    old_name = connection.settings_dict["NAME"]
    test_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database: {connection.vendor} ({test_name})")
    try:
        if os.environ.get("BENCH_SKIP_APPEND") != "1":
            bench_append()
        bench_verify()
    finally:
        connections.close_all()
        creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
