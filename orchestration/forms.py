"""Forms for the flow screens, and the start form generated from a flow's input schema."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError

from orchestration import access, json_numbers
from orchestration.models import Flow, FlowVersion, InstanceStatus
from orchestration.readable import readable

MAX_YAML_BYTES = 512 * 1024
# The longest number a start form takes, as every other way in (json_values.MAX_INTEGER).
MAX_DIGITS = 100
BUSINESS_KEY_FIELD = "_business_key"
PAGE_LINK_BROKEN = "This page link is not one Podium made; start again from the first page."
# A status filter of the cases list: running cases the sweep found with nothing to run.
STUCK = "stuck"
# Another: failed cases an operator can still put right (not those that reached a failure end).
NEEDS_OPERATOR = "needs_operator"


class StyledForm(forms.Form):
    """Tabler classes on every widget, and `is-invalid` on fields with errors."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.style_fields()

    def style_fields(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxSelectMultiple, forms.HiddenInput)):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            classes = widget.attrs.get("class", "")
            if css not in classes:
                widget.attrs["class"] = f"{classes} {css}".strip()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        names = list(error) if isinstance(error, dict) else [field]
        for name in names:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"


# --- The start form, from JSON Schema -----------------------------------------------


def input_schema_of(version: FlowVersion | None) -> dict[str, Any]:
    """The input JSON Schema of a version, wherever the definition keeps it."""
    if version is None:
        return {}
    definition = version.definition or {}
    for key in ("input_schema", "input"):
        value = definition.get(key)
        if isinstance(value, dict):
            schema = value.get("schema", value) if key == "input" else value
            if isinstance(schema, dict):
                return schema
    return {}


def parse_json(text: str) -> Any:
    """JSON typed into a form, as Podium can keep it (json_numbers.loads); ValidationError
    saying what is wrong and, for a syntax error, on which line."""
    try:
        return json_numbers.loads(text)
    except json_numbers.NotFiniteError as exc:  # before its parent, JSONDecodeError
        raise ValidationError(f"This is not valid JSON: {exc}.") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"This is not valid JSON: {exc.msg} (line {exc.lineno}).") from None


class JSONValueField(forms.CharField):
    """A textarea for arrays and objects, parsed as JSON."""

    def __init__(self, *, json_type: str, **kwargs: Any):
        self.json_type = json_type
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text in ("", None):
            return None
        parsed = parse_json(text)
        wanted = list if self.json_type == "array" else dict
        if not isinstance(parsed, wanted):
            raise ValidationError(f"Enter a JSON {self.json_type}.")
        return parsed


def _label(name: str, spec: dict[str, Any]) -> str:
    return spec.get("title") or name.replace("_", " ").capitalize()


def _string_field(spec: dict[str, Any], common: dict[str, Any]) -> forms.Field:
    fmt = spec.get("format")
    if fmt == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if fmt == "date-time":
        return forms.DateTimeField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
        )
    if fmt == "email":
        return forms.EmailField(max_length=spec.get("maxLength"), **common)
    if fmt in ("uri", "url"):
        return forms.URLField(max_length=spec.get("maxLength"), assume_scheme="https", **common)
    widget = forms.Textarea(attrs={"rows": 3}) if (spec.get("maxLength") or 0) > 200 else None
    return forms.CharField(
        max_length=spec.get("maxLength"),
        min_length=spec.get("minLength"),
        widget=widget,
        **common,
    )


def _number_field(spec: dict[str, Any], common: dict[str, Any], integer: bool) -> forms.Field:
    """A text box that keeps what was typed (a browser's number box empties "12,50"
    without a word) and says in plain words what a number looks like."""
    bounds = {"min_value": spec.get("minimum"), "max_value": spec.get("maximum")}
    messages = {
        "min_value": "It must be at least %(limit_value)s.",
        "max_value": "It must be at most %(limit_value)s.",
    }
    if integer:
        messages["invalid"] = "Enter a whole number, for example 12."
        widget = forms.TextInput(attrs={"inputmode": "numeric"})
        return forms.IntegerField(**bounds, widget=widget, error_messages=messages, **common)
    messages["invalid"] = "Enter a number, with a dot for decimals: for example 12.50."
    # "1e400" is a number Python turns into a 401-digit integer, and "1e100000" into
    # one that takes a minute to write out: JSON's numbers stop far below that.
    messages["max_digits"] = f"Enter a number of at most {MAX_DIGITS} digits."
    widget = forms.TextInput(attrs={"inputmode": "decimal"})
    return forms.DecimalField(
        **bounds, max_digits=MAX_DIGITS, widget=widget, error_messages=messages, **common
    )


