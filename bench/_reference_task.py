"""The "lean transition" of shared/PERFORMANCE.md, as a yardstick for engine_throughput.py.

A minimal engine in raw SQL with the same round trips as Podium's transition: BEGIN with
the lock of the run and its case, then one statement that finishes the run, creates the
next one, appends a hash-chained audit event and moves the case on, with the COMMIT in
the same pipeline, both from prepared plans as the engine's (engine/pg_round_trips.py);
then send the next message as the engine does (engine/dispatch.py).
It has no flow graph, no step kinds and no model objects, so it shows what one Celery
task per step can reach on this machine and worker set-up before any engine logic.
Loaded into the benchmark's worker with `--include`; never part of Podium.
"""

from __future__ import annotations

import hashlib
import json

from celery import shared_task
from django.db import connection, transaction

from orchestration.engine import dispatch, pg_round_trips

TABLES = """
DROP TABLE IF EXISTS reference_event, reference_run, reference_case;
CREATE TABLE reference_case (id serial PRIMARY KEY, seq int NOT NULL DEFAULT 0,
    hash text NOT NULL DEFAULT '', updated_at timestamptz);
CREATE TABLE reference_run (id bigserial PRIMARY KEY,
    case_id int NOT NULL REFERENCES reference_case (id) DEFERRABLE INITIALLY DEFERRED,
    step int NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL,
    started_at timestamptz, finished_at timestamptz);
CREATE INDEX ON reference_run (case_id, id);
CREATE TABLE reference_event (id bigserial PRIMARY KEY, case_id int NOT NULL,
    seq int NOT NULL, occurred_at timestamptz NOT NULL, payload jsonb NOT NULL,
    hash text NOT NULL, UNIQUE (case_id, seq));
"""

LOCK = """
SELECT c.seq, c.hash, r.step FROM reference_run r
JOIN reference_case c ON c.id = r.case_id WHERE r.id = %s FOR UPDATE
"""

WRITE = """
WITH done AS (
    UPDATE reference_run SET status = 'succeeded', started_at = now(), finished_at = now()
    WHERE id = %s AND status = 'queued' RETURNING case_id),
next AS (
    INSERT INTO reference_run (case_id, step, status, created_at)
    SELECT case_id, %s, 'queued', now() FROM done WHERE %s
    RETURNING id),
event AS (
    INSERT INTO reference_event (case_id, seq, occurred_at, payload, hash)
    SELECT case_id, %s, now(), %s, %s FROM done),
moved AS (
    UPDATE reference_case SET seq = %s, hash = %s, updated_at = now()
    WHERE id = (SELECT case_id FROM done))
SELECT (SELECT id FROM next)
"""


def create_cases(cases: int) -> list[int]:
    """Fresh tables and `cases` cases, each with its first run queued; the run ids."""
    with connection.cursor() as cursor:
        cursor.execute(TABLES)
        cursor.execute(
            "INSERT INTO reference_case (updated_at) SELECT now() FROM generate_series(1, %s)",
            [cases],
        )
        cursor.execute(
            "INSERT INTO reference_run (case_id, step, status, created_at) "
            "SELECT id, 1, 'queued', now() FROM reference_case ORDER BY id RETURNING id"
        )
        return [row[0] for row in cursor.fetchall()]


@shared_task(name="bench.reference_step")
def reference_step(run_id: int, last: int) -> None:
    with transaction.atomic():
        ((seq, previous, step),) = pg_round_trips.run("reference_lock", LOCK, [run_id])
        payload = json.dumps({"run": run_id, "step": step})
        digest = hashlib.sha256(f"{previous}{seq + 1}{payload}".encode()).hexdigest()
        # A duplicate message finds the run no longer queued: nothing is written.
        ((following,),) = pg_round_trips.run(  # None after the last step or a duplicate
            "reference_write",
            WRITE,
            [run_id, step + 1, step + 1 <= last, seq + 1, payload, digest, seq + 1, digest],
            commit=True,
        )
        if following is not None:
            transaction.on_commit(
                lambda: dispatch.message(
                    "bench.reference_step", {"run_id": following, "last": last}
                )
            )
