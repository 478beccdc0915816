"""An operator working cases through the case page, with the real engine: what is
offered matches what the engine accepts, a stale page gets a message, stuck flags
clear when an operator acts, and the live timeline notices task changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from audit.chain import Actor
from audit.models import AuditEvent
from orchestration.engine.api import start_instance
from orchestration.models import FlowInstance, InstanceStatus, StepRun, StepStatus
from orchestration.steps.base import PermanentError
from orchestration.steps.python_action import action
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.engine.driver import EngineDriver
from tests.orchestration.factories import definition, link, published, step

pytestmark = pytest.mark.django_db
SWITCH = {"ledger_down": True, "release_down": False}


@action("tests.cases.post", label="Post to the ledger (down at first)")
def post_to_ledger() -> dict:
    if SWITCH["ledger_down"]:
        raise PermanentError("the ledger rejected the entry")
    return {"posted": True}


@action("tests.cases.release", label="Release the reservation")
def release() -> dict:
    if SWITCH["release_down"]:
        raise PermanentError("the hotel refused the release")
    return {"released": True}


@action("tests.cases.book", label="Reserve")
def book() -> dict:
    return {"booked": True}


@pytest.fixture(autouse=True)
def _switches():
    SWITCH.update(ledger_down=True, release_down=False)


@pytest.fixture
def eng(monkeypatch):
    return EngineDriver(monkeypatch)


@pytest.fixture
def owner():
    return UserFactory(username="olivia", first_name="Olivia", teams=[TeamFactory(name="Finance")])


def start(defn, owner, slug="cases"):
    version = published(defn, owner_team=owner.groups.first(), slug=slug)
    return start_instance(version, {}, trigger="manual", actor=Actor.user(owner))


def runs(instance, step_id):
    return list(StepRun.objects.filter(instance=instance, step_id=step_id).order_by("id"))


def act(client, instance, **data):
    url = reverse("orchestration:instance_act", args=[instance.pk])
    return client.post(url, data, HTTP_HX_REQUEST="true")


def page(client, instance):
    return client.get(reverse("orchestration:instance_detail", args=[instance.pk]))


def reserve_then_post(release_kind: str = "action") -> dict:
    release_step = (
        step("release", "action", config={"action": "tests.cases.release"})
        if release_kind == "action"
        else step("release", "approval", config={"assignees": ["team:Finance"]})
    )
    return definition(
        [
            step("start", "start"),
            step(
                "reserve", "action", config={"action": "tests.cases.book"}, compensation="release"
            ),
            step("post", "action", config={"action": "tests.cases.post"}),
            step("after", "set", config={"assign": {"went_on": "true"}}),
            step("done", "end"),
            release_step,
        ],
        [
            link("start", "reserve"),
            link("reserve", "post"),
            link("post", "after"),
            link("after", "done"),
        ],
    )


@pytest.mark.parametrize("release_kind", ["approval", "action"])
def test_a_case_being_rolled_back_offers_and_takes_no_forward_step(
    client, eng, owner, release_kind
):
    instance = start(reserve_then_post(release_kind), owner)
    eng.run()
    client.force_login(owner)
    SWITCH["release_down"] = True  # with an action, the roll-back fails at it
    assert act(client, instance, action="rollback", reason="Customer withdrew").status_code == 204
    eng.run()
    instance.refresh_from_db()
    assert instance.status in (InstanceStatus.COMPENSATING, InstanceStatus.FAILED)
    failed_post = runs(instance, "post")[-1]
    offered = [r.pk for r in page(client, instance).context["actionable_runs"]]
    assert failed_post.pk not in offered
    SWITCH["ledger_down"] = False
    for what in ("retry", "skip"):
        refused = act(
            client, instance, action=what, step_run=failed_post.pk, reason="Ledger is back"
        )
        assert refused.status_code == 409
        assert "only its compensation steps can be retried or skipped" in refused.content.decode()
    eng.run()
    assert runs(instance, "after") == []


def test_an_action_on_a_case_that_has_meanwhile_ended_says_so(client, eng, owner):
    instance = start(reserve_then_post(), owner)
    eng.run()
    client.force_login(owner)
    failed = runs(instance, "post")[-1]
    SWITCH["ledger_down"] = False
    assert (
        act(
            client, instance, action="retry", step_run=failed.pk, reason="First operator"
        ).status_code
        == 204
    )
    eng.run()
    for data in ({"action": "skip", "step_run": failed.pk}, {"action": "cancel"}):
        stale = act(client, instance, reason="Second operator", **data)
        assert stale.status_code == 409
        assert "can no longer be changed" in stale.content.decode()
        assert 'data-testid="action-error"' in stale.content.decode()


def approval_flow() -> dict:
    return definition(
        [
            step("start", "start"),
            step("approve", "approval", config={"assignees": ["team:Finance"]}),
            step("done", "end"),
        ],
        [link("start", "approve"), link("approve", "done")],
    )


def test_the_live_timeline_notices_a_task_being_claimed(client, eng, owner):
    from approvals import actions as task_actions
    from approvals.models import HumanTask

    instance = start(approval_flow(), owner)
    eng.run()
    client.force_login(owner)
    url = reverse("orchestration:instance_live", args=[instance.pk])
    stamp = client.get(url, HTTP_HX_REQUEST="true").context["stamp"]
    assert client.get(url, {"since": stamp}, HTTP_HX_REQUEST="true").status_code == 204
    task_actions.claim(HumanTask.objects.get(instance=instance), owner)
    assert client.get(url, {"since": stamp}, HTTP_HX_REQUEST="true").status_code == 200


def strands_a_join() -> dict:
    """One branch never reaches the join: it waits alone and the sweep flags the case."""
    return definition(
        [
            step("start", "start"),
            step("hold", "set", config={"assign": {"held": "true"}}, compensation="release"),
            step("split", "parallel"),
            step("a", "set", config={"assign": {"a": "true"}}),
            step("b", "branch"),
            step("side", "set", config={"assign": {"side": "true"}}),
            step("join", "join"),
            step("done", "end"),
            step("release", "set", config={"assign": {"held": "false"}}),
        ],
        [
            link("start", "hold"),
            link("hold", "split"),
            link("split", "a"),
            link("split", "b"),
            link("a", "join"),
            link("b", "join", condition="false"),
            link("b", "side", default=True),
            link("join", "done"),
        ],
    )


def stuck_case(eng, owner):
    instance = start(strands_a_join(), owner)
    eng.run()
    eng.sweep(timedelta(minutes=5))
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.RUNNING and instance.stuck_since is not None
    return instance


def test_a_case_stuck_at_a_lone_join_is_not_offered_resume(client, eng, owner):
    instance = stuck_case(eng, owner)
    client.force_login(owner)
    assert page(client, instance).context["can_resume"] is False
    refused = act(client, instance, action="resume", reason="Try again please")
    assert refused.status_code == 409
    assert "Nothing is left to run in this case" in refused.content.decode()


@pytest.mark.parametrize("what", ["rollback", "cancel", "skip"])
def test_acting_on_a_stuck_case_clears_its_stuck_flag(client, eng, owner, what):
    instance = stuck_case(eng, owner)
    client.force_login(owner)
    join = runs(instance, "join")[-1]
    assert (
        act(client, instance, action=what, step_run=join.pk, reason="Give up on it").status_code
        == 204
    )
    eng.run()
    instance.refresh_from_db()
    assert instance.stuck_since is None
    assert (
        ">Stuck</span>" not in client.get(reverse("orchestration:instance_list")).content.decode()
    )


def test_cancelling_a_child_case_tells_its_parent_at_once_with_the_reason(client, eng, owner):
    published(approval_flow(), owner_team=owner.groups.first(), slug="child")
    parent = start(
        definition(
            [
                step("start", "start"),
                step("sub", "subflow", config={"flow": "child"}),
                step("done", "end"),
            ],
            [link("start", "sub"), link("sub", "done")],
        ),
        owner,
        slug="parent",
    )
    eng.run()
    child = FlowInstance.objects.get(parent_step_run__instance=parent)
    client.force_login(owner)
    assert act(client, child, action="cancel", reason="Not needed any more").status_code == 204
    eng.run()
    (sub,) = runs(parent, "sub")
    assert sub.status == StepStatus.FAILED
    assert sub.error == f"The sub-flow case #{child.pk} ended cancelled: Not needed any more"
    assert AuditEvent.objects.filter(instance_id=child.pk, action="instance.cancelled").exists()


def test_resuming_a_case_says_which_step_is_still_failed(client, eng, owner):
    defn = definition(
        [
            step("start", "start"),
            step("split", "parallel"),
            step(
                "post", "action", label="Post to the ledger", config={"action": "tests.cases.post"}
            ),
            step("pause", "timer", config={"duration_seconds": 600}),
            step("both", "join"),
            step("end", "end"),
        ],
        [
            link("start", "split"),
            link("split", "post"),
            link("split", "pause"),
            link("post", "both"),
            link("pause", "both"),
            link("both", "end"),
        ],
    )
    instance = start(defn, owner)
    eng.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    client.force_login(owner)
    act(client, instance, action="resume", reason="Let the timer run on")
    shown = page(client, instance).content.decode()
    assert "Case resumed." in shown
    assert "Still failed: “Post to the ledger”. What comes after it waits until you retry" in shown
