"""The accountability register (who answers for what, since when) and ownership gaps.

Read from each flow's published versions (step owners, review teams, approvers,
escalation paths) and from the flow's own fields (accountable and exception owner,
whose changes are `flow.owner_changed` audit events). Holders are written in
definitions as "team:<group>", "user:<username>" or "system:<name>"; a bare name is
a team.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import Count, Q

from audit.models import AuditEvent

NO_OWNER_KINDS = {"start", "end", "branch", "parallel", "join"}
FALLBACK_KEYS = ("review_team", "reviewers", "fallback_team", "assignees", "assignee")
APPROVER_KEYS = ("assignees", "assignee", "reviewers", "team")


@dataclass(frozen=True)
class Holder:
    kind: str  # team, user, system
    name: str

    @classmethod
    def parse(cls, value: Any) -> Holder | None:
        if isinstance(value, dict):
            for kind in ("team", "user", "system"):
                if value.get(kind):
                    return cls(kind, str(value[kind]))
            return None
        if not isinstance(value, str) or not value.strip():
            return None
        kind, sep, name = value.strip().partition(":")
        if sep and kind in ("team", "user", "system"):
            return cls(kind, name.strip()) if name.strip() else None
        return cls("team", value.strip())

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def label(self) -> str:
        return {"team": "Team", "user": "Person", "system": "System"}[self.kind] + f" {self.name}"


def holders(value: Any) -> list[Holder]:
    values = value if isinstance(value, list) else [value]
    return [h for h in (Holder.parse(v) for v in values) if h]


@dataclass
class Duty:
    """One line of the register."""

    role: str
    holders: list[Holder]
    step_id: str = ""
    step_label: str = ""
    since: datetime | None = None
    source: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.step_id, self.role)

    @property
    def holder_text(self) -> str:
        return ", ".join(h.label for h in self.holders) or "nobody"


@dataclass
class Gap:
    flow_id: int
    flow_name: str
    flow_slug: str
    code: str  # no_owner, inactive_owner, empty_team, no_fallback, unclaimable, dead_end_escalation
    message: str
    step_id: str = ""
    severity: str = "error"


@dataclass
class Register:
    flow: Any
    version: Any
    duties: list[Duty] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


# --- Reading a definition -----------------------------------------------------------


def _steps(definition: dict[str, Any]) -> list[dict[str, Any]]:
    steps = (definition or {}).get("steps") or []
    if isinstance(steps, dict):
        return [{"id": k, **v} for k, v in steps.items() if isinstance(v, dict)]
    return [s for s in steps if isinstance(s, dict) and s.get("id")]


def escalation_levels(config: dict[str, Any]) -> list[dict[str, Any]]:
    """[{after_minutes, action, to}] from the list form or the inbox's dict form."""
    raw = config.get("escalation")
    if isinstance(raw, list):
        return [
            {
                "after_minutes": level.get("after_minutes"),
                "action": str(level.get("action") or "notify"),
                "to": level.get("to"),
            }
            for level in raw
            if isinstance(level, dict)
        ]
    if isinstance(raw, dict):
        levels = raw.get("levels") or raw.get("reassign_to") or config.get("escalate_to") or []
        levels = levels if isinstance(levels, list) else [levels]
        after = raw.get("reassign_after_minutes") or raw.get("reassign_after")
        found = []
        if raw.get("notify_after_minutes") or raw.get("notify_after"):
            found.append(
                {
                    "after_minutes": raw.get("notify_after_minutes") or raw.get("notify_after"),
                    "action": "notify",
                    "to": None,
                }
            )
        found += [{"after_minutes": after, "action": "reassign", "to": lvl} for lvl in levels]
        return found
    return []


def _first(config: dict[str, Any], keys: Iterable[str]) -> Any:
    return next((config[k] for k in keys if config.get(k)), None)


def duties_of(definition: dict[str, Any]) -> list[Duty]:
    duties: list[Duty] = []
    for step in _steps(definition):
        sid, label = str(step["id"]), str(step.get("label") or step["id"])
        kind, config = step.get("kind", ""), step.get("config") or {}
        if kind not in NO_OWNER_KINDS or step.get("owner"):
            duties.append(Duty("Step owner", holders(step.get("owner")), sid, label))
        if kind == "decision":
            team = _first(config, FALLBACK_KEYS)
            duties.append(Duty("Review team", holders(team), sid, label))
        if kind == "approval":
            who = _first(config, APPROVER_KEYS) or step.get("owner")
            duties.append(Duty("Approvers", holders(who), sid, label))
        for n, level in enumerate(escalation_levels(config), start=1):
            action = "notify" if level["action"] == "notify" else "reassign to"
            after = f" after {level['after_minutes']} min" if level.get("after_minutes") else ""
            role = f"Escalation {n}{after}: {action}"
            target = level.get("to")
            if level["action"] == "notify" and not target:
                target = _first(config, APPROVER_KEYS) or step.get("owner")
            duties.append(Duty(role, holders(target), sid, label))
    return duties


