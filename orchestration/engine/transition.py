"""One state change of an instance: collected in memory, written in a few statements.

Everything an engine operation changes (new step runs, instance fields, audit events)
goes through a Transition, so the audit event is always written in the same
transaction as the change it records, under the instance lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from audit.chain import Actor, Entry, build_events, insert_events
from audit.models import AuditEvent
from orchestration.engine import dispatch, pg_write
from orchestration.engine.graphs import graph_for_version_id
from orchestration.expressions import build_context
from orchestration.models import FlowInstance, StepRun, StepStatus
from orchestration.steps.base import PermanentError

# A flow that writes this many events in one case is looping without an exit.
MAX_EVENTS_PER_INSTANCE = 20_000
# A queued run whose message is lost is sent again by the sweep after this long.
QUEUED_GRACE = timedelta(seconds=60)


class Transition:
    def __init__(self, instance: FlowInstance, actor: Actor, now: datetime):
        self.instance = instance
        self.actor = actor
        self.now = now
        self.graph = graph_for_version_id(instance.version_id)
        self.entries: list[tuple[Entry, StepRun | None]] = []
        self.new_runs: list[StepRun] = []
        self.instance_fields: set[str] = set()
        self.retries: list[tuple[StepRun, float]] = []
        self.ready: list[int] = []  # existing runs made ready to execute (fired joins)

    def event(self, entry: Entry, run: StepRun | None = None) -> None:
        """Record an audit entry; `run` names a step run that may not be inserted yet."""
        self.entries.append((entry, run))

    def pending_runs(self, *statuses: str) -> list[StepRun]:
        """Runs created in this transaction (not yet inserted) in any of `statuses`."""
        return [r for r in self.new_runs if r.status in statuses]

    def step(self, step_id: str) -> dict[str, Any]:
        step = self.graph.step(step_id)
        if step is None:
            raise PermanentError(f"The flow has no step '{step_id}'.")
        return step

    def new_run(self, step_id: str, **fields: Any) -> StepRun:
        step = self.step(step_id)
        run = StepRun(
            instance=self.instance,
            step_id=step_id,
            kind=step["kind"],
            created_at=self.now,
            dispatched_at=self.now,
            **fields,
        )
        if run.status == StepStatus.QUEUED and run.due_at is None:
            run.due_at = self.now + QUEUED_GRACE
        self.new_runs.append(run)
        return run

    def change(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self.instance, name, value)
        self.instance_fields.update(fields)

    def context(self) -> dict[str, Any]:
        return build_context(self.instance.data, self.instance.outputs, self.now)

    def flush_runs(self) -> None:
        """Insert the runs created so far, in order (a step is about to point at its run)."""
        unsaved = [run for run in self.new_runs if run.pk is None]
        if unsaved:
            StepRun.objects.bulk_create(unsaved)

    def save(self) -> list[int]:
        """Write everything; return the ids of new runs that are ready to execute."""
        instance = self.instance
        if any(subject is not None and subject.pk is None for _, subject in self.entries):
            self.flush_runs()  # audit events name their runs, so those need ids first
        unsaved = [run for run in self.new_runs if run.pk is None]
        for entry, subject in self.entries:
            if subject is not None:
                entry.object_id = str(subject.pk)
        events, head = build_events(
            instance.audit_stream,
            (instance.audit_seq, instance.audit_hash),
            [entry for entry, _ in self.entries],
        )
        instance.audit_seq, instance.audit_hash = head
        changes = {name: getattr(instance, name) for name in self.instance_fields}
        if events:
            changes.update(audit_seq=head[0], audit_hash=head[1])
        if changes:
            changes["updated_at"] = self.now
        if connection.vendor == "postgresql":
            pg_write.write(unsaved, events, instance.pk, changes)
        else:
            self._save_with_orm(unsaved, events, changes)
        for run, delay in self.retries:
            dispatch.retry_after_commit(run.pk, delay)
        return self.ready + [r.pk for r in self.new_runs if r.status == StepStatus.QUEUED]

    def _save_with_orm(
        self, runs: list[StepRun], events: list[AuditEvent], changes: dict[str, Any]
    ) -> None:
        if runs:
            StepRun.objects.bulk_create(runs)
        if events:
            insert_events(events)
        if changes:
            FlowInstance.objects.filter(pk=self.instance.pk).update(**changes)
