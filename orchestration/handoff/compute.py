"""The handoff map of a flow over a period: actors, the handoffs designed between them,
and what really passed — cases, median and p90 waiting time — from step runs and human
tasks. A handoff's waiting time runs from the moment the sender finished until the
receiver finished its step (or now, for work still waiting)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.utils import timezone

from orchestration.handoff import actors as actor_rules
from orchestration.handoff.actors import ROUTING_KINDS, Actor
from orchestration.models import Flow, FlowInstance, FlowVersion, StepRun

MAX_CASES = 5000
SLOWEST = 3
SLOW_SHARE = 0.5


@dataclass
class Passage:
    """One case passing one handoff."""

    instance_id: int
    business_key: str
    source_step: str
    target_step: str
    waited: float  # seconds
    open: bool
    rework: bool
    at: datetime


@dataclass
class Handoff:
    source: str
    target: str
    designed: bool = False
    rework: bool = False
    slow: bool = False
    step_pairs: set[tuple[str, str]] = field(default_factory=set)
    passages: list[Passage] = field(default_factory=list)
    source_label: str = ""
    target_label: str = ""

    @property
    def key(self) -> str:
        return f"{self.source}=>{self.target}"

    @property
    def cases(self) -> int:
        return len({p.instance_id for p in self.passages})

    @property
    def waits(self) -> list[float]:
        return sorted(p.waited for p in self.passages)

    @property
    def median(self) -> float | None:
        return median(self.waits) if self.passages else None

    @property
    def p90(self) -> float | None:
        waits = self.waits
        if not waits:
            return None
        return waits[min(len(waits) - 1, round(0.9 * (len(waits) - 1)))]

    @property
    def median_text(self) -> str:
        return format_wait(self.median)

    @property
    def p90_text(self) -> str:
        return format_wait(self.p90)

    @property
    def reworked(self) -> int:
        return len({p.instance_id for p in self.passages if p.rework})


@dataclass
class HandoffMap:
    flow: Flow
    version: FlowVersion | None
    since: datetime | None
    actors: dict[str, Actor]
    handoffs: dict[str, Handoff]
    highlights: list[dict[str, str]]
    case_count: int
    truncated: bool

    @property
    def has_runs(self) -> bool:
        return self.case_count > 0


def _steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in definition.get("steps") or [] if isinstance(s, dict)}


def _outgoing(definition: dict[str, Any]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = defaultdict(list)
    for conn in definition.get("connections") or []:
        result[conn.get("from")].append(conn.get("to"))
    for step in definition.get("steps") or []:
        for key in actor_rules.ERROR_PATH_KEYS:
            if step.get(key):
                result[step["id"]].append(step[key])
    return result


def _holders(
    steps: dict[str, dict[str, Any]],
    outgoing: dict[str, list[str]],
    start: str,
    back: set[tuple[str, str]],
) -> dict[str, bool]:
    """The next steps after `start` that hold work, looking through routing steps, each
    with whether the way there goes back to an earlier step (a designed rework loop)."""
    found: dict[str, bool] = {}
    seen: set[tuple[str, bool]] = set()
    todo = [(nxt, (start, nxt) in back) for nxt in outgoing.get(start, [])]
    while todo:
        step_id, looped = todo.pop()
        if (step_id, looped) in seen or step_id not in steps:
            continue
        seen.add((step_id, looped))
        if steps[step_id].get("kind") in ROUTING_KINDS:
            todo += [(n, looped or (step_id, n) in back) for n in outgoing.get(step_id, [])]
        else:
            found[step_id] = found.get(step_id, False) or looped
    return found


def _back_edges(
    steps: dict[str, dict[str, Any]], outgoing: dict[str, list[str]]
) -> set[tuple[str, str]]:
    """Connections that lead back to an earlier step: designed rework loops."""
    starts = [i for i, s in steps.items() if s.get("kind") == "start"] or list(steps)[:1]
    back, state = set(), {}

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in outgoing.get(node, []):
            if nxt not in steps:
                continue
            if state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                visit(nxt)
        state[node] = 2

    for start in starts:
        if start not in state:
            visit(start)
    return back


class _Builder:
    def __init__(self, definition: dict[str, Any], flow: Flow):
        self.steps = _steps(definition)
        self.outgoing = _outgoing(definition)
        self.actors: dict[str, Actor] = {}
        self.handoffs: dict[str, Handoff] = {}
        self.step_actor: dict[str, str] = {}
        flow_has_owner = bool(flow.owner_team_id or flow.owner_user_id)
        for step_id, step in self.steps.items():
            if step.get("kind") in ROUTING_KINDS:
                continue
            key, label, kind = actor_rules.actor_of(step)
            actor = self.actors.setdefault(key, Actor(key, label, kind))
            actor.steps.append(step_id)
            actor.highlights += actor_rules.gaps(step, flow_has_owner)
            self.step_actor[step_id] = key

    def handoff(self, source_step: str, target_step: str) -> Handoff | None:
        source, target = self.step_actor.get(source_step), self.step_actor.get(target_step)
        if source is None or target is None or source == target:
            return None
        key = f"{source}=>{target}"
        handoff = self.handoffs.setdefault(
            key,
            Handoff(
                source,
                target,
                source_label=self.actors[source].label,
                target_label=self.actors[target].label,
            ),
        )
        handoff.step_pairs.add((source_step, target_step))
        return handoff

    def design(self) -> None:
        back = _back_edges(self.steps, self.outgoing)
        for step_id in self.step_actor:
            for nxt, looped in _holders(self.steps, self.outgoing, step_id, back).items():
                handoff = self.handoff(step_id, nxt)
                if handoff:
                    handoff.designed = True
                    handoff.rework = handoff.rework or looped


def _visits(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Step runs of one instance, retries folded into one visit per arrival at a step."""
    visits: list[dict[str, Any]] = []
    for run in runs:
        last = visits[-1] if visits else None
        if last and last["step_id"] == run["step_id"] and run["attempt"] > 1:
            last.update(finished_at=run["finished_at"], status=run["status"])
            continue
        visits.append(dict(run))
    return visits


