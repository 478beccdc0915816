"""Forms of the editor: a step's properties (common fields plus its kind's settings,
built from the kind's config schema), a connection, publishing, YAML, test runs."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse_lazy

from orchestration.editor import palette, shape
from orchestration.forms import StyledForm

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
EXPRESSION_NAMES = {"condition", "expression", "when", "until", "key", "guard", "value"}
OWNER_NAMES = {"owner", "assignee", "assignees", "team", "review_team", "reviewers", "to",
               "escalate_to", "fallback_team", "recipients"}
# Settings the panel shows as a JSON box are easier to read with a hint.
JSON_HINT = "Written as JSON."


def format_duration(seconds: Any) -> str:
    if seconds in (None, ""):
        return ""
    seconds = float(seconds)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds) if seconds == int(seconds) else seconds}s"


class DurationField(forms.CharField):
    """“90s”, “15m”, “4h”, “2d”, “1w” → seconds."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "For example 30s, 15m, 4h, 2d.")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("placeholder", "e.g. 4h")
        self.widget.attrs.setdefault("inputmode", "text")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int | float):
            return format_duration(value)
        return value

    def clean(self, value: Any) -> int | None:
        value = super().clean(value)
        if not value:
            return None
        match = DURATION.match(value)
        if not match:
            raise forms.ValidationError(
                "Write a number and a unit: s (seconds), m (minutes), h (hours), d (days)."
            )
        seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2).lower()]
        if seconds <= 0:
            raise forms.ValidationError("The time must be longer than zero.")
        return int(seconds)


class ExpressionField(forms.CharField):
    """A CEL expression, checked as you type and again on save."""

    is_expression = True

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.widget.attrs.update({
            "class": "form-control font-monospace", "spellcheck": "false", "autocomplete": "off",
            "hx-post": reverse_lazy("orchestration:editor_check_expression"),
            "hx-trigger": "input changed delay:300ms, load", "hx-target": "next .expression-check",
            "hx-include": "this", "hx-swap": "innerHTML",
        })

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value:
            error = check_expression(value)
            if error:
                raise forms.ValidationError(error)


def check_expression(text: str) -> str:
    """'' when the expression compiles, else a message that says where the mistake is."""
    from orchestration.expressions import ExpressionError, compile_expression

    try:
        compile_expression(text)
    except ExpressionError as exc:
        position = getattr(exc, "position", None)
        where = f" (at character {position + 1})" if isinstance(position, int) else ""
        return f"{exc}{where}"
    return ""


def owner_choices() -> list[tuple[str, Any]]:
    teams = [(f"team:{name}", name) for name in Group.objects.order_by("name")
             .values_list("name", flat=True)]
    people = [
        (f"user:{u.username}", u.get_full_name() or u.username)
        for u in get_user_model().objects.filter(is_active=True).order_by("username")[:500]
    ]
    return [("", "— nobody yet —"), ("Teams", teams), ("People", people)]


def owner_label(value: str) -> str:
    if not value:
        return "nobody"
    kind, _, name = str(value).partition(":")
    if kind == "user":
        user = get_user_model().objects.filter(username=name).first()
        return (user.get_full_name() or user.username) if user else name
    return name or str(value)


def _title(name: str, spec: dict[str, Any]) -> str:
    return str(spec.get("title") or name.replace("_", " ").capitalize())


def _is_expression(name: str, spec: dict[str, Any]) -> bool:
    fmt = str(spec.get("format", "")) + str(spec.get("x-format", ""))
    return "expression" in fmt or "cel" in fmt or spec.get("x-expression") is True or (
        name in EXPRESSION_NAMES and spec.get("type") == "string"
    )


def _is_owner(name: str, spec: dict[str, Any]) -> bool:
    fmt = str(spec.get("format", "")) + str(spec.get("x-format", ""))
    return "owner" in fmt or name in OWNER_NAMES