# --- The register -------------------------------------------------------------------


def _published(flow: Any) -> list[Any]:
    return list(
        flow.versions.exclude(published_at=None).select_related("published_by").order_by("number")
    )


def register(flow: Any) -> Register:
    versions = _published(flow)
    current = next((v for v in reversed(versions) if v.status == "published"), None)
    reg = Register(flow, current)
    reg.duties = _flow_duties(flow)
    if current is None:
        return reg
    history = [(v, {d.key: d for d in duties_of(v.definition)}) for v in versions]
    for duty in duties_of(current.definition):
        since = None
        for version, by_key in history:
            earlier = by_key.get(duty.key)
            if earlier is not None and earlier.holders == duty.holders:
                since = since or version
            else:
                since = None
        if since is not None:
            duty.since, duty.source = since.published_at, _published_by(since)
        reg.duties.append(duty)
    reg.gaps = ownership_gaps([flow])
    return reg


def _published_by(version: Any) -> str:
    """Who set this, and why: the version's publisher and change note."""
    text = f"version {version.number}"
    if version.published_by_id:
        text += f", published by {version.published_by.get_username()}"
    if version.change_note:
        text += f": “{version.change_note[:120]}”"
    return text


def _flow_duties(flow: Any) -> list[Duty]:
    changes = _owner_changes(flow)
    duties = []
    for role, team, user, fields in (
        ("Accountable owner", flow.owner_team, flow.owner_user, ("owner_team", "owner_user")),
        (
            "Exception owner",
            flow.exception_owner_team,
            flow.exception_owner_user,
            ("exception_owner_team", "exception_owner_user"),
        ),
    ):
        found = [Holder("team", team.name)] if team else []
        found += [Holder("user", user.get_username())] if user else []
        changed = [changes[f] for f in fields if f in changes]
        latest = max(changed, key=lambda c: c[0]) if changed else None
        since = latest[0] if latest else flow.created_at
        source = (
            f"changed by {latest[1]}: “{latest[2]}”" if latest else "since the flow was created"
        )
        duties.append(Duty(role, found, since=since, source=source))
    return duties


def _owner_changes(flow: Any) -> dict[str, tuple[datetime, str, str]]:
    """Latest change of each owner field — when, by whom, why — from `flow.owner_changed`."""
    latest: dict[str, tuple[datetime, str, str]] = {}
    events = AuditEvent.objects.filter(stream=f"flow:{flow.pk}", action="flow.owner_changed")
    for payload, at, who in events.values_list("payload", "occurred_at", "actor_label"):
        field_name = (payload or {}).get("field", "")
        if field_name not in latest or at >= latest[field_name][0]:
            latest[field_name] = (at, who, str((payload or {}).get("reason", ""))[:120])
    return latest


# --- Ownership gaps -----------------------------------------------------------------


class _People:
    """Active members per team and active users, looked up once for all flows."""

    def __init__(self, names: set[Holder]):
        teams = {h.name for h in names if h.kind == "team"}
        users = {h.name for h in names if h.kind == "user"}
        self.team_members = dict(
            Group.objects.filter(name__in=teams)
            .annotate(active=Count("user", filter=Q(user__is_active=True)))
            .values_list("name", "active")
        )
        self.users = dict(
            User.objects.filter(username__in=users).values_list("username", "is_active")
        )

    def problem(self, holder: Holder) -> tuple[str, str] | None:
        if holder.kind == "team":
            if holder.name not in self.team_members:
                return "empty_team", f"the team “{holder.name}” does not exist"
            if not self.team_members[holder.name]:
                return "empty_team", f"the team “{holder.name}” has no active members"
        if holder.kind == "user":
            if holder.name not in self.users:
                return "inactive_owner", f"the user “{holder.name}” does not exist"
            if not self.users[holder.name]:
                return "inactive_owner", f"the user “{holder.name}” is inactive"
        return None

    def can_act(self, holder: Holder) -> bool:
        return holder.kind in ("team", "user") and self.problem(holder) is None


