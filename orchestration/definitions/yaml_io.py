"""The YAML form of a definition: safe parsing with line numbers, stable readable output.

Parsing follows YAML 1.2 where YAML 1.1 surprises people: only `true`/`false` are
booleans (so `on`, `no`, `yes` stay text) and dates stay text, because a definition
is JSON data. A key given twice is an error rather than silently dropped. YAML 1.1's
merge keys (`<<: *name`) are refused: nested merges grow exponentially while they are
expanded, so a file of a few hundred bytes could take gigabytes before any check.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from orchestration.definitions.problems import DefinitionError, error
from orchestration.json_numbers import first_non_finite
from orchestration.json_values import MAX_DEPTH, first_unplain, larger_than

# Far more than any flow needs (a 200-step flow has ~5,000).
MAX_VALUES = 100_000

TOP_ORDER = (
    "format", "flow", "input_schema", "baseline", "business_key", "steps", "connections",
)  # fmt: skip
FLOW_ORDER = ("name", "slug", "description", "owner", "exception_owner")
STEP_ORDER = (
    "id", "kind", "label", "owner", "description", "reads", "writes", "sensitivity", "tags",
    "config", "retry", "timeout_seconds", "sla", "on_error", "compensation", "output_schema",
    "position",
)  # fmt: skip
CONNECTION_ORDER = ("from", "to", "condition", "default", "label")


class _Loader(yaml.SafeLoader):
    pass


# Keep every implicit resolver except YAML 1.1's booleans, timestamps, numbers and merge
# keys; add YAML 1.2's booleans and numbers (no base 60: `1:30` is text, not 90; `012`
# is 12). Without its resolver `<<` is read as text, and never expanded.
_YAML_11 = ("bool", "timestamp", "int", "float", "merge")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag.removeprefix("tag:yaml.org,2002:") not in _YAML_11]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}  # fmt: skip
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+)"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_constructor(
    "tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node), 10)
)


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or (
            isinstance(key_node, yaml.ScalarNode)
            and key_node.style is None
            and key_node.value == "<<"
        ):
            # Refused, not kept as an ordinary key: whoever wrote it expects the fields
            # copied in, and an unknown key '<<' would not tell them why that did not happen.
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "Podium does not read merge keys (<<); write the fields out in full",
                key_node.start_mark,
            )
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is not text", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key '{key}' appears twice", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str) -> dict[str, Any]:
    """The definition in `text`; DefinitionError (with the line) when it cannot be read."""
    try:
        loaded = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except RecursionError:
        raise DefinitionError(
            [error("yaml_invalid", f"The file nests more than {MAX_DEPTH} levels deep.")]
        ) from None
    except ValueError as exc:
        # Python's own limit on the digits of an integer, or a value its tag does not
        # fit, which PyYAML reports without a line.
        message = (
            "The file holds a number with over 100 digits."
            if "digits" in str(exc)
            else "The file holds a value its tag does not fit, such as !!float abc or "
            "!!int 0x1F (Podium reads numbers written in decimal only)."
        )
        raise DefinitionError([error("yaml_invalid", message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" near line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "it is not well formed"
        raise DefinitionError(
            [error("yaml_invalid", f"The file is not valid YAML{line}: {problem}.")]
        ) from None
    except yaml.reader.ReaderError as exc:
        raise DefinitionError(
            [
                error(
                    "yaml_invalid",
                    f"The file holds a character YAML does not allow (#x{exc.character:04x}, "
                    f"a control character) at character {exc.position + 1}.",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise DefinitionError(
            [error("yaml_invalid", f"The file is not valid YAML: {exc}.")]
        ) from None
    if not isinstance(loaded, dict):
        raise DefinitionError(
            [error("yaml_not_mapping", "The file must describe a flow as named fields "
                   "(format, steps, connections, ...), not a single value or a list.")]
        )  # fmt: skip
    if larger_than(loaded, MAX_VALUES):
        raise DefinitionError(
            [
                error(
                    "yaml_invalid",
                    f"The file describes more than {MAX_VALUES:,} values (its aliases, *name, "
                    "repeat too much); a flow needs far fewer.",
                )
            ]
        )
    where = first_non_finite(loaded)
    if where is not None:
        raise DefinitionError(
            [
                error(
                    "yaml_invalid",
                    f"The file holds an infinite or undefined number (.inf, .nan) at {where}.",
                )
            ]
        )
    problem = first_unplain(loaded)
    if problem is not None:
        raise DefinitionError([error("yaml_invalid", f"The file holds {problem}.")])
    return loaded


def _ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    known = {key: mapping[key] for key in order if key in mapping}
    return known | {key: mapping[key] for key in sorted(mapping) if key not in known}


def _arrange(definition: dict[str, Any]) -> dict[str, Any]:
    result = _ordered(definition, TOP_ORDER)
    if isinstance(result.get("flow"), dict):
        result["flow"] = _ordered(result["flow"], FLOW_ORDER)
    for name, order in (("steps", STEP_ORDER), ("connections", CONNECTION_ORDER)):
        if isinstance(result.get(name), list):
            result[name] = [_ordered(x, order) if isinstance(x, dict) else x for x in result[name]]
    return result


# Asks how parse_yaml reads a plain value; the dumper's own rules are YAML 1.1's.
_READER = _Loader("")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a definition is a tree; anchors would only confuse readers


# YAML reads these as line breaks; only the double-quoted style keeps them exactly.
_SPECIAL_BREAKS = frozenset("\r\x85\u2028\u2029")


def _text(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    style = None
    if any(char in _SPECIAL_BREAKS for char in value):
        style = '"'
    elif "\n" in value and value == value.strip(" "):
        style = "|"  # multi-line descriptions stay readable
    elif _READER.resolve(yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
        style = "'"  # text parse_yaml would read as something else ("1e3", "true")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def to_yaml(definition: dict[str, Any]) -> str:
    """Readable YAML in a stable key order; parse_yaml(to_yaml(d)) == d."""
    return yaml.dump(
        _arrange(definition),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