def _observe(
    builder: _Builder,
    instances: list[dict[str, Any]],
    runs: dict[int, list],
    tasks: dict[int, tuple[datetime, datetime | None]],
    now: datetime,
) -> None:
    for instance in instances:
        held = [
            v for v in _visits(runs.get(instance["id"], [])) if v["step_id"] in builder.step_actor
        ]
        seen: set[str] = set()
        for previous, current in itertools.pairwise(held):
            seen.add(previous["step_id"])
            handoff = builder.handoff(previous["step_id"], current["step_id"])
            if handoff is None:
                continue
            handed = previous["finished_at"] or current["created_at"]
            task = tasks.get(current["id"])
            done = (task[1] if task else None) or current["finished_at"]
            handoff.passages.append(
                Passage(
                    instance_id=instance["id"],
                    business_key=instance["business_key"],
                    source_step=previous["step_id"],
                    target_step=current["step_id"],
                    waited=max(0.0, ((done or now) - handed).total_seconds()),
                    open=done is None,
                    rework=current["step_id"] in seen,
                    at=handed,
                )
            )
            if current["step_id"] in seen:
                handoff.rework = True


def _human_tasks(run_ids: list[int]) -> dict[int, tuple[datetime, datetime | None]]:
    try:
        from approvals.models import HumanTask
    except ImportError:  # pragma: no cover - the approvals app is always installed here
        return {}
    result = {}
    for start in range(0, len(run_ids), 900):
        rows = HumanTask.objects.filter(step_run_id__in=run_ids[start : start + 900]).values_list(
            "step_run_id", "created_at", "decided_at"
        )
        for run_id, created, decided in rows:
            result[run_id] = (created, decided)
    return result


