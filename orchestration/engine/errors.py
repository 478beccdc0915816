"""Errors the engine's public operations raise, with messages a person can read."""

from __future__ import annotations


class EngineError(Exception):
    """An operation the engine refuses, with a message a person can read."""


class InputInvalid(EngineError):
    """Flow input failed the flow's input schema; `problems` lists each field's message."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class NotAllowedNow(EngineError):
    """The case or step is not in a state that allows this (e.g. already finished)."""
