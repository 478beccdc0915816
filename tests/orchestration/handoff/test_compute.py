from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import HumanTask
from orchestration.handoff import canvas, compute
from tests.factories import (
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    StepRunFactory,
    TeamFactory,
    UserFactory,
)
from tests.orchestration.factories import definition, link, step

T0 = timezone.now() - timedelta(days=1)


def claims_definition():
    return definition(
        [
            step("start", "start"),
            step(
                "score",
                "decision",
                owner="team:Claims",
                config={
                    "providers": [
                        {"type": "rules", "table": [{"when": "data.amount < 10", "outcome": "pay"}]}
                    ]
                },
            ),
            step("route", "branch", owner="team:Claims"),
            step("review", "approval", owner="team:Claims", config={"assignees": ["team:Claims"]}),
            {
                "id": "pay",
                "kind": "http",
                "label": "Pay",
                "config": {"url": "https://bank.example.com/pay"},
            },
            step("done", "end"),
        ],
        [
            link("start", "score"),
            link("score", "route"),
            link("route", "review", condition="data.risky"),
            link("route", "pay", default=True),
            link("review", "pay"),
            link("review", "score", condition="data.resubmit"),
            link("pay", "done"),
        ],
    )


@pytest.fixture
def flow(db):
    claims = TeamFactory(name="Claims")
    flow = FlowFactory(name="Claims", slug="claims", owner_team=claims)
    version = FlowVersionFactory(flow=flow, number=1, definition=claims_definition())
    return flow, version


def run_case(version, key, path):
    """path: [(step_id, kind, minutes from T0 created, minutes finished)]"""
    instance = FlowInstanceFactory(version=version, business_key=key, status="succeeded")
    runs = []
    for step_id, kind, created, finished in path:
        run = StepRunFactory(instance=instance, step_id=step_id, kind=kind, status="succeeded")
        run.created_at = T0 + timedelta(minutes=created)
        run.finished_at = T0 + timedelta(minutes=finished) if finished is not None else None
        run.save(update_fields=["created_at", "finished_at"])
        runs.append(run)
    return instance, runs


def test_without_runs_the_map_shows_the_designed_handoffs(flow):
    _flow, version = flow
    result = compute.build(_flow, version, None)
    assert not result.has_runs
    assert set(result.actors) == {
        "start",
        "ai:rules",
        "team:Claims",
        "system:bank.example.com",
        "finish",
    }
    keys = set(result.handoffs)
    # The branch only routes: the AI hands straight to the team and to the bank.
    assert {
        "ai:rules=>team:Claims",
        "ai:rules=>system:bank.example.com",
        "team:Claims=>system:bank.example.com",
        "start=>ai:rules",
    } <= keys
    assert all(h.designed and h.cases == 0 for h in result.handoffs.values())
    assert result.handoffs["team:Claims=>ai:rules"].rework  # review sends work back to score


def test_the_gaps_are_highlighted(flow):
    _flow, version = flow
    texts = [h["text"] for h in compute.build(_flow, version, None).highlights]
    assert "“Score” decides with AI but names no person to fall back to" in texts
    assert "“Pay” calls an outside system but has no error path" in texts
    assert "“Pay” has no accountable owner" in texts
    # ...and the accountability register's gaps: nobody is in the Claims team yet.
    assert "Step “Review”: nobody can claim its tasks (Team Claims)." in texts


def test_runs_give_cases_median_and_p90_and_the_slowest_handoff(flow):
    _flow, version = flow
    for i, wait in enumerate([10, 20, 30, 40, 600]):
        run_case(
            version,
            f"C-{i}",
            [
                ("start", "start", 0, 0),
                ("score", "decision", 0, 1),
                ("route", "branch", 1, 1),
                ("review", "approval", 1, 1 + wait),
                ("pay", "http", 1 + wait, 2 + wait),
                ("done", "end", 2 + wait, 2 + wait),
            ],
        )
    result = compute.build(_flow, version, compute.period_start("30"))
    review = result.handoffs["ai:rules=>team:Claims"]
    assert review.cases == 5
    assert review.median == 30 * 60
    assert review.p90 == 600 * 60
    assert review.slow
    to_bank = result.handoffs["team:Claims=>system:bank.example.com"]
    assert to_bank.median == 60
    assert not to_bank.slow and not to_bank.rework  # only the slowest; review → pay goes forward
    edges = {e["data"]["id"]: e for e in canvas.elements(result) if e["group"] == "edges"}
    assert edges["ai:rules=>team:Claims"]["data"]["label"] == "5 cases\nmedian 30m · p90 10h"


def test_a_human_task_sets_the_waiting_time_and_open_work_counts_until_now(flow):
    _flow, version = flow
    _instance, runs = run_case(
        version,
        "C-9",
        [
            ("start", "start", 0, 0),
            ("score", "decision", 0, 1),
            ("review", "approval", 1, None),
        ],
    )
    task = HumanTask.objects.create(
        step_run=runs[2], instance=runs[2].instance, flow=_flow, title="Review C-9"
    )
    HumanTask.objects.filter(pk=task.pk).update(created_at=T0)
    result = compute.build(_flow, version, None)
    passage = result.handoffs["ai:rules=>team:Claims"].passages[0]
    assert passage.open
    assert passage.waited > 23 * 3600


def test_work_sent_back_is_a_rework_loop(flow):
    _flow, version = flow
    run_case(
        version,
        "C-1",
        [
            ("start", "start", 0, 0),
            ("score", "decision", 0, 1),
            ("review", "approval", 1, 5),
            ("score", "decision", 5, 6),
            ("review", "approval", 6, 9),
            ("pay", "http", 9, 10),
        ],
    )
    result = compute.build(_flow, version, None)
    back = result.handoffs["team:Claims=>ai:rules"]
    assert back.rework and back.reworked == 1
    assert any(h["kind"] == "rework" for h in result.highlights)


class TestViews:
    def test_the_map_edge_and_actor_pages(self, client, flow):
        _flow, version = flow
        run_case(
            version,
            "C-1",
            [("start", "start", 0, 0), ("score", "decision", 0, 1), ("review", "approval", 1, 31)],
        )
        user = UserFactory(username="cleo", teams=[_flow.owner_team])
        client.force_login(user)
        page = client.get(reverse("orchestration:handoff", args=["claims"]))
        assert page.status_code == 200
        assert b"Who holds the work" in page.content
        edge = client.get(
            reverse("orchestration:handoff_edge", args=["claims"]),
            {"edge": "ai:rules=>team:Claims", "period": "30"},
            headers={"HX-Request": "true"},
        )
        assert edge.status_code == 200
        assert "C-1" in edge.content.decode() and "30m" in edge.content.decode()
        actor = client.get(
            reverse("orchestration:handoff_actor", args=["claims"]),
            {"actor": "team:Claims"},
            headers={"HX-Request": "true"},
        )
        assert "Owns 1 step" in actor.content.decode()

    def test_an_outsider_gets_404(self, client, flow):
        client.force_login(UserFactory(username="nobody"))
        assert client.get(reverse("orchestration:handoff", args=["claims"])).status_code == 404
