"""Forms of the editor: a step's properties (common fields plus its kind's settings from
the catalog), a connection, publishing, YAML, test runs."""

from __future__ import annotations

import copy
from typing import Any

from django import forms

from orchestration.editor import config_fields, palette, shape
from orchestration.editor.fields import DurationField, ExpressionField, owner_choices, with_current
from orchestration.forms import ImportYamlForm, StyledForm

# Step settings the common part of the panel already covers.
SKIPPED_CONFIG = {"timeout_seconds"}


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    if value in (None, "", [], {}):
        target.pop(key, None)
    else:
        target[key] = value


class StepForm(StyledForm):
    """The properties of one step. Kind settings are fields named `config__<name>`."""

    label = forms.CharField(max_length=200, help_text="What people see on the canvas.")
    owner = forms.ChoiceField(
        required=False,
        label="Accountable owner",
        help_text="Who answers for this step and its exceptions.",
    )
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="In plain words: what this step does and why.",
    )
    retry_attempts = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=100,
        label="Attempts",
        help_text="Tries before giving up.",
    )
    retry_backoff = DurationField(label="Wait between tries", help_text="Doubles each time.")
    timeout_seconds = DurationField(label="Time limit", help_text="E.g. 30s, 15m.")
    sla = DurationField(label="SLA", help_text="Late after, e.g. 4h, 2d.")
    sla_business_hours = forms.BooleanField(required=False, label="Count business hours only")
    on_error = forms.ChoiceField(
        required=False,
        label="If it fails, go to",
        help_text="The step that takes over when this one fails.",
    )
    output_schema = config_fields.PrettyJSONField(
        required=False,
        label="Output schema",
        widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace", "spellcheck": "false"}),
        help_text="JSON Schema the step's output must match. Empty: anything goes.",
    )
    connect_to = forms.ChoiceField(
        required=False,
        label="Add a connection to",
        help_text="The same as dragging from this step to another.",
    )
    revision = forms.IntegerField(widget=forms.HiddenInput)

    COMMON = ("label", "description", "owner", "timeout_seconds", "on_error", "output_schema")
    RELIABILITY = (
        "retry_attempts",
        "retry_backoff",
        "timeout_seconds",
        "sla",
        "sla_business_hours",
        "on_error",
    )

    def __init__(self, *args: Any, step: dict[str, Any], definition: dict[str, Any], **kwargs: Any):
        self.step, self.definition = step, definition
        self.kind = palette.kind(step.get("kind", ""))
        kwargs.setdefault("initial", self._initial())
        super().__init__(*args, **kwargs)
        others = [
            (s["id"], s.get("label") or s["id"])
            for s in shape.steps(definition)
            if s["id"] != step["id"]
        ]
        self.fields["owner"].choices = with_current(owner_choices(), step.get("owner"))
        self.fields["on_error"].choices = [
            ("", "— stop; the exception owner takes over —"),
            *others,
        ]
        targets = [
            (i, label)
            for i, label in others
            if palette.kind((shape.step_by_id(definition, i) or {}).get("kind", "")).allows_incoming
        ]
        self.fields["connect_to"].choices = [("", "—"), *targets]
        for name in self._not_for_this_kind():
            del self.fields[name]
        self.config_names: list[str] = []
        self.uses_provider = False
        self._add_config_fields(others)
        self.style_fields()

    def _not_for_this_kind(self) -> tuple[str, ...]:
        if not self.kind.allows_outgoing:
            return (*self.RELIABILITY, "output_schema", "connect_to")
        if self.kind.name == "start":
            return (
                "retry_attempts",
                "retry_backoff",
                "timeout_seconds",
                "sla",
                "sla_business_hours",
                "on_error",
                "output_schema",
            )
        if not self.kind.external:  # retries and time limits are for calls to the outside
            return ("retry_attempts", "retry_backoff", "timeout_seconds")
        return ()

    def _initial(self) -> dict[str, Any]:
        retry, sla = self.step.get("retry") or {}, self.step.get("sla") or {}
        initial = {name: self.step.get(name) for name in self.COMMON}
        initial.update(
            label=self.step.get("label") or self.step["id"],
            retry_attempts=retry.get("attempts"),
            retry_backoff=retry.get("backoff_seconds"),
            sla=sla["minutes"] * 60 if sla.get("minutes") else None,
            sla_business_hours=bool(sla.get("business_hours")),
        )
        return initial

    def _add_config_fields(self, others: list[tuple[str, str]]) -> None:
        schema = self.kind.config_schema
        required = set(schema.get("required") or [])
        config = self.step.get("config") or {}
        for name, spec in (schema.get("properties") or {}).items():
            if name in SKIPPED_CONFIG or not isinstance(spec, dict):
                continue
            if name == "combine" and self._single_provider(config.get("providers")):
                continue  # one provider: nothing to combine
            if name == "providers" and self._single_provider(config.get(name)):
                self.uses_provider = True
                for key, field in config_fields.provider_fields().items():
                    self.fields[key] = field
                    self.initial.setdefault(
                        key, config_fields.provider_initial(config.get(name))[key]
                    )
                continue
            field = config_fields.field_for(name, spec, name in required, others)
            if isinstance(field, forms.ChoiceField | forms.MultipleChoiceField):
                field.choices = with_current(list(field.choices), config.get(name))
            self.fields[f"config__{name}"] = field
            self.initial.setdefault(f"config__{name}", config.get(name))
            self.config_names.append(name)

    @staticmethod
    def _single_provider(value: Any) -> bool:
        return not value or (isinstance(value, list) and len(value) == 1)

    def common_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("label", "owner", "description") if n in self.fields]

    def reliability_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.RELIABILITY if n in self.fields]

    def config_fields(self) -> list[forms.BoundField]:
        provider = [self[n] for n in config_fields.provider_fields()] if self.uses_provider else []
        return provider + [self[f"config__{n}"] for n in self.config_names]

    def to_step(self) -> dict[str, Any]:
        """The step with this form's values; keys the form does not show are kept."""
        data = self.cleaned_data
        step = copy.deepcopy(self.step)
        for name in self.COMMON:
            if name in self.fields:
                _set(step, name, data.get(name))
        if "retry_attempts" in self.fields:
            self._retry(step, data)
        if "sla" in self.fields:
            self._sla(step, data)
        config = dict(step.get("config") or {})
        for name in self.config_names:
            _set(config, name, data.get(f"config__{name}"))
        if self.uses_provider:
            provider = config_fields.provider_from(data, self)
            if provider:
                config["providers"] = [provider]
        _set(step, "config", config)
        return step

    @staticmethod
    def _retry(step: dict[str, Any], data: dict[str, Any]) -> None:
        retry = {
            k: v for k, v in (step.get("retry") or {}).items()
            if k not in ("attempts", "backoff_seconds")
        }  # fmt: skip
        for key, value in (
            ("attempts", data.get("retry_attempts")),
            ("backoff_seconds", data.get("retry_backoff")),
        ):
            if value not in (None, ""):
                retry[key] = value
        _set(step, "retry", retry)

    @staticmethod
    def _sla(step: dict[str, Any], data: dict[str, Any]) -> None:
        sla = {
            k: v for k, v in (step.get("sla") or {}).items()
            if k not in ("minutes", "business_hours")
        }  # fmt: skip
        if data.get("sla"):
            sla["minutes"] = max(1, -(-int(data["sla"]) // 60))
            if data.get("sla_business_hours"):
                sla["business_hours"] = True
        _set(step, "sla", sla)


class ConnectionForm(StyledForm):
    condition = ExpressionField(
        required=False,
        label="Take this path when",
        help_text="A condition on the case data, for example data.amount > 1000.",
    )
    default = forms.BooleanField(required=False, label="Take this path when no other applies")
    label = forms.CharField(
        required=False,
        max_length=200,
        label="Label on the canvas",
        help_text="Optional: a short name instead of the condition.",
    )
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, connection: dict[str, Any], **kwargs: Any):
        self.connection = connection
        kwargs.setdefault(
            "initial", {k: connection.get(k) for k in ("condition", "default", "label")}
        )
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
        _set(conn, "default", True if self.cleaned_data.get("default") else None)
        return conn


class PublishForm(StyledForm):
    note = forms.CharField(
        label="What changed, and why?",
        max_length=2000,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": "For example: refunds over 100 now need a lead's approval.",
            }
        ),
        error_messages={"required": "Write a short note: it is kept with the version."},
    )


class YamlForm(ImportYamlForm):
    missing = "Choose a file or paste the YAML of a flow."

    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Beside the YAML it replaces, the tab says what is uploaded and pasted in short.
        self.fields["file"].label = "Upload a YAML file"
        self.fields["text"].label = "…or paste YAML"


class TestRunForm(StyledForm):
    input = config_fields.PrettyJSONField(
        label="Sample input",
        help_text="The case data the test run starts with, as JSON.",
        widget=forms.Textarea(attrs={"rows": 7, "class": "font-monospace", "spellcheck": "false"}),
    )
    business_key = forms.CharField(
        required=False, max_length=200, label="Business key", initial="test-run"
    )

    def clean_input(self) -> dict[str, Any]:
        value = self.cleaned_data["input"]
        if not isinstance(value, dict):
            raise forms.ValidationError("The input must be a JSON object: { … }.")
        return value
