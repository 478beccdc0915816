"""The registry of step executors, keyed by the kind names of the definition format."""

from __future__ import annotations

from orchestration.steps.base import StepExecutor

_EXECUTORS: dict[str, StepExecutor] = {}
_LOADED: list[bool] = []


def register(executor_class: type[StepExecutor]) -> type[StepExecutor]:
    _EXECUTORS[executor_class.kind] = executor_class()
    return executor_class


def executor_for(kind: str) -> StepExecutor:
    _load()
    try:
        return _EXECUTORS[kind]
    except KeyError:
        from orchestration.steps.base import PermanentError

        raise PermanentError(f"Podium does not know the step kind '{kind}'.") from None


def kinds() -> list[str]:
    _load()
    return sorted(_EXECUTORS)


def _load() -> None:
    if not _LOADED:
        from orchestration.steps import (  # noqa: F401  (each module registers itself)
            control,
            events,
            http,
            notify,
            people,
            python_action,
            subflow,
        )

        _LOADED.append(True)
