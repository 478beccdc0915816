"""Conditions and computed values in Common Expression Language (CEL).

Every expression in a flow definition is evaluated here, never with `eval`.

Context convention (what an expression can see):

* ``data``  — the case's data: the flow input plus every value steps have set;
* ``steps`` — a map from step id to that step's last output, e.g.
  ``steps.review.outcome == "approve"``;
* ``now``   — the current time as a CEL timestamp.

Limits. The CEL library is not Turing-complete, but it offers no cost budget or
time-out, and it holds the GIL while it evaluates, so a slow expression stalls the
whole worker. Its list macros are quadratic in this library (``map`` over 10,000
items takes seconds). We therefore bound the work before evaluating:

* expression text: at most ``MAX_LENGTH`` characters and ``MAX_DEPTH`` nested
  brackets, checked before the parser sees it;
* at most ``MAX_MACROS`` list macros (``map``, ``filter``, ``all``, ``exists``,
  ``exists_one``) per expression, none nested inside another;
* the context must be plain data of at most ``MAX_INPUT_ITEMS`` values and
  ``MAX_INPUT_CHARS`` characters of text, and when the expression uses a list macro
  no list in it may hold more than ``MAX_MACRO_ITEMS`` items.

Within those bounds the worst case measured is about a tenth of a second.

Plain data: dicts with text keys, lists, text, numbers, booleans and null. Tuples
become lists, Decimals floats, and datetimes CEL timestamps (naive ones are taken as
UTC); anything else is refused. Results come back as plain data too: timestamps as
ISO 8601 text, durations as seconds, bytes as base64 text.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

import cel

from orchestration.expression_text import Token, TokenError, tokens
from orchestration.json_numbers import first_non_finite

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_INPUT_ITEMS = 100_000
MAX_INPUT_CHARS = 5_000_000
MAX_MACRO_ITEMS = 1000
MAX_MACROS = 4
MACROS = frozenset({"map", "filter", "all", "exists", "exists_one"})
ROOTS = ("data", "steps")

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PARSE_LOCATION = re.compile(r"<input>:(\d+):(\d+):\s*(?:Syntax error:\s*)?(.*)")


class ExpressionError(ValueError):
    """An expression that cannot be read or evaluated, in words a process owner reads.

    `position` is the character offset (0-based) of the mistake when known.
    """

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


class CompiledExpression:
    """A parsed program plus what the static checks learned about it.

    `needs` maps each variable the text names to the fields it reads from it, or to
    None when it uses the variable as a whole; evaluation converts only those parts
    of the context, which keeps the hot path cheap when the case data is large.
    """

    def __init__(self, program: Any, uses_macros: bool, needs: dict[str, set[str] | None]):
        self.program = program
        self.uses_macros = uses_macros
        self.needs = needs

    def select(self, context: dict[str, Any]) -> dict[str, Any]:
        selected = {}
        for name, fields in self.needs.items():
            if name not in context:
                continue
            value = context[name]
            if fields is not None and isinstance(value, dict):
                value = {field: value[field] for field in fields if field in value}
            selected[name] = value
        return selected


def compile_expression(text: str) -> CompiledExpression:
    """Check the caps, then parse; raise ExpressionError with a position on mistakes.

    Compiled programs are cached by text: the engine evaluates on its hot path.
    """
    if not isinstance(text, str):
        raise ExpressionError("An expression must be text.")
    return _compile(text)


@lru_cache(maxsize=4096)
def _compile(text: str) -> CompiledExpression:
    if not text.strip():
        raise ExpressionError("The expression is empty.", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"The expression is {len(text)} characters long; the limit is {MAX_LENGTH}.",
            MAX_LENGTH,
        )
    try:
        found = tokens(text)
    except TokenError as exc:
        raise ExpressionError(exc.message, exc.position) from None
    _check_depth(found)
    uses_macros = _check_macros(found)
    try:
        program = cel.compile(text)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise _parse_error(text, str(exc)) from None
    return CompiledExpression(program, uses_macros, _needs(found))


def _needs(found: list[Token]) -> dict[str, set[str] | None]:
    """Variables named in the text, with the first-level fields read from each."""
    needs: dict[str, set[str] | None] = {}
    for index, token in enumerate(found):
        if token.kind != "name" or (index and found[index - 1].text == "."):
            continue
        field = _field_after(found, index)
        if field is None or needs.get(token.text, set()) is None:
            needs[token.text] = None
        else:
            needs.setdefault(token.text, set()).add(field)  # type: ignore[union-attr]
    return needs


def _field_after(found: list[Token], index: int) -> str | None:
    """'b' for 'a.b' (not for the method call 'a.b(...)'), else None."""
    if index + 2 < len(found) and found[index + 1].text == "." and found[index + 2].kind == "name":
        is_call = index + 3 < len(found) and found[index + 3].text == "("
        return None if is_call else found[index + 2].text
    return None


def _check_depth(found: list[Token]) -> None:
    depth = 0
    for token in found:
        if token.text in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"The expression nests brackets more than {MAX_DEPTH} deep.", token.start
                )
        elif token.text in ")]}":
            depth -= 1


def _check_macros(found: list[Token]) -> bool:
    """True when the expression uses a list macro; refuse a macro inside another."""
    open_macros: list[int] = []  # bracket depth at which each open macro started
    depth, used = 0, 0
    for index, token in enumerate(found):
        if token.text in "([{":
            is_macro = (
                token.text == "("
                and index >= 2
                and found[index - 1].text in MACROS
                and found[index - 2].text == "."
            )
            if is_macro:
                if open_macros:
                    raise ExpressionError(
                        f"'{found[index - 1].text}' is used inside another list operation; "
                        "nested list operations are not allowed.",
                        found[index - 1].start,
                    )
                open_macros.append(depth)
                used += 1
                if used > MAX_MACROS:
                    raise ExpressionError(
                        f"The expression uses more than {MAX_MACROS} list operations.",
                        found[index - 1].start,
                    )
            depth += 1
        elif token.text in ")]}":
            depth -= 1
            if open_macros and open_macros[-1] == depth:
                open_macros.pop()
    return used > 0


def _parse_error(text: str, raw: str) -> ExpressionError:
    match = _PARSE_LOCATION.search(raw)
    if not match:
        return ExpressionError(f"The expression could not be read: {raw.splitlines()[0]}")
    line, column, detail = int(match[1]), int(match[2]), match[3]
    lines = text.split("\n")
    position = sum(len(part) + 1 for part in lines[: line - 1]) + column - 1
    position = max(0, min(position, len(text)))
    if "<EOF>" in detail and not text[position:].strip():
        what = "it ends too early (something is missing at the end)"
    elif "<EOF>" in detail:
        left_over = text[position : position + 10].rstrip()
        what = f"{left_over!r} is not expected there (is it left over?)"
    elif "token recognition error" in detail:
        what = f"the character {text[position : position + 1]!r} is not allowed there"
    else:
        what = f"{text[position : position + 10]!r} is not expected there"
    return ExpressionError(
        f"The expression could not be read at character {position + 1}: {what}.", position
    )


def holds(text: str, context: dict[str, Any]) -> bool:
    """Whether the condition `text` holds; ExpressionError unless it gives true or false
    (a condition giving 1, "false" or null would otherwise be read one way here and
    another there: "false" is truthy in Python)."""
    result = evaluate(text, context)
    if not isinstance(result, bool):
        shown = json.dumps(result)[:60] if result is not None else "null"
        raise ExpressionError(f"The condition gave {shown}, not true or false.")
    return result


def evaluate(text: str, context: dict[str, Any]) -> Any:
    """Evaluate `text` over plain data; the result is plain data (timestamps as ISO text)."""
    compiled = compile_expression(text)
    variables = plain_context(compiled.select(context), compiled.uses_macros)
    try:
        result = compiled.program.execute(variables)
    except KeyError as exc:
        raise ExpressionError(
            f"The expression uses '{exc.args[0]}', which has no value in this case."
        ) from None
    except ZeroDivisionError:
        raise ExpressionError("The expression divides by zero.") from None
    except (ValueError, TypeError, RuntimeError, OverflowError) as exc:
        raise ExpressionError(
            f"The expression could not be evaluated: {_first_line(exc)}"
        ) from None
    plain = _plain_result(result)
    where = first_non_finite(plain)
    if where is not None:
        raise ExpressionError(
            "The expression gave an infinite or undefined number"
            + ("" if where == "the value" else f" (at {where})")
            + ": a division by zero, or a number too large."
        )
    return plain


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def plain_context(context: dict[str, Any], limit_lists: bool = False) -> dict[str, Any]:
    """Copy `context` as plain data, refusing anything that is not (see the module doc)."""
    budget = {"items": MAX_INPUT_ITEMS, "chars": MAX_INPUT_CHARS}
    limit = MAX_MACRO_ITEMS if limit_lists else None
    return {str(name): _plain(value, name, budget, limit) for name, value in context.items()}


def _plain(value: Any, where: str, budget: dict[str, int], limit: int | None) -> Any:
    budget["items"] -= 1
    if budget["items"] < 0:
        raise ExpressionError("The case data is too large to evaluate expressions on.")
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        budget["chars"] -= len(value)
        if budget["chars"] < 0:
            raise ExpressionError("The case data holds too much text to evaluate expressions on.")
        return value
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ExpressionError(f"'{where}' has a key that is not text.")
        return {k: _plain(v, f"{where}.{k}", budget, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if limit is not None and len(value) > limit:
            raise ExpressionError(
                f"'{where}' has {len(value)} items; list operations work on at most {limit}."
            )
        return [_plain(v, f"{where}[{i}]", budget, limit) for i, v in enumerate(value)]
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, Decimal):
        return float(value)
    raise ExpressionError(
        f"'{where}' holds a value of type {type(value).__name__}; expressions only see plain data."
    )


def _plain_result(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return _plain_map(value)
    if isinstance(value, list):
        return [_plain_result(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ExpressionError(f"The expression gave a {type(value).__name__}, which is not plain data.")


def _plain_map(value: dict[Any, Any]) -> dict[str, Any]:
    """A map with its keys as JSON writes them (text); two keys that read the same then
    (1 and "1") are refused, as keeping one would lose the other without a word."""
    plain: dict[str, Any] = {}
    for key, item in value.items():
        text = key_text(key) if isinstance(key, bool) else str(key)
        if text in plain:
            raise ExpressionError(
                f"The expression gave a map with two keys that read '{text}' as text."
            )
        plain[text] = _plain_result(item)
    return plain


def placeholders(text: str) -> list[tuple[int, str]]:
    """(offset of the expression, expression) for each {{ }} placeholder in a template."""
    return [(match.start(1), match[1]) for match in _PLACEHOLDER.finditer(text)]


def unclosed_placeholder(text: str) -> int | None:
    """The offset of a {{ that no }} closes, if any (left as literal text by rendering)."""
    rest = _PLACEHOLDER.sub(lambda m: " " * len(m[0]), text)
    found = rest.find("{{")
    return None if found < 0 else found


def render_template(text: str, context: dict[str, Any]) -> str:
    """Replace each {{ expression }} with its value as text ('' for null)."""

    def replace(match: re.Match[str]) -> str:
        try:
            return _as_text(evaluate(match[1].strip(), context))
        except ExpressionError as exc:
            position = None if exc.position is None else match.start(1) + exc.position
            raise ExpressionError(f"In {{{{{match[1]}}}}}: {exc.message}", position) from None

    return _PLACEHOLDER.sub(replace, text)


class NotAKey(ValueError):
    """A list or a record where a key (a business key, an event's key) is needed."""


def key_text(value: Any) -> str:
    """A value as the text of a key, the same wherever keys are compared: "order-17",
    17 and 17.0 → "17", true → "true", null → "". NotAKey for a list or a record, which
    would match the wrong cases."""
    if isinstance(value, dict | list):
        raise NotAKey("must be a single text or number, not a list or a record")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _as_text(value)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def referenced_paths(text: str) -> set[str]:
    """Dotted paths under `data` and `steps` the expression reads, e.g. 'data.amount'.

    A name followed by '(' is a method call and ends the path; ``data["a"]`` counts
    as 'data.a'. Text that does not tokenise yields the paths found before the error.
    """
    found = tokens(text, strict=False)
    paths = set()
    for index, token in enumerate(found):
        previous = found[index - 1].text if index else ""
        if token.kind == "name" and token.text in ROOTS and previous != ".":
            paths.add(_path_from(found, index))
    return paths


def _path_from(found: list[Token], index: int) -> str:
    parts = [found[index].text]
    i = index + 1
    while i + 1 < len(found):
        if found[i].text == "." and found[i + 1].kind == "name":
            if i + 2 < len(found) and found[i + 2].text == "(":
                break
            parts.append(found[i + 1].text)
            i += 2
        elif (
            found[i].text == "["
            and found[i + 1].kind == "string"
            and i + 2 < len(found)
            and found[i + 2].text == "]"
        ):
            parts.append(found[i + 1].value)
            i += 3
        else:
            break
    return ".".join(parts)


def build_context(
    data: dict[str, Any], steps: dict[str, Any], now: dt.datetime | None = None
) -> dict[str, Any]:
    """The standard expression context (see the module doc)."""
    return {"data": data, "steps": steps, "now": now or dt.datetime.now(dt.UTC)}
