"""The catalog of step kinds: the design-time facts the editor and lint need.

The engine keeps its own executor registry (orchestration/steps/registry.py) keyed
by the same names; this module knows nothing about running steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestration.definitions.durations import LONGEST_MINUTES, LONGEST_SECONDS, SECONDS

CATEGORIES = ("Triggers", "Tasks", "Logic", "People & AI", "Events", "End")

_CEL = {"type": "string", "minLength": 1}
_CEL_MAP = {"type": "object", "additionalProperties": _CEL}
_TARGET = {"type": "string", "pattern": r"^(team|user):.+$"}
# Whom an email goes to: a team, a person, or an address.
_RECIPIENT = {"type": "string", "pattern": r"^((team|user):.+|[^@\s]+@[^@\s]+)$"}
_STEP_REF = {"type": "string", "minLength": 1}
_OUTCOMES = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
        "patternProperties": {"^x-": {}},  # the integrator's own fields, as everywhere
        **extra,
    }


def _when(prop: str, value: str, required: list[str]) -> dict[str, Any]:
    condition = {"properties": {prop: {"const": value}}, "required": [prop]}
    return {"if": condition, "then": {"required": required}}


TRIGGER = _obj(
    {
        "type": {"enum": ["manual", "webhook", "schedule", "event"]},
        "cron": {"type": "string", "pattern": r"^\S+(\s+\S+){4}$"},
        "event": {"type": "string", "minLength": 1},
        "key": _CEL,
        "input": {"type": "object"},  # what a schedule's cases start with
    },
    ("type",),
    allOf=[_when("type", "schedule", ["cron"]), _when("type", "event", ["event"])],
)

PROVIDER = _obj(
    {
        "type": {"enum": ["rules", "learned", "llm", "python"]},
        "table": {
            "type": "array",
            "items": _obj(
                {
                    "when": _CEL,
                    "outcome": {"type": "string", "minLength": 1},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                },
                ("when", "outcome"),
            ),
        },
        "endpoint": {"type": "string", "minLength": 1},
        "function": {"type": "string", "minLength": 1},
        "model": {"type": "string"},
    },
    ("type",),
    allOf=[
        _when("type", "rules", ["table"]),
        _when("type", "llm", ["endpoint"]),
        _when("type", "python", ["function"]),
    ],
)

ESCALATION = _obj(
    {
        # Whole minutes: the inbox counts escalation stages in minutes.
        "after_minutes": {"type": "integer", "minimum": 1, "maximum": LONGEST_MINUTES},
        "action": {"enum": ["notify", "reassign"]},
        # One team or person (the inbox tells or hands the task to one).
        "to": {"anyOf": [_TARGET, {"type": "array", "items": _TARGET, "maxItems": 1}]},
    },
    ("after_minutes", "action"),
    allOf=[_when("action", "reassign", ["to"])],
)

_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}


@dataclass(frozen=True)
class StepKind:
    name: str
    label: str
    icon: str
    description: str
    category: str
    config_schema: dict[str, Any] = field(default_factory=lambda: _obj({}), hash=False)
    external: bool = False  # calls outside Podium: should have an error path
    waits: bool = False  # waits for a person, a timer, an event or a subflow
    allows_incoming: bool = True
    allows_outgoing: bool = True
    max_outgoing: int | None = 1  # None: any number
    conditional: bool = False  # its outgoing connections may carry conditions


_KINDS = [
    StepKind(
        "start",
        "Start",
        "ti-player-play",
        "Where a case begins: by hand, from a webhook, on a schedule or on an event.",
        "Triggers",
        _obj({"triggers": {"type": "array", "items": TRIGGER}}),
        allows_incoming=False,
    ),
    StepKind(
        "http",
        "Call a web service",
        "ti-world-www",
        "Sends a request to another system and keeps its answer.",
        "Tasks",
        _obj(
            {
                "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                "url": {"type": "string", "pattern": r"^(https?://|\{\{)"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": _CEL_MAP,
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
                "max_response_bytes": {"type": "integer", "minimum": 1},
                "success_statuses": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 100, "maximum": 599},
                },
                "when_paused": {"enum": ["wait", "take_error_path"]},
            },
            ("url",),
        ),
        external=True,
    ),
    StepKind(
        "action",
        "Run an action",
        "ti-bolt",
        "Runs one of the actions your administrators have registered.",
        "Tasks",
        _obj({"action": {"type": "string", "minLength": 1}, "arguments": _CEL_MAP}, ("action",)),
        external=True,
    ),
    StepKind(
        "set",
        "Set data",
        "ti-pencil",
        "Computes values and stores them in the case's data.",
        "Tasks",
        _obj(
            {"assign": {**_CEL_MAP, "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}}},
        ),
    ),
    StepKind(
        "notify",
        "Send a message",
        "ti-mail",
        "Emails a team, a person or an address.",
        "Tasks",
        _obj(
            {
                "to": {"type": "array", "items": _RECIPIENT, "minItems": 1},
                "subject": {"type": "string"},
                "body": {"type": "string"},
            },
            ("to",),
        ),
    ),
    StepKind(
        "subflow",
        "Run another flow",
        "ti-sitemap",
        "Starts another published flow and waits until it finishes.",
        "Tasks",
        _obj({"flow": {"type": "string", "minLength": 1}, "input": _CEL_MAP}, ("flow",)),
        external=True,
        waits=True,
    ),
    StepKind(
        "branch",
        "Choose a path",
        "ti-arrows-split-2",
        "Takes the first path whose condition holds, or the default path.",
        "Logic",
        max_outgoing=None,
        conditional=True,
    ),
    StepKind(
        "parallel",
        "Split in parallel",
        "ti-arrows-split",
        "Takes every outgoing path at the same time.",
        "Logic",
        max_outgoing=None,
    ),
    StepKind(
        "join",
        "Wait for paths",
        "ti-arrows-join",
        "Continues when all, any, or a number of incoming paths have arrived.",
        "Logic",
        _obj(
            {"mode": {"enum": ["all", "any", "n"]}, "n": {"type": "integer", "minimum": 1}},
            allOf=[_when("mode", "n", ["n"])],
        ),
    ),
    StepKind(
        "timer",
        "Wait for a time",
        "ti-clock",
        "Pauses the case for a while or until a moment.",
        "Events",
        _obj(
            {"duration_seconds": SECONDS, "until": _CEL},
            oneOf=[{"required": ["duration_seconds"]}, {"required": ["until"]}],
        ),
        waits=True,
    ),
    StepKind(
        "emit",
        "Send an event",
        "ti-broadcast",
        "Announces a business event other flows can wait for or start on.",
        "Events",
        _obj(
            {"event": {"type": "string", "minLength": 1}, "key": _CEL, "payload": _CEL_MAP},
            ("event",),
        ),
    ),
    StepKind(
        "wait",
        "Wait for an event",
        "ti-hourglass",
        "Pauses the case until a matching event arrives, or gives up after a time.",
        "Events",
        _obj(
            {
                "event": {"type": "string", "minLength": 1},
                "key": _CEL,
                "timeout_seconds": SECONDS,
                "window_seconds": {"type": "number", "minimum": 0, "maximum": LONGEST_SECONDS},
                "on_timeout": _STEP_REF,
            },
            ("event",),
        ),
        waits=True,
    ),
    StepKind(
        "approval",
        "Ask for approval",
        "ti-user-check",
        "A person decides; overdue requests escalate by themselves.",
        "People & AI",
        _obj(
            {
                # One team or one person: a team shares the task among its members.
                "assignees": {"type": "array", "items": _TARGET, "minItems": 1, "maxItems": 1},
                "outcomes": _OUTCOMES,
                "allow_request_changes": {"type": "boolean"},
                "allow_bulk": {"type": "boolean"},
                "escalation": {"type": "array", "items": ESCALATION},
                "expiry_path": _STEP_REF,
            },
        ),
        waits=True,
        max_outgoing=None,
        conditional=True,
    ),
    StepKind(
        "decision",
        "AI decision",
        "ti-brain",
        "Proposes an outcome with a confidence; unsure or risky cases go to people.",
        "People & AI",
        _obj(
            {
                "outcomes": _OUTCOMES,
                "fields": {"type": "array", "items": {"type": "string"}},
                "providers": {"type": "array", "items": PROVIDER, "minItems": 1},
                "combine": {"enum": ["majority", "highest", "override"]},
                "threshold": _PROBABILITY,
                "bands": _obj({"auto_above": _PROBABILITY, "escalate_below": _PROBABILITY}),
                "guards": {"type": "array", "items": _CEL},
                "never_automatic": {"type": "array", "items": {"type": "string"}},
                "review_team": {"type": "string", "pattern": r"^team:.+$"},
                "shadow": {"type": "boolean"},
                "qa_sample_rate": _PROBABILITY,
            },
            ("providers",),
        ),
        waits=True,
        max_outgoing=None,
        conditional=True,
    ),
    StepKind(
        "end",
        "End",
        "ti-flag-3",
        "Where a case finishes, as a success or a failure.",
        "End",
        _obj({"result": {"enum": ["success", "failure"]}, "reason": {"type": "string"}}),
        allows_outgoing=False,
        max_outgoing=0,
    ),
]

CATALOG: dict[str, StepKind] = {kind.name: kind for kind in _KINDS}
# The kinds that choose one path out: the first connection whose condition holds, else
# the default (the lint checks them so; the engine routes them so).
EXCLUSIVE = frozenset(kind.name for kind in _KINDS if kind.conditional)


def get(name: str) -> StepKind | None:
    return CATALOG.get(name)
