"""Walk every hash chain and report the first broken or missing link.

The full walk reads the table once in id order (the primary key, so no sort) and
keeps the head of each stream in a dict: within a stream a later seq is always
inserted after the earlier one, so id order is seq order. A stream whose next row is
not the expected seq is re-read on its own in seq order, which tells a real gap from
an out-of-order insert. Rows come from a server-side cursor as plain tuples and are
hashed with audit.chain.canonical_text, which skips the ORM and builds the canonical
JSON without a dict per event. Finally the heads kept elsewhere are compared: the
latest seal's heads and each case's head on FlowInstance (audit_seq, audit_hash),
which reveal a deleted tail.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.chain import CANONICAL_TEMPLATE, GENESIS, canonical_text, plain_json
from audit.models import AuditEvent, ChainSeal, VerificationRun

_COLUMNS = (
    "id, stream, seq, {ts}, actor_kind, actor_id, actor_label, actor_version, action, "
    "object_type, object_id, flow_id, instance_id, business_key, {payload}, prev_hash, hash"
)
_PG_TS = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"
BATCH = 20_000


@dataclass(frozen=True)
class Problem:
    event_id: int | None
    stream: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "stream": self.stream, "message": self.message}


@dataclass(frozen=True)
class VerificationResult:
    checked: int
    streams: int
    problems: list[Problem]
    seconds: float = 0.0
    heads: dict[str, tuple[int, str]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rate(self) -> float:
        return self.checked / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if self.ok:
            chains = "chain" if self.streams == 1 else "chains"
            return f"All {self.checked:,} events in {self.streams:,} {chains} verified."
        first = self.problems[0]
        where = f"event {first.event_id}" if first.event_id else f"stream {first.stream}"
        more = f" ({len(self.problems)} problems in all)" if len(self.problems) > 1 else ""
        return f"Chain broken at {where} ({first.stream}): {first.message}{more}"


def _select(where: str = "", order: str = "id") -> str:
    postgres = connection.vendor == "postgresql"
    columns = _COLUMNS.format(
        ts=_PG_TS if postgres else "occurred_at", payload="payload::text" if postgres else "payload"
    )
    table = AuditEvent._meta.db_table
    return f"SELECT {columns} FROM {table} {where} ORDER BY {order}"


def _rows(sql: str, params: list[Any] | tuple[Any, ...] = ()):
    """Yield raw row tuples (see _batches)."""
    for batch in _batches(sql, params):
        yield from batch


def _batches(sql: str, params: list[Any] | tuple[Any, ...] = ()):
    """Yield lists of raw row tuples; on PostgreSQL from a server-side cursor, read ahead."""
    postgres = connection.vendor == "postgresql"
    with transaction.atomic() if postgres else nullcontext():
        cursor = connection.chunked_cursor() if postgres else connection.cursor()
        try:
            cursor.execute(sql, params)
            if postgres:
                yield from _read_ahead(cursor.cursor)
            else:
                while batch := cursor.fetchmany(BATCH):
                    yield batch
        finally:
            cursor.close()


def _read_ahead(cursor: Any):
    """Fetch the next batches in a thread while this one hashes the current batch: the
    driver waits for the network without the GIL, so the two overlap."""
    batches: queue.Queue[Any] = queue.Queue(maxsize=3)
    stop = threading.Event()

    def fetch() -> None:
        try:
            while not stop.is_set() and (batch := cursor.fetchmany(BATCH)):
                batches.put(batch)
            batches.put(None)
        except BaseException as error:  # handed to the reading thread
            batches.put(error)

    reader = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    reader.start()
    try:
        while (batch := batches.get()) is not None:
            if isinstance(batch, BaseException):
                raise batch
            yield batch
    finally:
        stop.set()
        while reader.is_alive():
            with suppress(queue.Empty):
                batches.get_nowait()
            reader.join(0.01)


def _row_hash(
    row: tuple,
    loads=json.loads,
    dumps=plain_json,
    esc=json.encoder.encode_basestring,
    template=CANONICAL_TEMPLATE,
    sha=hashlib.sha256,
    text_row=canonical_text,
) -> str:
    """audit.chain.compute_hash for a raw row, inlined for the common column types."""
    (
        _,
        stream,
        seq,
        ts,
        kind,
        actor_id,
        label,
        version,
        action,
        otype,
        oid,
        flow_id,
        instance_id,
        key,
        payload,
        prev,
    ) = row[:16]
    if type(ts) is not str or type(seq) is not int:
        text = text_row(*row[1:14], loads(payload) if type(payload) is str else payload, prev)
    else:
        text = template % (
            esc(action),
            esc(actor_id),
            esc(kind),
            esc(label),
            esc(version),
            esc(key),
            "null" if flow_id is None else flow_id,
            "null" if instance_id is None else instance_id,
            esc(oid),
            esc(otype),
            esc(ts),
            dumps(loads(payload) if type(payload) is str else payload),
            esc(prev),
            seq,
            esc(stream),
        )
    return sha(text.encode()).hexdigest()


class _Walk:
    """State of one walk: heads per stream, problems, streams to re-read in seq order."""

    def __init__(self, max_problems: int):
        self.heads: dict[str, tuple[int, str]] = {}
        self.broken: set[str] = set()
        self.reread: set[str] = set()
        self.problems: list[Problem] = []
        self.checked = 0
        self.max_problems = max_problems

    def full(self) -> bool:
        return len(self.problems) >= self.max_problems

    def add(self, event_id: int | None, stream: str, message: str) -> None:
        self.broken.add(stream)
        if not self.full():
            self.problems.append(Problem(event_id, stream, message))

    def in_id_order(self, batches) -> None:
        heads, broken, reread, row_hash = self.heads, self.broken, self.reread, _row_hash
        start = (0, GENESIS)
        for batch in batches:
            self.checked += len(batch)
            for row in batch:
                stream = row[1]
                if stream in broken or stream in reread:
                    continue
                seq, prev = heads.get(stream, start)
                if row[2] != seq + 1 or row[15] != prev:
                    reread.add(stream)
                elif row_hash(row) != row[16]:
                    self.add(row[0], stream, "contents were altered after they were written")
                else:
                    heads[stream] = (row[2], row[16])

    def in_seq_order(self, stream: str, rows) -> None:
        """Check one stream from its first event; report its first bad link."""
        expected, prev = 1, GENESIS
        self.heads.pop(stream, None)
        for row in rows:
            problem = _link_problem(row, expected, prev)
            if problem:
                self.add(row[0], stream, problem)
                return
            expected, prev = row[2] + 1, row[16]
            self.heads[stream] = (row[2], row[16])


def _link_problem(row: tuple, expected: int, prev: str) -> str | None:
    if row[2] != expected:
        return f"sequence gap: expected #{expected}, found #{row[2]} (event #{expected} is missing)"
    if row[15] != prev:
        return "its previous-hash does not match the event before it"
    if _row_hash(row) != row[16]:
        return "contents were altered after they were written"
    return None


def verify_all(max_problems: int = 50) -> VerificationResult:
    """Verify every chain in the database, then the heads recorded outside the chains."""
    started = time.perf_counter()
    walk = _Walk(max_problems)
    walk.in_id_order(_batches(_select()))
    for stream in sorted(walk.reread):
        rows = _rows(_select("WHERE stream = %s", "seq"), [stream])
        walk.in_seq_order(stream, rows)
    _check_sealed_heads(walk)
    _check_instance_heads(walk)
    streams = len(walk.heads.keys() | walk.broken)
    return VerificationResult(
        walk.checked, streams, walk.problems, time.perf_counter() - started, walk.heads
    )


def verify_stream(stream: str) -> VerificationResult:
    """Verify one chain from its first event (used for an instance's evidence pack)."""
    started = time.perf_counter()
    walk = _Walk(50)
    rows = list(_rows(_select("WHERE stream = %s", "seq"), [stream]))
    walk.checked = len(rows)
    walk.in_seq_order(stream, rows)
    if stream.startswith("instance:"):
        _check_instance_heads(walk, [int(stream.split(":", 1)[1])])
    return VerificationResult(
        walk.checked, 1 if rows else 0, walk.problems, time.perf_counter() - started, walk.heads
    )


def verify_events(queryset: QuerySet[AuditEvent] | None = None, max_problems: int = 50):
    """All chains, or the streams of the events in `queryset`, each from its start."""
    if queryset is None:
        return verify_all(max_problems)
    streams = sorted(set(queryset.values_list("stream", flat=True)))
    results = [verify_stream(stream) for stream in streams]
    problems = [p for result in results for p in result.problems][:max_problems]
    return VerificationResult(
        sum(r.checked for r in results), len(streams), problems, sum(r.seconds for r in results)
    )


def _check_sealed_heads(walk: _Walk) -> None:
    """The latest seal names the head of every stream written before it: each must still
    exist with the same hash (a missing one means the tail of its stream was deleted)."""
    seal = AuditEvent.objects.filter(stream="seal").order_by("-seq").first()
    if seal is None:
        return
    later: list[tuple[str, int, str]] = []
    for stream, seq, digest in seal.payload.get("heads", []):
        if stream in walk.broken:
            continue
        head = walk.heads.get(stream)
        if head is None or head[0] < seq:
            walk.add(None, stream, f"event #{seq} named by seal #{seal.seq} is missing")
        elif head[0] == seq:
            if head[1] != digest:
                walk.add(None, stream, f"event #{seq} differs from the one seal #{seal.seq} names")
        else:
            later.append((stream, seq, digest))
    for start in range(0, len(later), 500):  # streams that grew since: look the head up
        chunk = later[start : start + 500]
        wanted = Q()
        for stream, seq, _digest in chunk:
            wanted |= Q(stream=stream, seq=seq)
        found = dict(
            ((s, q), h)
            for s, q, h in AuditEvent.objects.filter(wanted).values_list("stream", "seq", "hash")
        )
        for stream, seq, digest in chunk:
            if found.get((stream, seq)) != digest:
                walk.add(None, stream, f"event #{seq} differs from the one seal #{seal.seq} names")


def _check_instance_heads(walk: _Walk, instance_ids: list[int] | None = None) -> None:
    """Each case keeps its chain head on its row; the chain must still reach it."""
    from orchestration.models import FlowInstance

    instances = FlowInstance.objects.filter(audit_seq__gt=0)
    if instance_ids is not None:
        instances = instances.filter(pk__in=instance_ids)
    for pk, seq, digest in instances.values_list("pk", "audit_seq", "audit_hash").iterator(
        chunk_size=BATCH
    ):
        stream = f"instance:{pk}"
        if walk.heads.get(stream) == (seq, digest) or stream in walk.broken:
            continue
        # Written after the walk passed? Then the recorded head exists now.
        if AuditEvent.objects.filter(stream=stream, seq=seq, hash=digest).exists():
            continue
        walk.add(None, stream, f"event #{seq}, recorded as the case's latest, is missing")


def save_run(result: VerificationResult, trigger: str, requested_by: str = "") -> VerificationRun:
    """Keep a verification result; the audit page shows the latest one."""
    finished_at = timezone.now()
    return VerificationRun.objects.create(
        started_at=finished_at - timedelta(seconds=result.seconds),
        finished_at=finished_at,
        trigger=trigger,
        ok=result.ok,
        checked=result.checked,
        streams=result.streams,
        summary=result.summary(),
        problems=[p.as_dict() for p in result.problems],
        requested_by=requested_by,
    )


def record_run(trigger: str, requested_by: str = "") -> VerificationRun:
    """Verify every chain, keep the result and write it to the audit log."""
    from audit import events

    run = save_run(verify_all(), trigger, requested_by)
    events.chains_verified(run)
    return run


def last_run() -> VerificationRun | None:
    return VerificationRun.objects.first()


def last_seal() -> ChainSeal | None:
    return ChainSeal.objects.first()
