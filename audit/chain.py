"""Hash chains for the audit log.

Each event belongs to one *stream* ("instance:42", "flow:7", "auth", "admin", …) and
carries the SHA-256 of its own canonical form plus the hash of the previous event in
the same stream. A single global chain would make every transition in the engine wait
for one lock; a chain per stream keeps appends independent:

* instance streams are appended to while the engine already holds the instance row
  lock, and the engine keeps the stream head (seq, hash) on the instance row, so an
  append costs one INSERT and no extra read;
* other streams are low-volume: the head is read from the last event and the unique
  (stream, seq) constraint turns a race into a retry.

Deleting the tail of a stream leaves no gap, so a periodic *seal* (audit/sealing.py)
commits to the heads of every stream written since the previous seal; verification
checks the sealed heads still exist.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.models import ActorKind, AuditEvent

GENESIS = "0" * 64
_HASHED_FIELDS = (
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
)


@dataclass(frozen=True)
class Actor:
    kind: str
    id: str = ""
    label: str = ""
    version: str = ""

    @classmethod
    def system(cls, label: str = "Podium") -> Actor:
        return cls(ActorKind.SYSTEM, "", label)

    @classmethod
    def user(cls, user: Any) -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls.system()
        return cls(ActorKind.USER, str(user.pk), user.get_username())

    @classmethod
    def ai(cls, provider: str, version: str) -> Actor:
        return cls(ActorKind.AI, provider, provider, version)


@dataclass
class Entry:
    """An event about to be appended."""

    action: str
    actor: Actor
    object_type: str = ""
    object_id: str = ""
    flow_id: int | None = None
    instance_id: int | None = None
    business_key: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


def canonical_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Reduce a payload to plain JSON values, exactly as it will be stored and hashed."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _timestamp(value: datetime | str) -> str:
    if isinstance(value, str):  # already canonical (verification formats it in SQL)
        return value
    if value.tzinfo is None:  # SQLite hands back naive UTC datetimes
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# The canonical form is the compact, key-sorted JSON object of _HASHED_FIELDS, with
# `occurred_at` as an ISO 8601 UTC string with microseconds:
#   json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# Any JSON library can recompute it. The template below produces exactly that text
# without building and sorting a dict per event (verification hashes millions).
_esc = json.encoder.encode_basestring  # the ensure_ascii=False string encoder (C)
_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
# The C encoder behind _json, built once: for values that are already plain JSON (read
# back from the database) it gives the same text without per-call set-up.
_c_encoder = json.encoder.c_make_encoder  # type: ignore[attr-defined]
if _c_encoder is not None:
    _encode_plain = _c_encoder(None, _json, _esc, None, ":", ",", True, False, True)

    def plain_json(value: Any) -> str:
        return "".join(_encode_plain(value, 0))
else:  # pragma: no cover - CPython always has the C encoder
    plain_json = _json
CANONICAL_TEMPLATE = (
    '{"action":%s,"actor_id":%s,"actor_kind":%s,"actor_label":%s,"actor_version":%s,'
    '"business_key":%s,"flow_id":%s,"instance_id":%s,"object_id":%s,"object_type":%s,'
    '"occurred_at":%s,"payload":%s,"prev_hash":%s,"seq":%s,"stream":%s}'
)


def _value(value: Any) -> str:
    """One JSON value, as json.dumps with the canonical options would write it."""
    kind = type(value)
    if kind is str:
        return _esc(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    return _json(value)


def canonical_text(
    stream: str,
    seq: int,
    occurred_at: Any,
    actor_kind: str,
    actor_id: str,
    actor_label: str,
    actor_version: str,
    action: str,
    object_type: str,
    object_id: str,
    flow_id: int | None,
    instance_id: int | None,
    business_key: str,
    payload: Any,
    prev_hash: str,
) -> str:
    return CANONICAL_TEMPLATE % (
        _value(action),
        _value(actor_id),
        _value(actor_kind),
        _value(actor_label),
        _value(actor_version),
        _value(business_key),
        _value(flow_id),
        _value(instance_id),
        _value(object_id),
        _value(object_type),
        _esc(_timestamp(occurred_at)),
        _json(payload),
        _value(prev_hash),
        _value(seq),
        _value(stream),
    )


def compute_hash(values: dict[str, Any]) -> str:
    text = canonical_text(*(values[name] for name in _HASHED_FIELDS))
    return hashlib.sha256(text.encode()).hexdigest()


def reference_hash(values: dict[str, Any]) -> str:
    """The canonical form spelled out with json.dumps; tests check compute_hash against it."""
    body = {name: values[name] for name in _HASHED_FIELDS}
    body["occurred_at"] = _timestamp(body["occurred_at"])
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def build_events(
    stream: str, head: tuple[int, str], entries: Iterable[Entry], now: datetime | None = None
) -> tuple[list[AuditEvent], tuple[int, str]]:
    """Link entries onto a stream whose head is (seq, hash); return events and new head."""
    seq, prev = head
    occurred_at = now or timezone.now()
    events = []
    for entry in entries:
        seq += 1
        values = {
            "stream": stream,
            "seq": seq,
            "occurred_at": occurred_at,
            "actor_kind": str(entry.actor.kind),
            "actor_id": entry.actor.id,
            "actor_label": entry.actor.label[:150],
            "actor_version": entry.actor.version[:100],
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": str(entry.object_id),
            "flow_id": entry.flow_id,
            "instance_id": entry.instance_id,
            "business_key": entry.business_key[:200],
            "payload": canonical_payload(entry.payload),
            "prev_hash": prev,
        }
        values["hash"] = prev = compute_hash(values)
        events.append(AuditEvent(**values))
    return events, (seq, prev)


_INSERT_COLUMNS = (*_HASHED_FIELDS, "hash")


def insert_events(events: list[AuditEvent]) -> None:
    """One plain INSERT for a few events: the hot path of every engine transition, so
    it skips bulk_create's per-object work (ids are not read back)."""
    if not events:
        return
    if len(events) > 100:
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        return
    postgres = connection.vendor == "postgresql"
    row = (
        "("
        + ", ".join("%s::jsonb" if c == "payload" and postgres else "%s" for c in _INSERT_COLUMNS)
        + ")"
    )
    params: list[Any] = []
    for event in events:
        for column in _INSERT_COLUMNS:
            value = getattr(event, column)
            if column == "payload":
                value = plain_json(value)
            elif column == "occurred_at" and not postgres:
                value = connection.ops.adapt_datetimefield_value(value)
            params.append(value)
    table = AuditEvent._meta.db_table
    sql = f"INSERT INTO {table} ({', '.join(_INSERT_COLUMNS)}) VALUES " + ", ".join(
        [row] * len(events)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def append_at_head(stream: str, head: tuple[int, str], entries: list[Entry]) -> tuple[int, str]:
    """Append to a stream whose head the caller holds under its own lock."""
    events, new_head = build_events(stream, head, entries)
    insert_events(events)
    return new_head


def read_head(stream: str) -> tuple[int, str]:
    last = (
        AuditEvent.objects.filter(stream=stream).order_by("-seq").values_list("seq", "hash").first()
    )
    return last if last else (0, GENESIS)


def append(stream: str, entries: list[Entry], attempts: int = 5) -> tuple[int, str]:
    """Append to a low-volume stream, retrying when another writer took the same seq."""
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return append_at_head(stream, read_head(stream), entries)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
