"""JSON Schema errors rewritten as sentences a process owner can act on."""

from __future__ import annotations

import re
from typing import Any

from jsonschema.exceptions import ValidationError

from orchestration.definitions.durations import LONGEST_MINUTES, LONGEST_SECONDS

TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a set of named fields",
    "array": "a list",
    "null": "empty",
}


def describe(found: ValidationError, subject: str, field: str | None) -> str:
    """`subject` names the thing ("Step 'pay'"), `field` the field inside it, if any."""
    rule, expected, value = found.validator, found.validator_value, found.instance
    named = f"{subject}: '{field}'" if field else subject
    if rule == "required":
        missing = [name for name in expected if isinstance(value, dict) and name not in value]
        return f"{subject}{_in(field)} is missing {_names(missing)}."
    if rule == "additionalProperties":
        extra = _unexpected(found.schema, value)
        return (
            f"{subject}{_in(field)} has {_names(extra, 'unknown field')} that Podium does not know."
        )
    if rule == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return f"{named} must be {' or '.join(TYPE_WORDS.get(k, k) for k in kinds)}."
    if rule == "enum":
        return f"{named} must be one of: {', '.join(str(v) for v in expected)}."
    if rule == "const":
        return f"{named} must be '{expected}'."
    if rule in ("oneOf", "anyOf") and all(_requires_one(option) for option in expected):
        choices = " or ".join(f"'{option['required'][0]}'" for option in expected)
        return f"{subject}{_in(field)} needs exactly one of {choices}."
    if rule == "pattern" or (rule in ("oneOf", "anyOf") and isinstance(value, str)):
        return f"{subject}: {_pattern_hint(field, value)}"
    if rule in ("oneOf", "anyOf") and found.context:
        return _alternatives(found, subject, field)
    if rule == "maxItems" and expected == 1 and re.search(r"(assignees|\bto)$", field or ""):
        return f"{named} must name one team or one person (a team shares the task)."
    return f"{named} {_bound(rule, expected) or found.message}."


def _requires_one(option: Any) -> bool:
    """A schema form that only asks for one field: {required: [name, …]}."""
    return isinstance(option, dict) and set(option) == {"required"} and bool(option["required"])


def _alternatives(found: ValidationError, subject: str, field: str | None) -> str:
    """A value that fits none of a field's forms: what is wrong with it in the form its
    type fits (a list whose item is wrong, say), else which types it may have."""
    fitting = [e for e in found.context or [] if e.validator != "type" or e.relative_path]
    if fitting:
        inner = fitting[0]
        inner_field = (field or "") + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in inner.relative_path
        )
        return describe(inner, subject, inner_field.lstrip(".") or None)
    kinds = []
    for e in found.context or []:  # a type is a name or a list of names
        kinds += e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
    words = " or ".join(dict.fromkeys(TYPE_WORDS.get(str(k), str(k)) for k in kinds))
    return f"{subject}: '{field}' must be {words}." if field else f"{subject} must be {words}."


def input_problem(found: ValidationError) -> str:
    """A problem with a case's input, in words, starting with the field it is about
    ("amount must be a number."): the start form puts each message next to its field."""
    subject = dotted_path(list(found.absolute_path)) or "The input"
    if found.validator == "pattern":
        hint = found.schema.get("description") or found.schema.get("title")
        return f"{subject}: '{found.instance}' is not in the expected form" + (
            f" ({hint})." if hint else "."
        )
    return describe(found, subject, None)


def dotted_path(path: list[Any]) -> str | None:
    """['config', 'triggers', 0, 'cron'] -> 'config.triggers[0].cron'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _in(field: str | None) -> str:
    return f" (in '{field}')" if field else ""


def _names(names: list[str], noun: str = "required field") -> str:
    quoted = ", ".join(f"'{name}'" for name in names)
    return f"the {noun} {quoted}" if len(names) == 1 else f"the {noun}s {quoted}"


def _unexpected(schema: dict[str, Any], value: Any) -> list[str]:
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return sorted(
        key
        for key in (value if isinstance(value, dict) else {})
        if key not in known and not any(p.search(key) for p in patterns)
    )


def _pattern_hint(field: str | None, value: Any) -> str:
    last = re.split(r"[.\[]", field or "value")[-1].rstrip("]")
    if last == "id":
        return (
            f"the id '{value}' is not valid: use lowercase letters, digits and "
            "underscores, starting with a letter (at most 63 characters)."
        )
    if last in ("owner", "exception_owner"):
        owner = last.replace("_", " ")
        if (field or "").startswith("flow."):
            return f"the {owner} '{value}' must look like 'team:<team name>' or 'user:<username>'."
        return (
            f"the {owner} '{value}' must look like 'team:<team name>', "
            "'user:<username>' or 'system:<name>'."
        )
    if last == "slug":
        return f"the slug '{value}' must use lowercase letters, digits and hyphens only."
    if last == "cron":
        return (
            f"the schedule '{value}' must have five parts, minute hour day month weekday "
            "(for example '0 9 * * 1-5': at 09:00 Monday to Friday)."
        )
    if last == "url":
        return (
            f"the address '{value}' must start with https:// or http:// (or be a {{{{ }}}} "
            "placeholder that gives one)."
        )
    if last == "review_team":
        return f"the review team '{value}' must look like 'team:<team name>'."
    if field == "config.assign":
        return (
            f"'{value}' cannot be the name of a data field: use letters, digits and "
            "underscores, starting with a letter."
        )
    if re.fullmatch(r"config\.to\[\d+\]", field or ""):  # a notify step's recipients
        return (
            f"'{value}' must look like 'team:<team name>', 'user:<username>' or an email address."
        )
    if re.search(r"(assignees|\bto)(\[\d+\])?$", field or ""):
        return f"'{value}' must look like 'team:<team name>' or 'user:<username>'."
    return f"'{field}' ('{value}') does not have the expected form."


def _bound(rule: str, expected: Any) -> str:
    return {
        "minimum": f"must be at least {expected}",
        "maximum": f"must be at most {expected}"
        + (" (ten years)" if expected in (LONGEST_SECONDS, LONGEST_MINUTES) else ""),
        "exclusiveMinimum": f"must be more than {expected}",
        "exclusiveMaximum": f"must be less than {expected}",
        "minLength": "must not be empty"
        if expected == 1
        else f"must be at least {expected} characters long",
        "maxLength": f"must be at most {expected} characters long",
        "minItems": "must not be empty"
        if expected == 1
        else f"must have at least {expected} items",
        "maxItems": f"must have at most {expected} item{'s' if expected != 1 else ''}",
        "uniqueItems": "must not repeat an item",
    }.get(rule, "")
