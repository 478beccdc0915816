"""Walk every hash chain and report the first broken or missing link."""

from __future__ import annotations

from dataclasses import dataclass

from audit.chain import GENESIS, compute_hash
from audit.models import AuditEvent, ChainSeal

_FIELDS = (
    "id",
    "stream",
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "actor_version",
    "action",
    "object_type",
    "object_id",
    "flow_id",
    "instance_id",
    "business_key",
    "payload",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class Problem:
    event_id: int | None
    stream: str
    message: str


@dataclass(frozen=True)
class VerificationResult:
    checked: int
    streams: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"All {self.checked} events in {self.streams} chains verified."
        first = self.problems[0]
        where = f"event {first.event_id}" if first.event_id else f"stream {first.stream}"
        return f"Chain broken at {where} ({first.stream}): {first.message}"


def _check_link(row: dict, expected_seq: int, prev_hash: str) -> str | None:
    if row["seq"] != expected_seq:
        return f"sequence gap: expected #{expected_seq}, found #{row['seq']}"
    if row["prev_hash"] != prev_hash:
        return "previous-hash does not match the event before it"
    if compute_hash(row) != row["hash"]:
        return "contents were altered after they were written (hash mismatch)"
    return None


def verify_events(queryset=None, max_problems: int = 50) -> VerificationResult:
    rows = (queryset if queryset is not None else AuditEvent.objects.all()).order_by("stream", "seq")
    problems: list[Problem] = []
    checked = streams = 0
    stream, expected, prev = None, 1, GENESIS
    broken_stream = None
    for row in rows.values(*_FIELDS).iterator(chunk_size=5000):
        checked += 1
        if row["stream"] != stream:
            stream, expected, prev, broken_stream = row["stream"], 1, GENESIS, None
            streams += 1
        if broken_stream == stream:
            continue
        message = _check_link(row, expected, prev)
        if message:
            problems.append(Problem(row["id"], stream, message))
            broken_stream = stream
            if len(problems) >= max_problems:
                break
            continue
        expected, prev = row["seq"] + 1, row["hash"]
    problems.extend(_check_sealed_heads(max_problems - len(problems)))
    return VerificationResult(checked, streams, problems)


def _check_sealed_heads(limit: int) -> list[Problem]:
    """A sealed head that is gone means the tail of its stream was deleted."""
    problems: list[Problem] = []
    seal_events = AuditEvent.objects.filter(stream="seal").order_by("-seq")[:1]
    for seal in seal_events:
        heads = seal.payload.get("heads", [])
        present = set(
            AuditEvent.objects.filter(hash__in=[h[2] for h in heads]).values_list("hash", flat=True)
        )
        for stream, seq, digest in heads:
            if digest not in present and len(problems) < limit:
                problems.append(
                    Problem(None, stream, f"event #{seq} named by seal {seal.seq} is missing")
                )
    return problems


def last_seal() -> ChainSeal | None:
    return ChainSeal.objects.first()
