"""Periodic seals: one event that commits to the head of every stream changed since."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit import chain
from audit.models import AuditEvent, ChainSeal

SEAL_STREAM = "seal"


@transaction.atomic
def seal() -> ChainSeal | None:
    previous = ChainSeal.objects.select_for_update().first()
    since = previous.last_event_id if previous else 0
    changed = (
        AuditEvent.objects.filter(id__gt=since)
        .exclude(stream=SEAL_STREAM)
        .values("stream")
        .annotate(seq=Max("seq"), last_id=Max("id"))
    )
    rows = list(changed)
    if not rows:
        return None
    heads = []
    for row in rows:
        digest = (
            AuditEvent.objects.filter(stream=row["stream"], seq=row["seq"])
            .values_list("hash", flat=True)
            .get()
        )
        heads.append([row["stream"], row["seq"], digest])
    heads.sort()
    digest = hashlib.sha256(repr(heads).encode()).hexdigest()
    last_id = max(row["last_id"] for row in rows)
    chain.append(
        SEAL_STREAM,
        [
            chain.Entry(
                action="chain.sealed",
                actor=chain.Actor.system(),
                payload={"heads": heads, "digest": digest, "up_to_event": last_id},
            )
        ],
    )
    return ChainSeal.objects.create(last_event_id=last_id, streams=len(heads), digest=digest)


def current_heads() -> list[tuple[str, int, str]]:
    """(stream, seq, hash) of the last event of every stream, ordered by stream."""
    table = AuditEvent._meta.db_table
    sql = (
        f"SELECT e.stream, e.seq, e.hash FROM {table} e JOIN "
        f"(SELECT stream, MAX(seq) AS seq FROM {table} GROUP BY stream) h "
        f"ON h.stream = e.stream AND h.seq = e.seq ORDER BY e.stream"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [(stream, int(seq), digest) for stream, seq, digest in cursor.fetchall()]


def heads_document() -> dict[str, Any]:
    """What `manage.py audit export-heads` writes: every head and the latest seal.

    Kept somewhere Podium cannot write (or signed), it proves later that no event up to
    these heads was changed or removed: every head must still verify."""
    heads = current_heads()
    latest = ChainSeal.objects.first()
    seal_event = AuditEvent.objects.filter(stream=SEAL_STREAM).order_by("-seq").first()
    return {
        "format": "podium-audit-heads/v1",
        "exported_at": timezone.now().isoformat(),
        "streams": len(heads),
        "digest": hashlib.sha256(json.dumps(heads, separators=(",", ":")).encode()).hexdigest(),
        "heads": [{"stream": s, "seq": q, "hash": h} for s, q, h in heads],
        "last_seal": None
        if latest is None
        else {
            "id": latest.pk,
            "created_at": latest.created_at.isoformat(),
            "up_to_event": latest.last_event_id,
            "streams": latest.streams,
            "digest": latest.digest,
            "event": None
            if seal_event is None
            else {"seq": seal_event.seq, "hash": seal_event.hash},
        },
    }
