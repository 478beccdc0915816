"""Form fields for a kind's settings, built from its config schema in the catalog.

Most properties map to a plain field. Lists and maps people edit often get a line-based
text box instead of JSON: expressions by name, escalation levels, triggers, a decision's
rules. Anything else structured falls back to JSON with a hint.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.forms.fields import InvalidJSONInput, JSONString

from orchestration import json_numbers
from orchestration.editor.fields import (
    DurationField,
    ExpressionField,
    check_expression,
    owner_choices,
)
from orchestration.forms import parse_json
from orchestration.json_numbers import FiniteJSONDecoder

EXPRESSION_NAMES = {"until", "key", "when", "condition"}
STEP_REF_NAMES = {"expiry_path", "on_timeout"}
EXPRESSION_LISTS = {"guards"}
NAME_EXPRESSION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.+?)\s*$")
ESCALATION_LINE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(?:min(?:utes)?)?\s+(notify|reassign)\s+(.+?)\s*$", re.IGNORECASE
)
RULE_LINE = re.compile(r"^\s*(.+?)\s*(?:=>|→|->)\s*([\w-]+)\s*(?:@\s*([01](?:\.\d+)?))?\s*$")
JSON_HINT = "Written as JSON."


# Plain names and hints for settings the catalog leaves undescribed.
LABELS = {
    "url": "Address (URL)",
    "qa_sample_rate": "Quality-check share",
    "never_automatic": "Outcomes never decided by AI alone",
    "review_team": "Review team",
    "expiry_path": "If nobody decides in time, go to",
    "on_timeout": "If nothing arrives in time, go to",
    "allow_request_changes": "Approvers may ask for changes",
    "allow_bulk": "Approvers may approve many at once",
    "shadow": "Shadow mode",
    "fields": "Fields it looks at",
    "to": "Send to",
    "assign": "Values",
    "n": "How many paths (for “n”)",
    "when_paused": "When calls to the service are paused",
}
HINTS = {
    "outcomes": "The possible results, one per line (e.g. approve, reject).",
    "fields": "The case data it looks at, one field name per line (e.g. amount).",
    "threshold": "Acts alone when at least this sure (0 to 1); below, a person decides.",
    "review_team": "The team that decides when the AI is unsure.",
    "guards": "Conditions that always send the case to a person, one per line.",
    "never_automatic": "One per line.",
    "shadow": "The AI proposes and it is recorded, but a person always decides.",
    "qa_sample_rate": "Share of automatic decisions a person also checks (0 to 1).",
    "assignees": "Who decides: one team (its members share the task) or one person.",
    "expiry_path": "Leave empty to let the task wait past its deadline.",
    "when_paused": "After repeated failures Podium pauses calls to a service for a while. "
    "Wait (the default) retries later; the error path goes on at once.",
    "to": "Team, person or email address, one per line (e.g. team:Finance).",
    "url": "May use values of the case: https://api.example.com/orders/{{ data.id }}",
    "event": "The event's name, e.g. supplier.delayed.",
    "flow": "The slug of the flow to start.",
    "action": "The name of an action your administrators registered.",
    "combine": "How several providers agree.",
}


def _title(name: str, spec: dict[str, Any]) -> str:
    return str(spec.get("title") or LABELS.get(name) or name.replace("_", " ").capitalize())


class LinesField(forms.CharField):
    """A list of short texts, one per line."""

    def __init__(self, *, expressions: bool = False, **kwargs: Any):
        self.expressions = expressions
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(str(v) for v in value) if isinstance(value, list) else value

    def clean(self, value: Any) -> list[str]:
        lines = [line.strip() for line in (super().clean(value) or "").splitlines()]
        lines = [line for line in lines if line]
        if self.expressions:
            for number, line in enumerate(lines, 1):
                if error := check_expression(line):
                    raise forms.ValidationError(f"Line {number}: {error}")
        return lines


class ExpressionMapField(forms.CharField):
    """Named expressions, one `name = expression` per line (set data, HTTP body, inputs)."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault(
            "widget",
            forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "font-monospace"}),
        )
        kwargs.setdefault(
            "help_text", "One per line: name = expression, e.g. total = data.amount * 2"
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return "\n".join(f"{k} = {v}" for k, v in value.items())
        return value

    def clean(self, value: Any) -> dict[str, str]:
        result: dict[str, str] = {}
        for number, line in enumerate((super().clean(value) or "").splitlines(), 1):
            if not line.strip():
                continue
            match = NAME_EXPRESSION.match(line)
            if not match:
                raise forms.ValidationError(f"Line {number}: write name = expression.")
            if error := check_expression(match.group(2)):
                raise forms.ValidationError(f"Line {number} ({match.group(1)}): {error}")
            result[match.group(1)] = match.group(2)
        return result


class EscalationField(forms.CharField):
    """Escalation levels, one per line: `240 notify team:Leads`, `480 reassign team:Heads`."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}))
        kwargs.setdefault(
            "help_text",
            "One level per line: minutes overdue, notify or "
            "reassign, and who. E.g. 240 notify team:Leads",
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            lines = []
            for level in value:
                who = level.get("to", "")
                who = " ".join(who) if isinstance(who, list) else who
                lines.append(
                    f"{level.get('after_minutes', '')} {level.get('action', '')} {who}".strip()
                )
            return "\n".join(lines)
        return value

    def clean(self, value: Any) -> list[dict[str, Any]]:
        levels = []
        for number, line in enumerate((super().clean(value) or "").splitlines(), 1):
            if not line.strip():
                continue
            match = ESCALATION_LINE.match(line)
            if not match:
                raise forms.ValidationError(
                    f"Line {number}: write minutes, notify or reassign, and who — "
                    "e.g. 240 notify team:Leads."
                )
            minutes = float(match.group(1))
            levels.append(
                {
                    "after_minutes": int(minutes) if minutes.is_integer() else minutes,
                    "action": match.group(2).lower(),
                    "to": match.group(3),
                }
            )
        return levels


class OneInAListField(forms.ChoiceField):
    """One team or person, kept as the one-item list the definition format writes."""

    def prepare_value(self, value: Any) -> Any:
        return value[0] if isinstance(value, list) and value else value

    def clean(self, value: Any) -> list[str]:
        chosen = super().clean(value)
        return [chosen] if chosen else []


class TriggersField(forms.CharField):
    """How a case starts, one per line: manual, webhook, schedule <cron>, event <name>."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}))
        kwargs.setdefault("label", "Starts")
        kwargs.setdefault(
            "help_text",
            "One per line: manual · webhook · schedule 0 9 * * 1-5 · event supplier.delayed",
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(
                " ".join(str(t.get(k, "")) for k in ("type", "cron", "event") if t.get(k))
                for t in value
                if isinstance(t, dict)
            )
        return value

    def clean(self, value: Any) -> list[dict[str, Any]]:
        triggers = []
        for number, line in enumerate((super().clean(value) or "").splitlines(), 1):
            kind, _, rest = line.strip().partition(" ")
            kind, rest = kind.lower(), rest.strip()
            if not kind:
                continue
            if kind in ("manual", "webhook") and not rest:
                triggers.append({"type": kind})
            elif kind == "schedule" and len(rest.split()) == 5:
                triggers.append({"type": "schedule", "cron": rest})
            elif kind == "event" and rest:
                triggers.append({"type": "event", "event": rest})
            else:
                raise forms.ValidationError(
                    f"Line {number}: write manual, webhook, schedule and five cron fields, or "
                    "event and its name."
                )
        return triggers


class RulesTableField(forms.CharField):
    """A decision table, one rule per line: `condition => outcome @ confidence`."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault(
            "widget",
            forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "font-monospace"}),
        )
        kwargs.setdefault(
            "help_text",
            "One rule per line, first match wins: condition => "
            "outcome @ confidence. E.g. data.amount < 100 => approve @ 0.95",
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(
                f"{r.get('when')} => {r.get('outcome')}"
                + (f" @ {r['confidence']}" if "confidence" in r else "")
                for r in value
            )
        return value

    def clean(self, value: Any) -> list[dict[str, Any]]:
        rules = []
        for number, line in enumerate((super().clean(value) or "").splitlines(), 1):
            if not line.strip():
                continue
            match = RULE_LINE.match(line)
            if not match:
                raise forms.ValidationError(f"Line {number}: write condition => outcome.")
            if error := check_expression(match.group(1)):
                raise forms.ValidationError(f"Line {number}: {error}")
            rule: dict[str, Any] = {"when": match.group(1), "outcome": match.group(2)}
            if match.group(3):
                rule["confidence"] = float(match.group(3))
            rules.append(rule)
        return rules


def _is_cel_map(spec: dict[str, Any]) -> bool:
    extra = spec.get("additionalProperties")
    return (
        spec.get("type") == "object"
        and isinstance(extra, dict)
        and extra.get("type") == "string"
        and extra.get("minLength") == 1
    )


def _pattern(spec: dict[str, Any]) -> str:
    return str(spec.get("pattern") or "")


def _choice_label(value: str) -> str:
    """ "take_error_path" → "Take error path"; a name in capitals ("POST") stays so."""
    return value if value.isupper() else value.replace("_", " ").capitalize()


def field_for(
    name: str, spec: dict[str, Any], required: bool, steps: list[tuple[str, str]]
) -> forms.Field:
    """A Django form field for one property of a kind's config schema."""
    options: dict[str, Any] = {
        "label": _title(name, spec),
        "required": required,
        "help_text": spec.get("description") or HINTS.get(name, ""),
    }
    kind = spec.get("type")
    items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
    if "enum" in spec:
        choices = [(str(v), _choice_label(str(v))) for v in spec["enum"]]
        return forms.ChoiceField(choices=([] if required else [("", "—")]) + choices, **options)
    if name in STEP_REF_NAMES:
        return forms.ChoiceField(choices=[("", "—"), *steps], **options)
    if kind == "string" and _pattern(spec).startswith("^team:"):
        teams = owner_choices()[1]
        return forms.ChoiceField(choices=[("", "— nobody —"), teams], **options)
    if kind == "string" and _pattern(spec).startswith("^(team|user)"):
        return forms.ChoiceField(choices=owner_choices(), **options)
    if kind == "array" and _pattern(items).startswith("^(team|user)"):
        if spec.get("maxItems") == 1:
            blank = [("", "— the step's owner —")]
            return OneInAListField(choices=blank + owner_choices()[1:], **options)
        options["help_text"] = options["help_text"] or "Ctrl-click (⌘ on a Mac) to choose several."
        return forms.MultipleChoiceField(choices=owner_choices()[1:], **options)
    if kind == "string" and name in EXPRESSION_NAMES:
        return ExpressionField(**options)
    if _is_cel_map(spec):
        return ExpressionMapField(label=options["label"], required=required)
    if name == "escalation" and kind == "array":
        return EscalationField(label="Escalation", required=required)
    if name == "triggers" and kind == "array":
        return TriggersField(required=required)
    if kind == "array" and items.get("type") == "string":
        return LinesField(
            expressions=name in EXPRESSION_LISTS,
            help_text=options["help_text"] or "One per line.",
            label=options["label"],
            required=required,
        )
    if kind in ("number", "integer") and name.endswith("_seconds"):
        return DurationField(label=_title(name.removesuffix("_seconds"), spec), required=required)
    if kind == "string":
        return forms.CharField(**options)
    if kind == "integer":
        return forms.IntegerField(
            min_value=spec.get("minimum"), max_value=spec.get("maximum"), **options
        )
    if kind == "number":
        return forms.FloatField(
            min_value=spec.get("minimum"), max_value=spec.get("maximum"), **options
        )
    if kind == "boolean":
        options["required"] = False
        return forms.BooleanField(**options)
    options["help_text"] = (options["help_text"] + " " + JSON_HINT).strip()
    return PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "font-monospace"}),
        **options,
    )


