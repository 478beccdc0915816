"""Masking of sensitive fields, per flow (Flow.masked_fields), on screen and in exports.

A masked field is named either by its key ("iban": masked wherever it appears) or by a
dotted path from the top of the data ("customer.email"). Masking keeps the shape of
the data and replaces the value, so a reader sees that a value existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "•••• masked"


class Masker:
    """Masks the fields of each flow and remembers which ones it actually masked."""

    def __init__(self, fields_by_flow: dict[int, list[str]]):
        self.rules = {
            flow_id: _rules(fields) for flow_id, fields in fields_by_flow.items() if fields
        }
        self.applied: set[str] = set()

    @classmethod
    def for_flows(cls, flow_ids: Iterable[int | None]) -> Masker:
        from orchestration.models import Flow

        ids = {i for i in flow_ids if i is not None}
        rows = Flow.objects.filter(pk__in=ids).values_list("pk", "masked_fields")
        return cls({pk: list(fields or []) for pk, fields in rows})

    def fields(self, flow_id: int | None) -> list[str]:
        names, paths = self.rules.get(flow_id, (set(), set()))  # type: ignore[arg-type]
        return sorted(names | paths)

    def mask(self, flow_id: int | None, value: Any) -> Any:
        rules = self.rules.get(flow_id)  # type: ignore[arg-type]
        if not rules:
            return value
        return self._walk(value, "", rules)

    def _walk(self, value: Any, path: str, rules: tuple[set[str], set[str]]) -> Any:
        names, paths = rules
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                here = f"{path}.{key}" if path else str(key)
                if str(key).lower() in names or here.lower() in paths:
                    out[key] = MASK
                    self.applied.add(here)
                else:
                    out[key] = self._walk(item, here, rules)
            return out
        if isinstance(value, list):
            return [self._walk(item, path, rules) for item in value]
        return value

    def mask_text(self, flow_id: int | None, field: str, value: Any) -> Any:
        """A top-level field of a record (e.g. business_key) listed as masked."""
        names, paths = self.rules.get(flow_id, (set(), set()))  # type: ignore[arg-type]
        if value not in (None, "") and (field in names or field in paths):
            self.applied.add(field)
            return MASK
        return value


def _rules(fields: Iterable[str]) -> tuple[set[str], set[str]]:
    names, paths = set(), set()
    for field in fields:
        text = str(field).strip().lower()
        if not text:
            continue
        (paths if "." in text else names).add(text)
    return names, paths