# Gaps the map finds itself; the accountability register adds the others (inactive
# owners, empty teams, approval queues nobody can claim, escalations that end nowhere).
OWN_GAP_CODES = {"no_owner", "no_fallback"}


def _register_gaps(builder: _Builder, flow: Flow) -> None:
    """Add the audit register's ownership gaps of the current version to their actors."""
    from audit.accountability import ownership_gaps

    for gap in ownership_gaps([flow]):
        actor = builder.actors.get(builder.step_actor.get(gap.step_id, ""))
        if gap.code in OWN_GAP_CODES or actor is None or gap.message in actor.highlights:
            continue
        actor.highlights.append(gap.message)


def _highlights(builder: _Builder) -> list[dict[str, str]]:
    found = []
    for actor in builder.actors.values():
        found += [{"kind": "gap", "actor": actor.key, "text": text} for text in actor.highlights]
    measured = [h for h in builder.handoffs.values() if h.passages and (h.p90 or 0) > 0]
    slowest = max((h.p90 or 0 for h in measured), default=0)
    for handoff in sorted(measured, key=lambda h: h.p90 or 0, reverse=True)[:SLOWEST]:
        # The slowest, and those nearly as slow; not every handoff of a small flow.
        if (handoff.p90 or 0) >= SLOW_SHARE * slowest:
            handoff.slow = True
            found.append(
                {
                    "kind": "slow",
                    "edge": handoff.key,
                    "text": f"Slow handoff: {handoff.source_label} → {handoff.target_label} "
                    f"(p90 {format_wait(handoff.p90)})",
                }
            )
    for handoff in builder.handoffs.values():
        if handoff.rework:
            found.append(
                {
                    "kind": "rework",
                    "edge": handoff.key,
                    "text": f"Work sent back: {builder.actors[handoff.source].label} → "
                    f"{builder.actors[handoff.target].label}",
                }
            )
    return found


def build(
    flow: Flow, version: FlowVersion | None, since: datetime | None, all_versions: bool = True
) -> HandoffMap:
    """The map of `flow`: designed from `version`, measured on cases started since `since`."""
    definition = (version.definition if version else None) or {}
    builder = _Builder(definition, flow)
    builder.design()
    instances_qs = FlowInstance.objects.filter(flow=flow)
    if since is not None:
        instances_qs = instances_qs.filter(created_at__gte=since)
    if version is not None and not all_versions:
        instances_qs = instances_qs.filter(version=version)
    instances = list(instances_qs.order_by("-id").values("id", "business_key")[: MAX_CASES + 1])
    truncated = len(instances) > MAX_CASES
    instances = instances[:MAX_CASES]
    ids = [i["id"] for i in instances]
    runs: dict[int, list] = defaultdict(list)
    for start in range(0, len(ids), 900):
        for run in (
            StepRun.objects.filter(instance_id__in=ids[start : start + 900])
            .order_by("instance_id", "id")
            .values(
                "id", "instance_id", "step_id", "attempt", "status", "created_at", "finished_at"
            )
        ):
            runs[run["instance_id"]].append(run)
    tasks = _human_tasks([r["id"] for rows in runs.values() for r in rows])
    _observe(builder, instances, runs, tasks, timezone.now())
    newest = flow.versions.filter(status="published").order_by("-number").first()
    if version is not None and version == newest:
        _register_gaps(builder, flow)
    return HandoffMap(
        flow=flow,
        version=version,
        since=since,
        actors=builder.actors,
        handoffs=builder.handoffs,
        highlights=_highlights(builder),
        case_count=len(instances),
        truncated=truncated,
    )


def period_start(period: str, now: datetime | None = None) -> datetime | None:
    days = {"7": 7, "30": 30, "90": 90, "365": 365}.get(period)
    return (now or timezone.now()) - timedelta(days=days) if days else None


def format_wait(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 1 else "<1s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h".replace(".0h", "h")
    return f"{seconds / 86400:.1f}d".replace(".0d", "d")
