"""Flow definitions: a versioned JSON graph with a YAML form (see docs/flow-format.md)."""

from orchestration.definitions.canonical import checksum
from orchestration.definitions.problems import DefinitionError, Problem, has_errors

__all__ = ["DefinitionError", "Problem", "checksum", "has_errors"]
