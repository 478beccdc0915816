"""The plain-English name of every audit action: the one table all screens show them from.

Actions are codes ("instance.started") kept stable in the log; people read these names
instead ("Case started"), the same on the case page, the task page and the audit log.
"""

from __future__ import annotations

ACTION_LABELS = {
    # Cases
    "instance.started": "Case started",
    "instance.succeeded": "Case finished",
    "instance.failed": "Case failed",
    "instance.cancelled": "Case cancelled",
    "instance.resumed": "Case resumed",
    "instance.stuck": "Case stuck: nothing left to run",
    "instance.rollback_requested": "Rollback requested",
    "instance.compensating": "Case rolling back",
    "instance.compensated": "Case rolled back",
    # Steps
    "step.started": "Step started",
    "step.succeeded": "Step finished",
    "step.waiting": "Step waiting",
    "step.failed": "Step failed",
    "step.retried": "Step retried by an operator",
    "step.skipped": "Step skipped",
    # People's tasks
    "task.opened": "Task opened",
    "task.claimed": "Task claimed",
    "task.released": "Task released to the team",
    "task.decided": "Person decided a task",
    "task.reminded": "Reminder sent",
    "task.reassigned": "Escalated to the next level",
    "task.expired": "Final deadline passed",
    "task.cancelled": "Task cancelled",
    "task.delegation_moved": "Handed to a stand-in",
    "task.delegation_returned": "Returned from a stand-in",
    "delegation.created": "Stand-in set up",
    "delegation.ended": "Stand-in ended",
    # AI decisions
    "decision.proposed": "AI proposed an outcome",
    "decision.finalised": "Person made the final call",
    "decision.qa_reviewed": "Quality check of an automatic decision",
    "decision.model_trained": "Decision model trained",
    "decision.corrected": "Decision record corrected",
    "event.corrected": "Event corrected",
    # Flows
    "flow.created": "Flow created",
    "flow.owner_changed": "Flow owner changed",
    "flow.access_granted": "Flow access granted",
    "flow.access_revoked": "Flow access revoked",
    "flow.token_created": "API token created",
    "flow.token_revoked": "API token revoked",
    "version.imported": "Version imported from YAML",
    "version.draft_created": "Draft created",
    "version.draft_saved": "Draft saved",
    "version.published": "Flow version published",
    "version.retired": "Flow version retired",
    "schedule.start_failed": "Scheduled start failed",
    # People, administration and the audit log itself
    "user.logged_in": "Signed in",
    "user.logged_out": "Signed out",
    "user.login_failed": "Sign-in failed",
    "admin.added": "Added in the admin console",
    "admin.changed": "Changed in the admin console",
    "admin.deleted": "Deleted in the admin console",
    "audit.viewed": "Audit data viewed",
    "audit.exported": "Audit data exported",
    "audit.evidence_pack": "Evidence pack downloaded",
    "audit.verified": "Chains verified",
    "chain.sealed": "Chains sealed",
}


def action_label(action: str) -> str:
    """The action's name for people; one not in the table is spelled out from its code
    ("step.retry_scheduled" → "Step retry scheduled")."""
    label = ACTION_LABELS.get(action)
    if label is not None:
        return label
    return action.replace(".", " ").replace("_", " ").capitalize()