def ownership_gaps(flows: Iterable[Any] | None = None) -> list[Gap]:
    """Every ownership gap of the given flows (default: all), for the audit front page
    and the handoff map: steps without an owner, owners who are inactive users or empty
    teams, decisions without a human fallback, approval queues nobody can claim from,
    and escalation chains that end nowhere."""
    from orchestration.models import Flow

    if flows is None:
        flows = Flow.objects.select_related(
            "owner_team", "owner_user", "exception_owner_team", "exception_owner_user"
        ).order_by("name")
    flows = list(flows)
    current = _current_definitions(flows)
    everyone = {h for f in flows for d in _flow_duties_fast(f) for h in d.holders}
    everyone |= {h for d in current.values() for duty in duties_of(d) for h in duty.holders}
    people = _People(everyone)
    gaps: list[Gap] = []
    for flow in flows:
        gaps += _flow_gaps(flow, current.get(flow.pk), people)
    return gaps


def _current_definitions(flows: list[Any]) -> dict[int, dict[str, Any]]:
    from orchestration.models import FlowVersion

    rows = (
        FlowVersion.objects.filter(flow__in=flows, status="published")
        .order_by("flow_id", "-number")
        .values_list("flow_id", "definition")
    )
    found: dict[int, dict[str, Any]] = {}
    for flow_id, definition in rows:
        found.setdefault(flow_id, definition or {})
    return found


def _flow_duties_fast(flow: Any) -> list[Duty]:
    """Flow-level owners without the history look-up (for the gap report)."""
    duties = []
    for role, team, user in (
        ("Accountable owner", flow.owner_team, flow.owner_user),
        ("Exception owner", flow.exception_owner_team, flow.exception_owner_user),
    ):
        found = [Holder("team", team.name)] if team else []
        found += [Holder("user", user.get_username())] if user else []
        duties.append(Duty(role, found))
    return duties


def _flow_gaps(flow: Any, definition: dict[str, Any] | None, people: _People) -> list[Gap]:
    gaps: list[Gap] = []

    def add(code: str, message: str, step_id: str = "", severity: str = "error") -> None:
        gaps.append(Gap(flow.pk, flow.name, flow.slug, code, message, step_id, severity))

    for duty in _flow_duties_fast(flow):
        if not duty.holders:
            add("no_owner", f"The flow has no {duty.role.lower()}.")
        for holder in duty.holders:
            problem = people.problem(holder)
            if problem:
                add(problem[0], f"{duty.role}: {problem[1]}.")
    if definition is None:
        return gaps
    steps = {str(s["id"]): s for s in _steps(definition)}
    for duty in duties_of(definition):
        step = steps.get(duty.step_id, {})
        where = f"Step “{duty.step_label}”"
        if duty.role == "Step owner" and not duty.holders:
            add("no_owner", f"{where} has no owner.", duty.step_id)
        for holder in duty.holders:
            problem = people.problem(holder)
            if problem and not duty.role.startswith(("Escalation", "Approvers", "Review")):
                add(problem[0], f"{where}: its owner — {problem[1]}.", duty.step_id)
        if duty.role == "Review team" and not any(people.can_act(h) for h in duty.holders):
            reason = (
                "names no person or team to fall back to"
                if not duty.holders
                else ("falls back to " + duty.holder_text + ", but nobody there can act")
            )
            add("no_fallback", f"{where} decides with AI but {reason}.", duty.step_id)
        if duty.role == "Approvers" and not any(people.can_act(h) for h in duty.holders):
            add(
                "unclaimable",
                f"{where}: nobody can claim its tasks ("
                + (duty.holder_text if duty.holders else "no approvers named")
                + ").",
                duty.step_id,
            )
    for sid, step in steps.items():
        gaps += _escalation_gaps(flow, sid, step, people)
    return gaps


def _escalation_gaps(flow: Any, step_id: str, step: dict[str, Any], people: _People) -> list[Gap]:
    """The chain ends nowhere when its last reassignment (or, with none, its notices)
    goes to nobody who can act."""
    levels = escalation_levels(step.get("config") or {})
    reassigns = [lvl for lvl in levels if lvl["action"] == "reassign"]
    last = (
        reassigns[-1]
        if reassigns
        else next((lvl for lvl in reversed(levels) if lvl.get("to")), None)
    )
    if last is None:
        return []
    targets = holders(last.get("to"))
    if any(people.can_act(h) for h in targets):
        return []
    verb = "reassigns to" if last["action"] == "reassign" else "notifies"
    to = ", ".join(h.label for h in targets) or "no one"
    message = (
        f"Step “{step.get('label') or step_id}”: its escalation chain ends nowhere — "
        f"the last level {verb} {to}, and nobody there can act."
    )
    return [Gap(flow.pk, flow.name, flow.slug, "dead_end_escalation", message, step_id)]
