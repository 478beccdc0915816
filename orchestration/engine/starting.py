"""Starting a case: validate the input, create the instance, route past the start step."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from jsonschema import Draft202012Validator

from audit.chain import Actor
from orchestration.definitions.messages import input_problem
from orchestration.engine import dispatch
from orchestration.engine import events as ev
from orchestration.engine.errors import InputInvalid, NotAllowedNow
from orchestration.engine.routing import arrive, next_steps
from orchestration.engine.transition import Transition
from orchestration.expressions import ExpressionError, NotAKey, build_context, evaluate, key_text
from orchestration.json_schemas import UnusableSchema, schema_errors
from orchestration.models import FlowInstance, FlowVersion, StepRun, StepStatus, VersionStatus
from orchestration.steps.base import StepError

_VALIDATORS: dict[int, Draft202012Validator] = {}


def input_problems(version: FlowVersion, data: Any) -> list[str]:
    validator = _VALIDATORS.get(version.pk)
    if validator is None:
        schema = version.definition.get("input_schema") or {"type": "object"}
        validator = _VALIDATORS.setdefault(version.pk, Draft202012Validator(schema))
    if not isinstance(data, dict):
        return ["The input must be an object of named fields."]
    try:
        found = schema_errors(validator, data)
    except UnusableSchema as exc:
        return [f"The flow's input schema cannot check the input: it {exc}."]
    return [input_problem(e) for e in sorted(found, key=lambda e: list(e.absolute_path))]


# Whole numbers beyond this are left whole: a decimal would not hold them exactly.
_EXACT_IN_A_DECIMAL = 2**53


def as_declared(schema: Any, value: Any) -> Any:
    """The input with a whole number given where the input schema declares a decimal
    ("type": "number") made a decimal: the flow's expressions then compute with it as its
    author wrote them (`data.amount * 2.0`), where CEL refuses to mix whole numbers and
    decimals (100 * 2.0), and a form or a system sending 100 for 100.0 cannot break it."""
    if not isinstance(schema, dict) or isinstance(value, bool):
        return value
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if isinstance(value, int):
        decimal = "number" in kinds and "integer" not in kinds
        return float(value) if decimal and abs(value) < _EXACT_IN_A_DECIMAL else value
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        properties = schema["properties"]
        return {k: as_declared(properties.get(k), v) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [as_declared(schema["items"], item) for item in value]
    return value


def business_key_for(version: FlowVersion, data: dict[str, Any]) -> str:
    expression = version.definition.get("business_key")
    if not expression:
        return ""
    try:
        return key_text(evaluate(expression, build_context(data, {})))[:200]
    except ExpressionError as exc:
        problem = f"The business key '{expression}' could not be worked out: {exc}"
        raise InputInvalid([problem]) from exc
    except NotAKey as exc:
        raise InputInvalid([f"The business key '{expression}' {exc}."]) from None


def start_instance(
    version: FlowVersion,
    input: dict[str, Any],
    *,
    trigger: str,
    actor: Actor,
    started_by: Any = None,
    business_key: str = "",
    idempotency_key: str | None = None,
    parent_step_run: StepRun | None = None,
) -> FlowInstance:
    if version.status != VersionStatus.PUBLISHED:
        state = "retired" if version.status == VersionStatus.RETIRED else "a draft"
        raise NotAllowedNow(
            f"Version {version.number} is {state}; only a published version can start new cases."
        )
    if idempotency_key:
        existing = FlowInstance.objects.filter(
            flow_id=version.flow_id, idempotency_key=idempotency_key
        ).first()
        if existing:
            existing.replayed = True  # type: ignore[attr-defined]
            return existing
    if problems := input_problems(version, input):
        raise InputInvalid(problems)
    input = as_declared(version.definition.get("input_schema"), input)
    key = business_key or business_key_for(version, input)
    try:
        with transaction.atomic():
            return _create(
                version, input, trigger, actor, started_by, key, idempotency_key, parent_step_run
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = FlowInstance.objects.get(
            flow_id=version.flow_id, idempotency_key=idempotency_key
        )
        existing.replayed = True  # type: ignore[attr-defined]
        return existing


def _create(
    version: FlowVersion,
    data: dict[str, Any],
    trigger: str,
    actor: Actor,
    started_by: Any,
    business_key: str,
    idempotency_key: str | None,
    parent_step_run: StepRun | None,
) -> FlowInstance:
    now = timezone.now()
    instance = FlowInstance.objects.create(
        flow_id=version.flow_id,
        version=version,
        trigger=trigger,
        input=data,
        data=dict(data),
        business_key=business_key,
        started_by=started_by,
        idempotency_key=idempotency_key,
        parent_step_run=parent_step_run,
    )
    tx = Transition(instance, actor, now)
    start = tx.step(tx.graph.start_step_id or "")
    tx.new_run(
        start["id"],
        status=StepStatus.SUCCEEDED,
        started_at=now,
        finished_at=now,
        actor=actor.label[:150],
    )
    tx.event(ev.instance_started(instance, actor))
    try:
        for target in next_steps(tx, start):
            arrive(tx, target, start["id"])
    except StepError as exc:
        raise InputInvalid([exc.message]) from exc
    tx.change(outputs={start["id"]: {}})
    dispatch.after_commit(tx.save())
    instance.replayed = False  # type: ignore[attr-defined]
    return instance