def field_for(name: str, spec: dict[str, Any], required: bool) -> forms.Field:
    """A Django form field for one property of a kind's config schema."""
    kind = spec.get("type")
    options: dict[str, Any] = {"label": _title(name, spec), "required": required,
                               "help_text": spec.get("description", "")}
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in spec:
        choices = [(v, str(v).replace("_", " ").capitalize()) for v in spec["enum"]]
        return forms.TypedChoiceField(choices=([("", "—")] if not required else []) + choices,
                                      coerce=lambda v, _c=choices: next(
                                          (c for c, _ in _c if str(c) == v), v), **options)
    if kind == "string" and _is_owner(name, spec):
        return forms.ChoiceField(choices=owner_choices(), **options)
    if kind == "array" and _is_owner(name, spec) and (spec.get("items") or {}).get("type") == "string":
        options["help_text"] = options["help_text"] or "Hold Ctrl (⌘ on a Mac) to choose several."
        return forms.MultipleChoiceField(choices=owner_choices()[1:], **options)
    if kind == "string" and _is_expression(name, spec):
        return ExpressionField(**options)
    if kind == "string" and ("seconds" in name or spec.get("format") == "duration"):
        return DurationField(label=options["label"])
    if kind == "string":
        widget = forms.Textarea(attrs={"rows": 3}) if spec.get("maxLength", 0) > 200 else None
        return forms.CharField(widget=widget, max_length=spec.get("maxLength"), **options)
    if kind == "integer" and name.endswith("seconds"):
        return DurationField(label=_title(name.removesuffix("_seconds"), spec), required=required)
    if kind == "integer":
        return forms.IntegerField(min_value=spec.get("minimum"), max_value=spec.get("maximum"),
                                  **options)
    if kind == "number":
        return forms.FloatField(min_value=spec.get("minimum"), max_value=spec.get("maximum"),
                                **options)
    if kind == "boolean":
        options["required"] = False
        return forms.BooleanField(**options)
    options["help_text"] = (options["help_text"] + " " + JSON_HINT).strip()
    return forms.JSONField(widget=forms.Textarea(attrs={"rows": 4, "class":
                           "form-control font-monospace"}), **options)


class StepForm(StyledForm):
    """The properties of one step. Field names of kind settings are prefixed `config__`."""

    label = forms.CharField(max_length=120, help_text="What people see on the canvas.")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="In plain words: what this step does and why.",
    )
    owner = forms.ChoiceField(required=False, label="Accountable owner",
                              help_text="Who answers for this step and its exceptions.")
    retry_attempts = forms.IntegerField(
        required=False, min_value=1, max_value=20, label="Attempts",
        help_text="How many times to try before giving up.",
    )
    retry_backoff = DurationField(label="Wait between attempts")
    timeout_seconds = DurationField(label="Time limit")
    sla_seconds = DurationField(label="SLA", help_text="When this step counts as late.")
    error_path = forms.ChoiceField(required=False, label="If it fails, go to",
                                   help_text="The step that takes over when this one fails.")
    output_schema = forms.JSONField(
        required=False, label="Output schema",
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control font-monospace"}),
        help_text="JSON Schema the step's output must match. Leave empty to accept anything.",
    )
    connect_to = forms.ChoiceField(required=False, label="Add a connection to",
                                   help_text="The same as dragging from this step to another.")
    revision = forms.IntegerField(widget=forms.HiddenInput)

    COMMON = ("label", "description", "owner", "timeout_seconds", "sla_seconds", "error_path",
              "output_schema")

    def __init__(self, *args: Any, step: dict[str, Any], definition: dict[str, Any],
                 **kwargs: Any):
        self.step = step
        self.definition = definition
        self.kind = palette.kind(step.get("kind", ""))
        kwargs.setdefault("initial", self._initial())
        super().__init__(*args, **kwargs)
        others = [(s["id"], s.get("label") or s["id"]) for s in shape.steps(definition)
                  if s["id"] != step["id"]]
        self.fields["owner"].choices = owner_choices()
        self.fields["error_path"].choices = [("", "— fail the case —"), *others]
        targets = [(i, label) for i, label in others
                   if not palette.kind((shape.step_by_id(definition, i) or {}).get("kind", "")).is_start]
        self.fields["connect_to"].choices = [("", "—"), *targets]
        if self.kind.is_end:
            for name in ("retry_attempts", "retry_backoff", "timeout_seconds", "sla_seconds",
                         "error_path", "output_schema", "connect_to"):
                del self.fields[name]
        self.config_names = []
        schema = self.kind.config_schema
        required = set(schema.get("required") or [])
        for name, spec in (schema.get("properties") or {}).items():
            if not isinstance(spec, dict) or name in ("timeout_seconds",):
                continue
            field = field_for(name, spec, name in required)
            field.initial = (step.get("config") or {}).get(name, spec.get("default"))
            if isinstance(field, forms.JSONField) and field.initial is not None:
                field.initial = json.dumps(field.initial, indent=2)
            self.fields[f"config__{name}"] = field
            self.config_names.append(name)
        self.style_fields()

    def _initial(self) -> dict[str, Any]:
        retry = self.step.get("retry") or {}
        initial = {name: self.step.get(name) for name in self.COMMON}
        initial["retry_attempts"] = retry.get("attempts")
        initial["retry_backoff"] = retry.get("backoff_seconds")
        initial["label"] = initial["label"] or self.step["id"]
        return initial

    def common_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("label", "owner", "description") if n in self.fields]

    def reliability_fields(self) -> list[forms.BoundField]:
        names = ("retry_attempts", "retry_backoff", "timeout_seconds", "sla_seconds", "error_path")
        return [self[n] for n in names if n in self.fields]

    def config_fields(self) -> list[forms.BoundField]:
        return [self[f"config__{n}"] for n in self.config_names]

    def to_step(self) -> dict[str, Any]:
        """The step with this form's values; unknown keys of the step are kept."""
        data = self.cleaned_data
        step = copy.deepcopy(self.step)
        for name in self.COMMON:
            if name in self.fields:
                _set(step, name, data.get(name))
        if "retry_attempts" in self.fields:
            retry = {k: v for k, v in (("attempts", data.get("retry_attempts")),
                                       ("backoff_seconds", data.get("retry_backoff")))
                     if v not in (None, "")}
            _set(step, "retry", {**(step.get("retry") or {}), **retry} if retry else None)
        config = dict(step.get("config") or {})
        for name in self.config_names:
            value = data.get(f"config__{name}")
            if value in (None, "", []):
                config.pop(name, None)
            else:
                config[name] = value
        _set(step, "config", config or None)
        return step


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    if value in (None, "", [], {}):
        target.pop(key, None)
    else:
        target[key] = value


