"""One state change of an instance: collected in memory, written in a few statements.

Everything an engine operation changes (new step runs, instance fields, audit events)
goes through a Transition, so the audit event is always written in the same
transaction as the change it records, under the instance lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from audit.chain import Actor, Entry, build_events, insert_events
from audit.models import AuditEvent
from orchestration.engine import dispatch, pg_write, run_update
from orchestration.engine.graphs import graph_for_version_id
from orchestration.engine.state import StaleRun, check_step_transition
from orchestration.expressions import build_context
from orchestration.models import ACTIVE_STEP_STATUSES, FlowInstance, StepRun, StepStatus
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
        # Status updates of saved runs not yet written: run id -> (status read, values).
        self.run_updates: dict[int, tuple[str, dict[str, Any]]] = {}
        # The cancellation of the case's other active runs, not yet written.
        self.cancellation: run_update.Cancellation | None = None
        self._defer_updates = False

    def event(self, entry: Entry, run: StepRun | None = None) -> None:
        """Record an audit entry; `run` names a step run that may not be inserted yet."""
        self.entries.append((entry, run))

    def pending_runs(self, *statuses: str) -> list[StepRun]:
        """Runs created in this transaction (not yet inserted) in any of `statuses`."""
        return [r for r in self.new_runs if r.status in statuses]

    def set_status(self, run: StepRun, to: str, **fields: Any) -> None:
        """Move a step run to `to`, provided it is still in the status we read.

        The write is a conditional UPDATE (engine/run_update.py); a run created in this
        transaction is simply inserted as it ends up. While updates are deferred the
        UPDATE waits for save() or the next other statement, whichever comes first.
        """
        check_step_transition(run, to)
        self._write(run, {"status": to, **fields})

    def update(self, run: StepRun, **fields: Any) -> None:
        """Change fields of a run other than its status, provided the status is still
        the one we read."""
        self._write(run, fields)

    def _write(self, run: StepRun, fields: dict[str, Any]) -> None:
        if self.cancellation is not None:
            self.flush_run_updates()  # the change comes after the cancellation
        if run.pk is not None:
            status, values = self.run_updates.get(run.pk, (run.status, {}))
            self.run_updates[run.pk] = (status, {**values, "status": run.status, **fields})
            if not self._defer_updates:
                self.flush_run_updates()
        for name, value in fields.items():
            setattr(run, name, value)

    def cancel_active_runs(self, exclude: StepRun | None = None) -> None:
        """Cancel every run of the case still in progress, except `exclude`.

        Runs created or updated in this transition are cancelled in memory; the others
        by one UPDATE, which, while updates are deferred, is part of save()'s statement.
        """
        for pending in self.pending_runs(*ACTIVE_STEP_STATUSES):
            if pending is not exclude:
                pending.status, pending.finished_at = StepStatus.CANCELLED, self.now
        keep = exclude.pk if exclude is not None else None
        for run_id, (_, values) in self.run_updates.items():
            if run_id != keep and values["status"] in ACTIVE_STEP_STATUSES:
                values.update(status=StepStatus.CANCELLED, finished_at=self.now)
        self.cancellation = run_update.Cancellation(self.instance.pk, keep, self.now)
        if not self._defer_updates:
            self.flush_run_updates()

    def _take_run_updates(
        self,
    ) -> tuple[dict[int, tuple[str, dict[str, Any]]], run_update.Cancellation | None]:
        """The pending status updates and cancellation, now no longer pending."""
        updates, self.run_updates = self.run_updates, {}
        cancellation, self.cancellation = self.cancellation, None
        return updates, cancellation

    def flush_run_updates(self) -> None:
        updates, cancellation = self._take_run_updates()
        for run_id, (status, values) in updates.items():
            if not run_update.update_if_status(run_id, status, values):
                raise StaleRun(f"step run {run_id} is no longer {status}")
        if cancellation is not None:
            run_update.cancel_active(cancellation)

    @contextmanager
    def deferred_run_updates(self) -> Iterator[None]:
        """Fold the status updates made inside this block into save()'s statement.

        Any other statement first writes what is pending, so a query never reads a
        status older than the one in memory, and a savepoint never holds it.
        """
        self._defer_updates = True
        try:
            with connection.execute_wrapper(self._write_updates_first):
                yield
                self.flush_run_updates()
        finally:
            self._defer_updates = False

    def _write_updates_first(
        self, execute: Callable, sql: str, params: Any, many: bool, context: dict
    ) -> Any:
        if self.run_updates or self.cancellation is not None:
            self.flush_run_updates()
        return execute(sql, params, many, context)

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

    def flush_records(self) -> None:
        """Write the runs and audit events collected so far: a step that writes records of
        its own (a person's task, a sub-flow) is about to run, and what it records must
        come after what led to it in the audit log, by time and by id."""
        self.flush_runs()
        if self.entries:
            insert_events(self._take_events())
            self.instance_fields.update(("audit_seq", "audit_hash"))

    def _take_events(self) -> list[AuditEvent]:
        """The collected entries as events linked onto the case's audit chain, whose head
        moves on; the entries are then no longer pending."""
        instance = self.instance
        for entry, subject in self.entries:
            if subject is not None:
                entry.object_id = str(subject.pk)
        events, head = build_events(
            instance.audit_stream,
            (instance.audit_seq, instance.audit_hash),
            [entry for entry, _ in self.entries],
        )
        instance.audit_seq, instance.audit_hash = head
        self.entries = []
        return events

    def save(self, commit: bool = False) -> list[int]:
        """Write everything; return the ids of new runs that are ready to execute.

        `commit` says this is the last SQL of the caller's outermost atomic block, so
        on PostgreSQL the COMMIT may travel with the write (engine/pg_round_trips.py).
        """
        instance = self.instance
        if any(subject is not None and subject.pk is None for _, subject in self.entries):
            self.flush_runs()  # audit events name their runs, so those need ids first
        unsaved = [run for run in self.new_runs if run.pk is None]
        events = self._take_events()
        changes = {name: getattr(instance, name) for name in self.instance_fields}
        if events:
            changes.update(audit_seq=instance.audit_seq, audit_hash=instance.audit_hash)
        if changes:
            changes["updated_at"] = self.now
        if connection.vendor == "postgresql":
            updates, cancellation = self._take_run_updates()
            pg_write.write(updates, cancellation, unsaved, events, instance.pk, changes, commit)
        else:
            self.flush_run_updates()
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
