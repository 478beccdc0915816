"""Exports that leave the audit area: a search as CSV or JSON Lines (streamed), and the
evidence pack of one case (a zip). Masked fields are masked, and each export is itself
written to the audit log with the fields that were masked."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone

from audit import verification
from audit.masking import Masker
from audit.models import AuditEvent, DecisionRecord

EXPORT_FIELDS = [
    "id",
    "occurred_at",
    "stream",
    "seq",
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
]
CHUNK = 2000


def masker_for(events: QuerySet[AuditEvent], flow_id: int | None, flow_ids: Any) -> Masker:
    """Masking rules for every flow an export may touch (the flow searched, or all)."""
    from orchestration.models import Flow

    flows = Flow.objects.exclude(masked_fields=[])
    if flow_id is not None:
        flows = flows.filter(pk=flow_id)
    elif flow_ids is not None:
        flows = flows.filter(pk__in=flow_ids)
    return Masker({pk: list(f or []) for pk, f in flows.values_list("pk", "masked_fields")})


def masked_row(event: AuditEvent, masker: Masker) -> dict[str, Any]:
    before = set(masker.applied)
    masker.applied.clear()
    row = {name: getattr(event, name) for name in EXPORT_FIELDS}
    row["occurred_at"] = event.occurred_at.isoformat()
    row["payload"] = masker.mask(event.flow_id, event.payload)
    row["business_key"] = masker.mask_text(event.flow_id, "business_key", event.business_key)
    row["masked"] = sorted(masker.applied)
    masker.applied |= before
    return row


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(events: QuerySet[AuditEvent], masker: Masker) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([*EXPORT_FIELDS, "masked"])
    for event in events.iterator(chunk_size=CHUNK):
        row = masked_row(event, masker)
        row["payload"] = json.dumps(
            row["payload"], cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False
        )
        row["masked"] = " ".join(row["masked"])
        yield writer.writerow([row[name] for name in [*EXPORT_FIELDS, "masked"]])


def json_lines(events: QuerySet[AuditEvent], masker: Masker) -> Iterator[str]:
    for event in events.iterator(chunk_size=CHUNK):
        yield json.dumps(masked_row(event, masker), cls=DjangoJSONEncoder) + "\n"


# --- Evidence pack ------------------------------------------------------------------

README = """Evidence pack for case {case} of the flow "{flow}"
Exported {exported} by {user}.

instance.json          the case: status, times, input and data as recorded
events.jsonl           every audit event about the case, in chain order
decision_records.json  every decision record of the case, as written
flow_version.json      the flow version the case ran, with its full definition
human_tasks.json       the people's tasks of the case: who, outcome, reason
verification.json      the check of the case's hash chains, made at export time

Chain verification: {verification}

Masked fields: {masked}
Masked values were replaced before export. The verification above was computed by
Podium over the original, unmasked records; re-hashing a masked event will not match
its recorded hash. Unmasked events can be re-hashed: see audit/chain.py for the
canonical form (compact, key-sorted JSON of the event's fields, SHA-256).
"""


def _dump(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, indent=2, sort_keys=True) + "\n"


def evidence_pack(instance: Any, user: Any) -> tuple[bytes, list[str], bool]:
    """The zip for one case; returns (bytes, masked field paths, chain verified)."""
    masker = Masker({instance.flow_id: list(instance.flow.masked_fields or [])})
    events = list(AuditEvent.objects.filter(instance_id=instance.pk).order_by("stream", "seq"))
    records = list(DecisionRecord.objects.filter(instance_id=instance.pk).order_by("id"))
    streams = sorted({instance.audit_stream, *(e.stream for e in events)})
    results = {stream: verification.verify_stream(stream) for stream in streams}
    ok = all(result.ok for result in results.values())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as pack:
        pack.writestr("instance.json", _dump(_instance(instance, masker)))
        pack.writestr(
            "events.jsonl",
            "".join(
                json.dumps(masked_row(e, masker), cls=DjangoJSONEncoder) + "\n" for e in events
            ),
        )
        pack.writestr("decision_records.json", _dump([_record(r, masker) for r in records]))
        pack.writestr("flow_version.json", _dump(_version(instance.version)))
        pack.writestr("human_tasks.json", _dump(_tasks(instance)))
        pack.writestr("verification.json", _dump(_verification(results, ok)))
        masked = sorted(masker.applied)
        pack.writestr(
            "README.txt",
            README.format(
                case=instance.business_key or f"#{instance.pk}",
                flow=instance.flow.name,
                exported=timezone.now().isoformat(timespec="seconds"),
                user=user.get_username(),
                verification="intact" if ok else "BROKEN — see verification.json",
                masked=", ".join(masked) or "none",
            ),
        )
    return buffer.getvalue(), masked, ok


def _instance(instance: Any, masker: Masker) -> dict[str, Any]:
    return {
        "id": instance.pk,
        "flow": {"id": instance.flow_id, "slug": instance.flow.slug, "name": instance.flow.name},
        "version": instance.version.number,
        "status": instance.status,
        "business_key": masker.mask_text(instance.flow_id, "business_key", instance.business_key),
        "trigger": instance.trigger,
        "started_by": instance.started_by.get_username() if instance.started_by else None,
        "created_at": instance.created_at,
        "finished_at": instance.finished_at,
        "error": instance.error,
        "input": masker.mask(instance.flow_id, instance.input),
        "data": masker.mask(instance.flow_id, instance.data),
        "audit_head": {"seq": instance.audit_seq, "hash": instance.audit_hash},
    }


def _record(record: DecisionRecord, masker: Masker) -> dict[str, Any]:
    data = {f.name: getattr(record, f.name) for f in DecisionRecord._meta.concrete_fields}
    data["inputs"] = masker.mask(record.flow_id, record.inputs)
    data["business_key"] = masker.mask_text(record.flow_id, "business_key", record.business_key)
    return data


def _version(version: Any) -> dict[str, Any]:
    return {
        "id": version.pk,
        "number": version.number,
        "status": version.status,
        "checksum": version.checksum,
        "published_at": version.published_at,
        "published_by": version.published_by.get_username() if version.published_by else None,
        "change_note": version.change_note,
        "definition": version.definition,
    }


def _tasks(instance: Any) -> list[dict[str, Any]]:
    from approvals.models import HumanTask

    tasks = HumanTask.objects.filter(instance_id=instance.pk).select_related(
        "assignee_user", "assignee_team", "decided_by"
    )
    return [
        {
            "id": task.pk,
            "title": task.title,
            "kind": task.kind,
            "status": task.status,
            "assignee": task.assignee_user.get_username()
            if task.assignee_user
            else (task.assignee_team.name if task.assignee_team else ""),
            "created_at": task.created_at,
            "due_at": task.due_at,
            "decided_at": task.decided_at,
            "decided_by": task.decided_by.get_username() if task.decided_by else "",
            "outcome": task.outcome,
            "reason": task.reason,
            "escalation_level": task.escalation_level,
        }
        for task in tasks.order_by("id")
    ]


def _verification(results: dict[str, Any], ok: bool) -> dict[str, Any]:
    return {
        "verified_at": timezone.now(),
        "ok": ok,
        "chains": [
            {
                "stream": stream,
                "ok": result.ok,
                "events": result.checked,
                "summary": result.summary(),
                "problems": [p.as_dict() for p in result.problems],
            }
            for stream, result in results.items()
        ],
    }