class ConnectionForm(StyledForm):
    condition = ExpressionField(
        required=False, label="Take this path when",
        help_text="A condition on the case data, for example data.amount > 1000.",
    )
    default = forms.BooleanField(required=False, label="Take this path when no other applies")
    label = forms.CharField(required=False, max_length=80, label="Label on the canvas",
                            help_text="Optional: a short name instead of the condition.")
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, connection: dict[str, Any], **kwargs: Any):
        self.connection = connection
        kwargs.setdefault("initial", {k: connection.get(k) for k in ("condition", "default",
                                                                     "label")})
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("default") and data.get("condition"):
            self.add_error("condition", "A default path has no condition: clear one of the two.")
        return data

    def to_connection(self) -> dict[str, Any]:
        conn = copy.deepcopy(self.connection)
        for key in ("condition", "label"):
            _set(conn, key, self.cleaned_data.get(key))
        _set(conn, "default", bool(self.cleaned_data.get("default")) or None)
        return conn


class PublishForm(StyledForm):
    note = forms.CharField(
        label="What changed, and why?",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder":
                                     "For example: approvals over 5,000 now go to Finance leads."}),
        max_length=2000,
        error_messages={"required": "Write a short note: it is kept with the version."},
    )


class YamlForm(StyledForm):
    file = forms.FileField(required=False, label="Upload a YAML file")
    text = forms.CharField(required=False, label="…or paste YAML",
                           widget=forms.Textarea(attrs={"rows": 10, "class":
                                                        "form-control font-monospace",
                                                        "spellcheck": "false"}))
    revision = forms.IntegerField(widget=forms.HiddenInput)

    MAX_BYTES = 512 * 1024

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError("The file is larger than 512 KB; is it a flow?")
            try:
                data["yaml"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not text (UTF-8); is it a flow?") from None
        elif data.get("text", "").strip():
            data["yaml"] = data["text"]
        else:
            raise forms.ValidationError("Choose a file or paste the YAML of a flow.")
        return data


class TestRunForm(StyledForm):
    input = forms.JSONField(
        label="Sample input",
        widget=forms.Textarea(attrs={"rows": 8, "class": "form-control font-monospace",
                                     "spellcheck": "false"}),
        help_text="The case data the test run starts with, as JSON.",
    )
    business_key = forms.CharField(required=False, max_length=200, label="Business key",
                                   initial="test-run")

    def clean_input(self) -> dict[str, Any]:
        value = self.cleaned_data["input"]
        if not isinstance(value, dict):
            raise forms.ValidationError("The input must be a JSON object: { … }.")
        return value
