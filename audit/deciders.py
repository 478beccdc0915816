"""Who made a decision, as screens name them.

A decision record keeps the decider's user name as it was when they decided: that is
the evidence, and it must not change. Screens show the person's full name instead,
looked up when shown; a user name that no longer belongs to anyone is shown as stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from audit.models import DecisionRecord
from orchestration.readable import people_names


def name_deciders(records: Iterable[DecisionRecord]) -> None:
    """Set `decider` on each record: who decided, in words ("" if nobody has yet); the
    AI and the SLA sweep by the label they were recorded with. One query."""
    records = list(records)
    people = people_names(r.decided_by for r in records if r.decided_by_kind == "user")
    for record in records:
        record.decider = people.get(record.decided_by, record.decided_by)