def _choice_label(value: Any) -> str:
    """How a choice from the input schema's list reads: Yes/No, "Not given" for null."""
    return "Not given" if value is None else readable(value)


def field_for(name: str, spec: dict[str, Any], required: bool) -> forms.Field:
    common: dict[str, Any] = {
        "label": _label(name, spec),
        "required": required,
        "help_text": spec.get("description", ""),
    }
    if "default" in spec and not isinstance(spec["default"], (dict, list)):
        common["initial"] = spec["default"]
    kind = spec.get("type")
    if isinstance(kind, list):  # ["string", "null"] and the like
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in spec:
        choices = [(json.dumps(v), _choice_label(v)) for v in spec["enum"]]
        if not required:
            choices.insert(0, ("", "—"))
        field = forms.TypedChoiceField(
            choices=choices, coerce=json.loads, empty_value=None, **common
        )
        if "initial" in common:
            field.initial = json.dumps(common["initial"])
        return field
    if kind == "array" and isinstance(spec.get("items"), dict) and "enum" in spec["items"]:
        choices = [(json.dumps(v), _choice_label(v)) for v in spec["items"]["enum"]]
        return forms.TypedMultipleChoiceField(
            choices=choices, coerce=json.loads, widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == "boolean":
        common["required"] = False  # an unticked box is a valid False
        return forms.BooleanField(**common)
    if kind in ("integer", "number"):
        return _number_field(spec, common, integer=kind == "integer")
    if kind in ("array", "object"):
        return JSONValueField(json_type=kind, **common)
    return _string_field(spec, common)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def ordered_properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Properties in a stable, sensible order.

    PostgreSQL stores JSON objects with their keys re-ordered, so the schema's own order
    is lost there: an explicit "x-order" (or "propertyOrder") comes first, then the
    required fields in the order "required" lists them, then the rest as given.
    """
    properties = [
        (name, spec)
        for name, spec in (schema.get("properties") or {}).items()
        if isinstance(spec, dict)
    ]
    required = list(schema.get("required", []))

    def key(item: tuple[int, tuple[str, dict[str, Any]]]) -> tuple[float, int, int]:
        position, (name, spec) = item
        explicit = spec.get("x-order", spec.get("propertyOrder"))
        explicit = float(explicit) if isinstance(explicit, (int, float)) else float("inf")
        rank = required.index(name) if name in required else len(required)
        return (explicit, rank, position)

    return [item for _, item in sorted(enumerate(properties), key=key)]


def _key_hint(schema: dict[str, Any], key_expression: str) -> str:
    """What the business key field says: where the flow takes the key from, if it does."""
    if not key_expression:
        return "Optional: the reference people use for this case, e.g. an invoice number."
    field = re.fullmatch(r"\s*data\.([A-Za-z_][A-Za-z0-9_]*)\s*", key_expression)
    if field is None:
        return "Leave it empty: this flow works it out from the answers above."
    spec = (schema.get("properties") or {}).get(field.group(1)) or {}
    title = spec.get("title") if isinstance(spec, dict) else None
    name = str(title or field.group(1).replace("_", " ")).lower()
    return f"Leave it empty: this flow uses the {name} as the case's reference."


class StartForm(StyledForm):
    """Fields generated from the version's input schema, plus an optional business key."""

    def __init__(self, schema: dict[str, Any], *args: Any, key_expression: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.schema = schema
        required = set(schema.get("required", []))
        for name, spec in ordered_properties(schema):
            self.fields[name] = field_for(name, spec, name in required)
        self.fields[BUSINESS_KEY_FIELD] = forms.CharField(
            label="Business key",
            required=False,
            max_length=200,
            help_text=_key_hint(schema, key_expression),
        )
        self.style_fields()

    def input_data(self) -> dict[str, Any]:
        data = {}
        for name in self.schema.get("properties") or {}:
            value = self.cleaned_data.get(name)
            if value is None and self.data.get(self.add_prefix(name)) == "null":
                data[name] = None  # "Not given" chosen from a list that offers it
                continue
            if value is None or value == "" or value == []:
                if isinstance(self.fields[name], forms.BooleanField):
                    data[name] = False
                continue
            data[name] = _plain(value)
        return data

    @property
    def business_key(self) -> str:
        return self.cleaned_data.get(BUSINESS_KEY_FIELD, "")

    def add_engine_problems(self, problems: list[str]) -> None:
        """Attach the engine's messages to the field they name (without the name where it
        only says which field: the message stands next to it), or to the form."""
        for problem in problems:
            target = next(
                (
                    name
                    for name in self.fields
                    if problem.startswith((f"{name}:", f"{name} ", f"'{name}'", f"/{name}"))
                ),
                None,
            )
            if target is not None and problem.startswith(f"{target}: "):
                problem = problem.removeprefix(f"{target}: ")
                problem = problem[:1].upper() + problem[1:]
            self.add_error(target, problem)


# --- Flows -------------------------------------------------------------------------


def _team_choices(user: Any) -> forms.ModelChoiceField:
    teams = Group.objects.order_by("name") if user.is_superuser else user.groups.order_by("name")
    return forms.ModelChoiceField(queryset=teams)


class NewFlowForm(StyledForm):
    name = forms.CharField(max_length=200)
    owner_team = forms.ModelChoiceField(queryset=Group.objects.none(), label="Owner team")
    exception_owner_team = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"),
        label="Exception owner",
        required=False,
        help_text="The team told when a case fails and nobody else can fix it.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        owner = self.fields["owner_team"]
        owner.queryset = _team_choices(user).queryset
        owner.empty_label = "Choose one of your teams…"
        owner.help_text = "This team is accountable for the flow and gets every permission on it."
        teams = list(owner.queryset[:2])
        if len(teams) == 1:
            owner.initial = teams[0].pk
        elif not teams:
            owner.help_text = "You are in no team yet. Ask an administrator to add you to one."
        self.fields["exception_owner_team"].empty_label = "Nobody yet"


class ImportYamlForm(StyledForm):
    """A flow's YAML, uploaded as a file or pasted, at most MAX_YAML_BYTES: the text is
    `cleaned_data["yaml"]`. The import page and the editor's YAML tab both take it."""

    missing = "Choose a YAML file or paste its text."

    file = forms.FileField(label="YAML file", required=False)
    text = forms.CharField(
        label="…or paste the YAML",
        required=False,
        strip=False,
        max_length=MAX_YAML_BYTES,
        error_messages={
            "max_length": f"The text is longer than a file may be ({MAX_YAML_BYTES // 1024} KB)."
        },
        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A browser cuts a paste at maxlength without a word: the server says it instead.
        self.fields["text"].widget.attrs.pop("maxlength", None)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "text" in self.errors:
            return data  # the text's own error says what is wrong with it
        upload = data.get("file")
        data["yaml"] = data.get("text") or ""
        if upload:
            if upload.size > MAX_YAML_BYTES:
                raise ValidationError(
                    f"The file is {upload.size // 1024} KB; "
                    f"the limit is {MAX_YAML_BYTES // 1024} KB."
                )
            try:
                data["yaml"] = upload.read().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValidationError("The file is not UTF-8 text.") from exc
        if not data["yaml"].strip():
            raise ValidationError(self.missing)
        return data


class ReasonForm(StyledForm):
    reason = forms.CharField(
        max_length=1000,
        min_length=3,
        # hx-preserve: what an operator types survives the live refresh of the page
        widget=forms.Textarea(attrs={"rows": 2, "hx-preserve": "true"}),
        error_messages={"required": "Say why: the reason is kept in the audit log."},
    )


class NoteForm(StyledForm):
    note = forms.CharField(
        max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class TokenForm(StyledForm):
    name = forms.CharField(
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "What will use it, e.g. CRM order webhook"}),
    )


class GrantForm(StyledForm):
    holder = forms.ChoiceField(label="Team or person")
    permission = forms.ChoiceField(
        choices=[(p, access.SHORT_NAMES[p].capitalize()) for p in access.ALL_FLOW_PERMISSIONS]
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        teams = [(f"team:{g.pk}", f"Team: {g.name}") for g in Group.objects.order_by("name")]
        people = [
            (f"user:{u.pk}", f"Person: {u.get_full_name() or u.username} ({u.username})")
            for u in User.objects.filter(is_active=True).order_by("username")
        ]
        self.fields["holder"].choices = [("", "Choose…"), ("Teams", teams), ("People", people)]

    def clean_holder(self) -> Group | User:
        kind, _, pk = self.cleaned_data["holder"].partition(":")
        model = Group if kind == "team" else User
        try:
            return model.objects.get(pk=int(pk))
        except (ValueError, model.DoesNotExist):
            raise ValidationError("Choose a team or a person from the list.") from None


# --- Instances list -----------------------------------------------------------------


class InstanceFilterForm(StyledForm):
    flow = forms.ModelChoiceField(
        queryset=Flow.objects.none(), required=False, to_field_name="slug", empty_label="All flows"
    )
    status = forms.ChoiceField(
        choices=[
            ("", "Any status"),
            *InstanceStatus.choices[:1],
            (STUCK, "Stuck"),
            *InstanceStatus.choices[1:3],
            (NEEDS_OPERATOR, "Failed, waiting for an operator"),
            *InstanceStatus.choices[3:],
        ],
        required=False,
    )
    business_key = forms.CharField(
        max_length=200,
        required=False,
        label="Business key",
        widget=forms.TextInput(attrs={"placeholder": "Starts with…"}),
    )
    created_from = forms.DateField(
        required=False, label="Started from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        required=False, label="Started until", widget=forms.DateInput(attrs={"type": "date"})
    )
    owner_team = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"), required=False, empty_label="Any owner"
    )
    # The paging cursor from a "next page" link; only a hand-edited link is wrong.
    before = forms.IntegerField(
        required=False,
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": PAGE_LINK_BROKEN,
            "min_value": PAGE_LINK_BROKEN,
            "max_value": PAGE_LINK_BROKEN,
        },
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["flow"].queryset = access.flows_for(user).order_by("name")


class AllowedTargetForm(StyledForm):
    host = forms.CharField(
        max_length=255,
        help_text="A host name or IP address, e.g. erp.internal or 10.0.0.5 (no scheme or path).",
    )
    note = forms.CharField(max_length=200, required=False, help_text="Why it may be called.")

    def clean_host(self) -> str:
        host = self.cleaned_data["host"].strip().lower()
        if "://" in host or "/" in host:
            raise ValidationError("Enter only the host, without http:// or a path.")
        if not re.fullmatch(r"[a-z0-9.\-]+|\[?[0-9a-f:.]+\]?", host):
            raise ValidationError(
                "Enter a host name or an IP address, e.g. erp.internal or 10.0.0.5."
            )
        return host.strip("[]")


class OwnershipForm(StyledForm):
    owner_team = forms.ModelChoiceField(
        Group.objects.order_by("name"),
        label="Accountable team",
        empty_label="Choose a team…",
        error_messages={"required": "A flow needs a team accountable for it."},
    )
    exception_owner_team = forms.ModelChoiceField(
        Group.objects.order_by("name"),
        required=False,
        label="Team told about failures",
        empty_label="No team",
    )
    reason = forms.CharField(
        label="Why the change",
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Accounts payable moved to Treasury"}),
        error_messages={"required": "Say why the owners change; it is kept in the audit log."},
    )
