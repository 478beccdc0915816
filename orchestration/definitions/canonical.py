"""Canonical JSON of a definition and its checksum."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(definition: dict[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 text: equal definitions give equal text."""
    return json.dumps(
        definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def checksum(definition: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON; pins exactly what a published version runs.

    The `flow:` block is left out: it only names the flow and its owners, which live on
    the flow itself, and an export writes one even for a version drawn without it, so
    exporting a version and importing it again must not change its checksum.
    """
    runs = {key: value for key, value in definition.items() if key != "flow"}
    return hashlib.sha256(canonical_json(runs).encode()).hexdigest()
