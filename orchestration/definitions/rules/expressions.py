"""Expressions in a definition: do they parse, and do they read data that exists?"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from orchestration.definitions.problems import Problem, error, warning
from orchestration.definitions.rules import Subject, config_of, list_of
from orchestration.expressions import (
    ExpressionError,
    compile_expression,
    placeholders,
    referenced_paths,
    unclosed_placeholder,
)

# (config field, how its value holds expressions) per kind. "cel": the value is CEL;
# "cel_map": a mapping of names to CEL; "template": text with {{ }} placeholders.
KIND_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "http": (("url", "template"), ("headers", "template_map"), ("body", "cel_map")),
    "action": (("arguments", "cel_map"),),
    "set": (("assign", "cel_map"),),
    "notify": (("subject", "template"), ("body", "template")),
    "timer": (("until", "cel"),),
    "emit": (("key", "cel"), ("payload", "cel_map")),
    "wait": (("key", "cel"),),
    "subflow": (("input", "cel_map"),),
    "decision": (("guards", "cel_list"),),
}


@dataclass(frozen=True)
class Found:
    text: str
    field: str
    template: bool = False
    step_id: str | None = None
    connection: int | None = None
    checks_data: bool = True  # False when the expression sees something other than `data`


def check(subject: Subject) -> Iterator[Problem]:
    known = _known_fields(subject)
    step_ids = set(subject.graph.step_ids)
    for found in _all_expressions(subject):
        yield from _check_one(found, known, step_ids)


def _known_fields(subject: Subject) -> set[str]:
    schema = subject.definition.get("input_schema") or {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    known = set(properties) if isinstance(properties, dict) else set()
    for step in subject.steps:
        writes = step.get("writes")
        if isinstance(writes, list):
            known.update(w for w in writes if isinstance(w, str))
        assign = config_of(step).get("assign") if step.get("kind") == "set" else None
        if isinstance(assign, dict):
            known.update(assign)
    return known


def _all_expressions(subject: Subject) -> Iterator[Found]:
    key = subject.definition.get("business_key")
    if isinstance(key, str):
        yield Found(key, "business_key")
    for index, connection in subject.connections:
        condition = connection.get("condition")
        if isinstance(condition, str):
            yield Found(condition, "condition", step_id=connection["from"], connection=index)
    for step in subject.steps:
        config = step.get("config")
        if isinstance(config, dict):
            yield from _step_expressions(step, config)


def _step_expressions(step: dict[str, Any], config: dict[str, Any]) -> Iterator[Found]:
    step_id = step["id"]
    for name, form in KIND_FIELDS.get(step.get("kind", ""), ()):
        for field, text in _values(config.get(name), f"config.{name}", form):
            yield Found(text, field, template=form.startswith("template"), step_id=step_id)
    if step.get("kind") == "start":
        for i, trigger in enumerate(list_of(config.get("triggers"))):
            if isinstance(trigger, dict) and isinstance(trigger.get("key"), str):
                field = f"config.triggers[{i}].key"
                yield Found(trigger["key"], field, step_id=step_id, checks_data=False)
    if step.get("kind") == "decision":
        for i, provider in enumerate(list_of(config.get("providers"))):
            rows = provider.get("table") if isinstance(provider, dict) else None
            for j, row in enumerate(rows if isinstance(rows, list) else []):
                if isinstance(row, dict) and isinstance(row.get("when"), str):
                    field = f"config.providers[{i}].table[{j}].when"
                    yield Found(row["when"], field, step_id=step_id)


def _values(value: Any, field: str, form: str) -> Iterator[tuple[str, str]]:
    if form in ("cel", "template") and isinstance(value, str):
        yield field, value
    elif form in ("cel_map", "template_map") and isinstance(value, dict):
        for name, text in value.items():
            if isinstance(text, str):
                yield f"{field}.{name}", text
    elif form == "cel_list" and isinstance(value, list):
        for i, text in enumerate(value):
            if isinstance(text, str):
                yield f"{field}[{i}]", text


def _check_one(found: Found, known: set[str], step_ids: set[str]) -> Iterator[Problem]:
    where = {"step_id": found.step_id, "connection": found.connection, "field": found.field}
    parts = placeholders(found.text) if found.template else [(0, found.text)]
    if found.template and (unclosed := unclosed_placeholder(found.text)) is not None:
        yield error(
            "expression_invalid",
            f"{_place(found)}: the placeholder at character {unclosed + 1} of the text is "
            "not closed with }}, so it would be sent as it is.",
            **where,
        )
    for offset, text in parts:
        try:
            compile_expression(text)
        except ExpressionError as exc:
            yield _invalid(found, exc, offset, where)
            continue
        if found.checks_data:
            yield from _unknown_paths(found, text, known, step_ids, where)


def _invalid(found: Found, exc: ExpressionError, offset: int, where: dict) -> Problem:
    message = f"{_place(found)}: {exc.message}"
    if found.template and exc.position is not None:
        message += f" (character {offset + exc.position + 1} of the text)"
    return error("expression_invalid", message, **where)


def _unknown_paths(
    found: Found, text: str, known: set[str], step_ids: set[str], where: dict
) -> Iterator[Problem]:
    for path in sorted(referenced_paths(text)):
        root, _, rest = path.partition(".")
        name = rest.split(".")[0]
        if not name:
            continue
        if root == "data" and name not in known:
            yield warning(
                "unknown_data_field",
                f"{_place(found)} reads 'data.{name}', but no input field or step provides "
                f"'{name}'. Add it to the input schema or to a step's 'writes'.",
                **where,
            )
        elif root == "steps" and name not in step_ids:
            yield warning(
                "unknown_step_output",
                f"{_place(found)} reads the output of step '{name}', which does not exist.",
                **where,
            )


def _place(found: Found) -> str:
    if found.connection is not None:
        return f"The condition of connection number {found.connection + 1} (from '{found.step_id}')"
    if found.step_id is not None:
        return f"Step '{found.step_id}', field '{found.field}'"
    return f"The flow's '{found.field}'"