class PrettyJSONField(forms.JSONField):
    """JSON shown indented, so a structure reads line by line; only what Podium can keep
    in it (forms.parse_json: no NaN or infinity, no nesting or numbers too deep or long to
    store, valid Unicode without NUL), each refusal in words."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(decoder=FiniteJSONDecoder, **kwargs)

    def to_python(self, value: Any) -> Any:
        if self.disabled or not isinstance(value, str) or value in self.empty_values:
            return super().to_python(value)
        converted = parse_json(value)
        return JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        """What the box shows again after an error: what was typed, if it is not JSON
        Podium keeps (Django's own parse overflows the stack on deep nesting)."""
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        try:
            return json_numbers.loads(data)
        except json.JSONDecodeError:
            return InvalidJSONInput(data)

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""  # not set: an empty box, not the word "null"
        if isinstance(value, dict | list):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().prepare_value(value)


# --- The decision step's providers, as one provider's settings ---------------------------

PROVIDER_TYPES = [
    ("rules", "Rules (a decision table)"),
    ("learned", "Learned from past decisions"),
    ("llm", "Language model (LLM)"),
    ("python", "Python function"),
]


def provider_fields() -> dict[str, forms.Field]:
    return {
        "provider_type": forms.ChoiceField(
            choices=PROVIDER_TYPES,
            label="Provider",
            help_text="Who proposes the outcome. Several providers: edit the YAML.",
        ),
        "provider_table": RulesTableField(required=False, label="Rules"),
        "provider_endpoint": forms.CharField(
            required=False,
            label="LLM endpoint",
            help_text="The name of an endpoint set up by an administrator.",
        ),
        "provider_model": forms.CharField(required=False, label="Model"),
        "provider_function": forms.CharField(
            required=False, label="Function", help_text="A registered Python function."
        ),
    }


def provider_initial(providers: Any) -> dict[str, Any]:
    first = providers[0] if isinstance(providers, list) and providers else {}
    return {
        "provider_type": first.get("type", "rules"),
        "provider_table": first.get("table"),
        "provider_endpoint": first.get("endpoint"),
        "provider_model": first.get("model"),
        "provider_function": first.get("function"),
    }


def provider_from(data: dict[str, Any], form: forms.Form) -> dict[str, Any] | None:
    kind = data.get("provider_type")
    provider: dict[str, Any] = {"type": kind}
    needs = {
        "rules": ("provider_table", "Write at least one rule."),
        "llm": ("provider_endpoint", "Name the endpoint."),
        "python": ("provider_function", "Name the function."),
    }
    if kind in needs and not data.get(needs[kind][0]):
        form.add_error(needs[kind][0], needs[kind][1])
        return None
    for key in ("table", "endpoint", "model", "function"):
        value = data.get(f"provider_{key}")
        if value and (key != "table" or kind == "rules"):
            provider[key] = value
    return provider
