"""Each step on its own: owner, error path, human fallback, named paths, config, schemas."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from approvals.stepconfig import outcome_ids
from orchestration.definitions.catalog import CATALOG
from orchestration.definitions.cron import cron_problem
from orchestration.definitions.messages import describe, dotted_path, input_problem
from orchestration.definitions.problems import Problem, error, warning
from orchestration.definitions.rules import Subject, config_of, label, list_of
from orchestration.json_schemas import schema_errors, unusable

# Steps that only shape the path; they do no work anyone answers for.
OWNER_NOT_NEEDED = frozenset({"start", "branch", "parallel", "join", "end"})
OWNER_REQUIRED = frozenset({"http", "action", "set", "notify", "subflow", "approval", "decision"})
PATH_NAMES = {
    "on_error": "error path",
    "compensation": "compensation step",
    "config.expiry_path": "expiry path",
    "config.on_timeout": "timeout path",
}


def check(subject: Subject) -> Iterator[Problem]:
    yield from _input_schema(subject.definition)
    for step in subject.steps:
        yield from _owner(step)
        yield from _error_path(subject, step)
        yield from _references(subject, step)
        yield from _config(step)
        yield from _output_schema(step)
        yield from _decision_outcomes(step)
    yield from _schedules(subject)
    yield from _starts_itself(subject)


def _schedules(subject: Subject) -> Iterator[Problem]:
    """Each schedule trigger must be one beat can run, and start cases whose input (its
    `input`, else nothing) fits the flow's input schema: nobody is there to fill a form."""
    start = subject.graph.step(subject.graph.start_step_id or "") or {}
    schema = subject.definition.get("input_schema")
    for index, trigger in enumerate(list_of(config_of(start).get("triggers"))):
        if not isinstance(trigger, dict) or trigger.get("type") != "schedule":
            continue
        field = f"config.triggers[{index}]"
        cron = str(trigger.get("cron") or "")
        if problem := cron_problem(cron):
            yield error(
                "schedule_invalid",
                f"The schedule '{cron}' cannot run: {problem}.",
                step_id=start["id"],
                field=f"{field}.cron",
            )
        given = trigger.get("input", {})
        if not isinstance(schema, dict) or not isinstance(given, dict):
            continue
        if _schema_problem(schema, "The input schema"):
            continue  # reported on its own
        found = sorted(
            schema_errors(Draft202012Validator(schema), given), key=lambda e: list(e.path)
        )
        if found:
            yield error(
                "schedule_input",
                f"The schedule '{cron}' starts cases with an input that does not fit the "
                f"flow's input schema: {input_problem(found[0])} Give the trigger an 'input' "
                "with the fields the flow needs.",
                step_id=start["id"],
                field=f"{field}.input",
            )


def _starts_itself(subject: Subject) -> Iterator[Problem]:
    """A flow that starts on an event it emits itself starts a case from every case, each
    one more, without end."""
    start = subject.graph.step(subject.graph.start_step_id or "") or {}
    starts_on = {
        trigger.get("event")
        for trigger in list_of(config_of(start).get("triggers"))
        if isinstance(trigger, dict) and trigger.get("type") == "event"
    }
    for step in subject.steps:
        event = config_of(step).get("event")
        if step.get("kind") == "emit" and isinstance(event, str) and event in starts_on:
            yield warning(
                "starts_itself",
                f"{label(step)} sends '{event}', which starts this flow: every case would "
                "start another, without end. Send another event, or start the flow on "
                "another.",
                step_id=step["id"],
                field="config.event",
            )


def _decision_outcomes(step: dict[str, Any]) -> Iterator[Problem]:
    """An AI decision's rules and its "never automatic" list name outcomes it can give: a
    misspelt one would never match (and the outcome it meant would be taken alone)."""
    config = config_of(step)
    if step.get("kind") != "decision" or not isinstance(config.get("outcomes", []), list):
        return
    outcomes = outcome_ids(config)  # approve and reject when the step names none
    named = [("config.never_automatic", o) for o in list_of(config.get("never_automatic"))]
    for p, provider in enumerate(list_of(config.get("providers"))):
        rows = provider.get("table") if isinstance(provider, dict) else None
        for r, row in enumerate(rows if isinstance(rows, list) else []):
            if isinstance(row, dict) and "outcome" in row:
                named.append((f"config.providers[{p}].table[{r}].outcome", row["outcome"]))
    choices = ", ".join(f"'{o}'" for o in outcomes)
    for field, outcome in named:
        if outcome not in outcomes:
            yield error(
                "unknown_outcome",
                f"{label(step)} names the outcome '{outcome}', which is not one of its "
                f"outcomes ({choices}).",
                step_id=step["id"],
                field=field,
            )


def _owner(step: dict[str, Any]) -> Iterator[Problem]:
    kind = step.get("kind")
    if step.get("owner") or kind in OWNER_NOT_NEEDED or kind not in CATALOG:
        return
    message = (
        f"{label(step)} has no owner. Name the team or person who answers for it "
        "(for example 'team:Finance')."
    )
    if kind in OWNER_REQUIRED:
        yield error("missing_owner", message, step_id=step["id"], field="owner")
    else:
        yield warning("missing_owner", message, step_id=step["id"], field="owner")


