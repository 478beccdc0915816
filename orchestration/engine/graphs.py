"""Parsed flow graphs by version. Published versions never change, so they are cached."""

from __future__ import annotations

from orchestration.definitions.graph import FlowGraph
from orchestration.models import FlowVersion, VersionStatus

_CACHE: dict[int, FlowGraph] = {}


def graph_for_version_id(version_id: int) -> FlowGraph:
    graph = _CACHE.get(version_id)
    if graph is None:
        version = FlowVersion.objects.only("definition", "status").get(pk=version_id)
        graph = FlowGraph(version.definition)
        if version.status != VersionStatus.DRAFT:
            _CACHE[version_id] = graph
    return graph


def clear_caches() -> None:
    """Forget parsed graphs and validators (tests reuse ids after rolling back)."""
    from orchestration.engine import starting

    _CACHE.clear()
    starting._VALIDATORS.clear()
