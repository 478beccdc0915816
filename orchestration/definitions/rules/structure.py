"""Step kinds and ids, connections, start and end steps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from orchestration.definitions.problems import Problem, error, warning
from orchestration.definitions.rules import Subject, label


def check(subject: Subject) -> Iterator[Problem]:
    yield from _ids_and_kinds(subject)
    yield from _connections(subject)
    yield from _start_and_end(subject)
    yield from _outgoing(subject)


def _ids_and_kinds(subject: Subject) -> Iterator[Problem]:
    seen: set[str] = set()
    for step in subject.definition.get("steps") or []:
        step_id = step.get("id") if isinstance(step, dict) else None
        if not isinstance(step_id, str):
            continue
        if step_id in seen:
            yield error(
                "duplicate_step_id",
                f"Two steps have the id '{step_id}'. Each step needs its own id.",
                step_id=step_id,
                field="id",
            )
        seen.add(step_id)
    for step in subject.steps:
        if subject.kind(step) is None and step.get("kind"):  # an empty one: the schema says
            yield error(
                "unknown_kind",
                f"{label(step)} has the kind '{step.get('kind')}', which Podium does not know.",
                step_id=step["id"],
                field="kind",
            )


def _connections(subject: Subject) -> Iterator[Problem]:
    seen: Counter[tuple[str, str]] = Counter()
    for index, connection in subject.connections:
        source, target = connection["from"], connection["to"]
        where = f"Connection number {index + 1} ({source} → {target})"
        for end, step_id in (("from", source), ("to", target)):
            if not subject.has(step_id):
                yield error(
                    "dangling_connection",
                    f"{where} {'starts at' if end == 'from' else 'leads to'} '{step_id}', "
                    "but there is no step with that id.",
                    connection=index,
                    field=end,
                )
        if not (subject.has(source) and subject.has(target)):
            continue
        seen[(source, target)] += 1
        if seen[(source, target)] == 2:
            yield error(
                "duplicate_connection",
                f"{where} repeats another connection from '{source}' to '{target}'.",
                step_id=source,
                connection=index,
            )
        yield from _ends_of(subject, index, connection, where)


def _ends_of(subject: Subject, index: int, connection: dict, where: str) -> Iterator[Problem]:
    source = subject.graph.step(connection["from"]) or {}
    target = subject.graph.step(connection["to"]) or {}
    if target.get("kind") == "start":
        yield error(
            "into_start",
            f"{where} leads into the start step; nothing may lead back to the start.",
            step_id=target["id"],
            connection=index,
        )
    if source.get("kind") == "end":
        yield error(
            "out_of_end",
            f"{where} leaves an End step; a case stops at an End step.",
            step_id=source["id"],
            connection=index,
        )
    kind = subject.kind(source)
    if connection.get("condition") and kind is not None and not kind.conditional:
        yield warning(
            "condition_ignored",
            f"{where} has a condition, but conditions only choose the path out of "
            "'Choose a path', approval and AI decision steps; it is ignored here.",
            step_id=source["id"],
            connection=index,
            field="condition",
        )


def _start_and_end(subject: Subject) -> Iterator[Problem]:
    starts = [s for s in subject.steps if s.get("kind") == "start"]
    if not starts:
        yield error("no_start", "The flow has no Start step, so no case could begin.")
    for extra in starts[1:]:
        yield error(
            "many_starts",
            f"{label(extra)} is a second Start step; a flow has exactly one. "
            "Put several triggers on one Start step instead.",
            step_id=extra["id"],
        )
    if not any(s.get("kind") == "end" for s in subject.steps):
        yield error("no_end", "The flow has no End step, so no case could finish.")


def _outgoing(subject: Subject) -> Iterator[Problem]:
    for step in subject.steps:
        kind, outgoing = subject.kind(step), subject.graph.outgoing(step["id"])
        if kind is None:
            continue
        if kind.max_outgoing and len(outgoing) > kind.max_outgoing:
            yield error(
                "too_many_outgoing",
                f"{label(step)} ({kind.label}) can have only one outgoing connection; it has "
                f"{len(outgoing)}. Use 'Choose a path' or 'Split in parallel' to go several ways.",
                step_id=step["id"],
            )
        if kind.allows_outgoing and not outgoing and not subject.only_compensates(step["id"]):
            yield error(
                "dead_end",
                f"{label(step)} has no outgoing connection, so cases would stop there without "
                "finishing. Connect it to the next step or to an End step.",
                step_id=step["id"],
            )
        if sum(1 for c in outgoing if c.get("default")) > 1:
            yield error(
                "many_defaults",
                f"{label(step)} has more than one default path; keep exactly one.",
                step_id=step["id"],
            )