def _error_path(subject: Subject, step: dict[str, Any]) -> Iterator[Problem]:
    kind = subject.kind(step)
    if kind is not None and kind.external and not step.get("on_error"):
        yield warning(
            "no_error_path",
            f"{label(step)} calls outside Podium but has no error path; when it fails, the case "
            "stops and waits for the exception owner. Choose a step to go to on error.",
            step_id=step["id"],
            field="on_error",
        )
    if config_of(step).get("when_paused") == "take_error_path" and not step.get("on_error"):
        yield error(
            "no_error_path_when_paused",
            f"{label(step)} should take its error path when calls to the service are paused, "
            "but it has none. Choose a step to go to on error, or let it wait.",
            step_id=step["id"],
            field="on_error",
        )
    if step.get("kind") == "decision" and not config_of(step).get("review_team"):
        yield error(
            "no_human_fallback",
            f"{label(step)} is an AI decision without a review team: when it is unsure nobody "
            "could decide. Set 'review_team' (for example 'team:Finance').",
            step_id=step["id"],
            field="config.review_team",
        )


def _references(subject: Subject, step: dict[str, Any]) -> Iterator[Problem]:
    for field, target in subject.references(step):
        if not subject.has(target):
            yield error(
                "unknown_step_reference",
                f"{label(step)} names '{target}' as its {PATH_NAMES[field]}, "
                "but there is no step with that id.",
                step_id=step["id"],
                field=field,
            )
        elif target == subject.graph.start_step_id:
            yield error(
                "into_start",
                f"{label(step)} names the start step as its {PATH_NAMES[field]}; "
                "nothing may lead back to the start.",
                step_id=step["id"],
                field=field,
            )
        elif field == "compensation" and (subject.graph.step(target) or {}).get("kind") == "end":
            yield error(
                "compensation_end",
                f"{label(step)} names the end step '{target}' as its compensation step: an "
                "end step finishes the case, it cannot undo what this step did. Name a step "
                "that undoes it.",
                step_id=step["id"],
                field=field,
            )


@cache
def _config_validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(CATALOG[kind].config_schema)


def _config(step: dict[str, Any]) -> Iterator[Problem]:
    kind, config = step.get("kind"), step.get("config", {})
    if kind not in CATALOG or not isinstance(config, dict):
        return
    for found in sorted(_config_validator(kind).iter_errors(config), key=lambda e: list(e.path)):
        field = dotted_path(["config", *found.absolute_path]) or "config"
        named = field
        if found.validator == "required":
            missing = [n for n in found.validator_value if n not in found.instance]
            named = f"{field}.{missing[0]}" if missing else field
        yield error(
            "config_invalid",
            describe(found, label(step), field),
            step_id=step["id"],
            field=named,
        )


def _schema_problem(schema: Any, where: str) -> str | None:
    if not isinstance(schema, dict):
        return None
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        place = ".".join(str(p) for p in exc.path)
        return f"{where} is not a valid JSON Schema" + (f" (at '{place}')" if place else "") + "."
    ref = _unresolvable_ref(schema)
    if ref is not None:
        return (
            f"{where} refers to '{ref}', which it does not hold: Podium reads a schema on its "
            "own, so a $ref must point inside it (for example #/$defs/address)."
        )
    why = unusable(schema)
    return f"{where} cannot check anything: it {why}." if why else None


def _unresolvable_ref(schema: dict[str, Any]) -> str | None:
    """The first $ref or $dynamicRef in `schema` that does not lead to a part of it (a
    validator would raise on it at the first case that reaches it). Each is looked up
    from where it stands: under an $id, relative to that."""
    registry = Registry().with_resource("", DRAFT202012.create_resource(schema)).crawl()
    stack: list[tuple[Any, Any]] = [(schema, registry.resolver())]
    while stack:
        item, resolver = stack.pop()
        if isinstance(item, dict):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(item))
            for key in ("$ref", "$dynamicRef"):
                ref = item.get(key)
                if isinstance(ref, str):
                    try:
                        resolver.lookup(ref)
                    except Unresolvable:
                        return ref
            stack.extend((child, resolver) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, resolver) for child in item)
    return None


def _input_schema(definition: dict[str, Any]) -> Iterator[Problem]:
    schema = definition.get("input_schema")
    message = _schema_problem(schema, "The input schema")
    if message:
        yield error("input_schema_invalid", message, field="input_schema")
    elif isinstance(schema, dict) and schema.get("type", "object") != "object":
        yield error(
            "input_schema_invalid",
            "The input schema must describe an object (type: object): a case's input is a set "
            "of named fields.",
            field="input_schema.type",
        )


def _output_schema(step: dict[str, Any]) -> Iterator[Problem]:
    message = _schema_problem(
        step.get("output_schema"), f"The output schema of step '{step['id']}'"
    )
    if message:
        yield error("output_schema_invalid", message, step_id=step["id"], field="output_schema")
