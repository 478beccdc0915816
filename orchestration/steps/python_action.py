"""Named Python actions with input and output schemas, and the step that calls them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from orchestration.steps.base import Done, PermanentError, Result, StepContext, StepExecutor
from orchestration.steps.control import evaluate_or_fail
from orchestration.steps.registry import register


@dataclass(frozen=True)
class Action:
    name: str
    function: Callable[..., dict[str, Any]]
    label: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] = field(default_factory=dict)


ACTIONS: dict[str, Action] = {}


def action(
    name: str,
    *,
    label: str,
    description: str = "",
    input_schema: dict[str, Any] | None = None,
    output_schema: dict[str, Any] | None = None,
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register a function as an action flows can call by name."""

    def decorate(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        ACTIONS[name] = Action(
            name, function, label, description, input_schema or {}, output_schema or {}
        )
        return function

    return decorate


def schema_problems(schema: dict[str, Any], value: Any) -> list[str]:
    if not schema:
        return []
    errors = Draft202012Validator(schema).iter_errors(value)
    return [f"{'.'.join(map(str, e.absolute_path)) or 'value'}: {e.message}" for e in errors]


@register
class ActionStep(StepExecutor):
    kind = "action"
    external = True
    default_attempts = 3

    def execute(self, ctx: StepContext) -> Result:
        name = ctx.config.get("action", "")
        found = ACTIONS.get(name)
        if found is None:
            raise PermanentError(f"No action named '{name}' is registered.")
        arguments = {
            key: evaluate_or_fail(ctx, text, f"argument '{key}'")
            for key, text in (ctx.config.get("arguments") or {}).items()
        }
        if problems := schema_problems(found.input_schema, arguments):
            raise PermanentError(f"Action '{name}' got bad arguments: {'; '.join(problems)}")
        result = found.function(**arguments)
        output = {} if result is None else result  # an action that only does something
        if problems := schema_problems(found.output_schema, output):
            raise PermanentError(f"Action '{name}' gave a bad result: {'; '.join(problems)}")
        return Done(output=output)


@action(
    "podium.echo",
    label="Pass values on",
    description="Returns its arguments unchanged; useful for testing a flow.",
)
def echo(**arguments: Any) -> dict[str, Any]:
    return dict(arguments)
