"""The plain-English names of audit actions."""

from __future__ import annotations

from audit.labels import ACTION_LABELS, action_label
from audit.search import COMMON_ACTIONS


def test_the_search_suggests_only_actions_that_podium_records():
    assert set(COMMON_ACTIONS) <= set(ACTION_LABELS)
    assert "version.published" in COMMON_ACTIONS and "task.opened" in COMMON_ACTIONS


def test_an_action_without_a_name_is_spelled_out_from_its_code():
    assert action_label("instance.started") == "Case started"
    assert action_label("step.retry_scheduled") == "Step retry scheduled"
