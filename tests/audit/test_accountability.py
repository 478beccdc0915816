"""The accountability register and the ownership-gap report."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.utils import timezone

from audit import events
from audit.accountability import ownership_gaps, register
from tests.audit.conftest import DEFINITION
from tests.factories import FlowFactory, FlowVersionFactory, TeamFactory, UserFactory


def _gaps(flow):
    return {(g.code, g.step_id) for g in ownership_gaps([flow])}


@pytest.mark.django_db
def test_a_well_owned_flow_has_no_gaps(flow, owner, lee):
    flow.exception_owner_user = lee
    flow.save()
    assert ownership_gaps([flow]) == []


@pytest.mark.django_db
def test_it_lists_each_kind_of_gap(owner):
    finance = owner.groups.get()
    empty = TeamFactory(name="Night shift")
    UserFactory(username="gone", is_active=False)
    definition = copy.deepcopy(DEFINITION)
    steps = {s["id"]: s for s in definition["steps"]}
    del steps["pay"]["owner"]
    steps["classify"]["config"].pop("review_team")
    steps["approve"]["owner"] = "user:gone"
    steps["approve"]["config"]["assignees"] = "team:Night shift"
    steps["approve"]["config"]["escalation"][-1]["to"] = "team:Nobody"
    flow = FlowFactory(slug="gappy", owner_team=finance, exception_owner_team=empty)
    FlowVersionFactory(flow=flow, definition=definition)
    found = _gaps(flow)
    assert ("no_owner", "pay") in found
    assert ("no_fallback", "classify") in found
    assert ("inactive_owner", "approve") in found
    assert ("unclaimable", "approve") in found
    assert ("dead_end_escalation", "approve") in found
    assert ("empty_team", "") in found  # the exception owner team has nobody


@pytest.mark.django_db
def test_a_flow_without_an_accountable_owner_is_a_gap(db):
    flow = FlowFactory(slug="orphan", owner_team=None)
    assert ("no_owner", "") in _gaps(flow)


@pytest.mark.django_db
def test_the_register_lists_every_duty_with_its_holder(flow):
    reg = register(flow)
    rows = {(d.step_id, d.role): [str(h) for h in d.holders] for d in reg.duties}
    assert rows[("", "Accountable owner")] == ["team:Finance"]
    assert rows[("", "Exception owner")] == []
    assert rows[("classify", "Step owner")] == ["team:Finance"]
    assert rows[("classify", "Review team")] == ["team:Finance"]
    assert rows[("approve", "Approvers")] == ["team:Finance"]
    assert rows[("approve", "Escalation 2 after 240 min: reassign to")] == ["user:lee"]


@pytest.mark.django_db
def test_since_when_follows_published_versions(flow):
    first = flow.versions.get()
    first.published_at = timezone.now() - timedelta(days=30)
    first.status = "retired"
    first.save()
    changed = copy.deepcopy(DEFINITION)
    changed["steps"][1]["config"]["review_team"] = "team:Risk"
    second = FlowVersionFactory(flow=flow, number=2, definition=changed)
    duties = {(d.step_id, d.role): d for d in register(flow).duties}
    assert duties[("classify", "Step owner")].since == first.published_at
    assert duties[("classify", "Review team")].since == second.published_at
    assert duties[("classify", "Review team")].source == "version 2"


@pytest.mark.django_db
def test_an_owner_change_is_an_audit_event_and_dates_the_register(flow, owner, lee):
    events.ownership_changed(flow, owner, "exception_owner_user", None, lee, "Lee runs payments")
    flow.exception_owner_user = lee
    flow.save()
    duty = next(d for d in register(flow).duties if d.role == "Exception owner")
    assert [str(h) for h in duty.holders] == ["user:lee"]
    assert duty.source == "changed by olivia: “Lee runs payments”"
    assert duty.since > flow.created_at
