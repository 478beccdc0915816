"""Periodic seals: one event that commits to the head of every stream changed since."""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.db.models import Max

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
