"""decide(): the decision record, routing to people, shadow mode, QA sampling, learning."""

from __future__ import annotations

import pytest

from approvals import actions
from approvals.models import HumanTask
from audit.models import AuditEvent, DecisionRecord
from orchestration.decisions.models import LlmEndpoint, ModelVersion
from orchestration.decisions.service import decide
from orchestration.decisions.tasks import retrain
from tests.orchestration.decisions.conftest import case, decision_step

pytestmark = pytest.mark.django_db


def test_a_confident_decision_is_automatic_and_recorded(reviewers):
    run, instance, context = case(amount=500)
    decision = decide(run, decision_step(), instance, context)
    assert decision.automatic
    assert decision.output["outcome"] == "approve"
    assert decision.output["decided_by"] == "ai"
    assert decision.output["confidence"] == 0.95
    record = DecisionRecord.objects.get(pk=decision.output["record_id"])
    assert (record.route, record.final_outcome, record.decided_by_kind) == (
        "automatic",
        "approve",
        "ai",
    )
    assert record.inputs == {"amount": 500, "country": "FR"}
    assert record.threshold == 0.8 and record.provider == "rules"
    assert HumanTask.objects.count() == 0
    assert AuditEvent.objects.filter(
        stream=f"decision:{record.pk}", action="decision.proposed"
    ).exists()


def test_a_low_confidence_decision_goes_to_the_review_team_with_the_proposal(reviewers):
    run, instance, context = case(amount=2000)
    decision = decide(run, decision_step(), instance, context)
    assert not decision.automatic
    task = decision.task
    assert (task.kind, task.assignee_team, task.status) == ("review", reviewers, "open")
    assert task.proposal["outcome"] == "approve" and task.proposal["confidence"] == 0.6
    assert task.proposal["route_label"] == "Confidence below the threshold"
    assert task.decision_record_id == decision.output["record_id"]


def test_a_policy_guard_sends_even_a_confident_case_to_a_person(reviewers):
    run, instance, context = case(amount=500, country="XX")
    step = decision_step(guards=["data.country == 'XX'"])
    decision = decide(run, step, instance, context)
    assert not decision.automatic
    assert decision.record.route == "guard"
    assert decision.task.proposal["checks"][0]["label"] == "Policy: country is 'XX'"


def test_never_automatic_outcomes_go_to_a_person(reviewers):
    run, instance, context = case(amount=90000)
    step = decision_step(threshold=0.5, never_automatic=["reject"])
    decision = decide(run, step, instance, context)
    assert decision.record.route == "never_automatic"


def test_below_the_lower_band_the_review_is_urgent_and_goes_up_a_level(reviewers):
    from tests.factories import TeamFactory

    TeamFactory(name="Credit leads")
    run, instance, context = case(amount=90000)
    step = decision_step(
        bands={"auto_above": 0.9, "escalate_below": 0.75},
        escalation=[{"after_minutes": 30, "action": "reassign", "to": "team:Credit leads"}],
    )
    decision = decide(run, step, instance, context)
    assert decision.record.route == "escalate"
    assert (decision.task.priority, decision.task.assignee_team.name) == (4, "Credit leads")
    assert decision.task.status == "escalated"


def test_shadow_mode_records_the_ai_but_a_person_decides_blind(reviewers):
    run, instance, context = case(amount=500)
    decision = decide(run, decision_step(shadow=True), instance, context)
    assert not decision.automatic
    assert decision.record.route == "shadow" and decision.record.proposed_outcome == "approve"
    assert decision.task.proposal["blind"] and decision.task.proposal["outcome"] == ""


def test_agreement_in_shadow_mode_is_tracked_on_the_record(reviewers, engine):
    from django.contrib.auth.models import User

    riley = User.objects.get(username="riley")
    run, instance, context = case(amount=500)
    decision = decide(run, decision_step(shadow=True), instance, context)
    actions.decide(decision.task, riley, "reject", "")  # blind: no reason needed
    record = DecisionRecord.objects.get(pk=decision.record.pk)
    assert (record.final_outcome, record.decided_by, record.overrode_ai) == (
        "reject",
        "riley",
        True,
    )


def test_qa_sampling_sends_a_share_of_automatic_decisions_to_blind_review(reviewers):
    run, instance, context = case(amount=500)
    decision = decide(run, decision_step(qa_sample_rate=1.0), instance, context)
    assert decision.automatic
    qa = HumanTask.objects.get(kind="qa")
    assert qa.proposal["blind"] and qa.title.startswith("Quality check:")
    run, instance, context = case(amount=400)
    assert decide(run, decision_step(qa_sample_rate=0.0), instance, context).automatic
    assert HumanTask.objects.filter(kind="qa").count() == 1


def test_a_qa_review_records_agreement_without_touching_the_engine(reviewers, engine):
    from django.contrib.auth.models import User

    run, instance, context = case(amount=500)
    decide(run, decision_step(qa_sample_rate=1.0), instance, context)
    qa = HumanTask.objects.get(kind="qa")
    actions.decide(qa, User.objects.get(username="riley"), "reject", "")
    assert engine.calls == []
    event = AuditEvent.objects.get(action="decision.qa_reviewed")
    assert event.payload["agreed"] is False


def test_an_llm_answering_nonsense_sends_the_case_to_a_person_with_the_reason(
    reviewers, llm_server
):
    LlmEndpoint.objects.create(
        name="local", base_url=llm_server.url, model="tiny", timeout_seconds=2
    )
    llm_server.reply = "I think approve?"
    run, instance, context = case(amount=500)
    step = decision_step(providers=[{"type": "llm", "endpoint": "local"}])
    decision = decide(run, step, instance, context)
    assert not decision.automatic
    assert decision.record.route == "fallback"
    assert "not JSON" in decision.task.proposal["errors"][0]


def test_a_person_overriding_the_ai_is_recorded_with_the_reason(reviewers, engine):
    from django.contrib.auth.models import User

    run, instance, context = case(amount=2000)
    decision = decide(run, decision_step(), instance, context)
    riley = User.objects.get(username="riley")
    actions.decide(decision.task, riley, "reject", "Supplier under investigation")
    record = DecisionRecord.objects.get(pk=decision.record.pk)
    assert (record.proposed_outcome, record.final_outcome) == ("approve", "reject")
    assert (record.decided_by_kind, record.decided_by, record.overrode_ai) == (
        "user",
        "riley",
        True,
    )
    assert record.reviewer_reason == "Supplier under investigation"
    assert engine.calls[0]["output"]["overrode_ai"] is True


LEARNED = [{"type": "learned", "min_samples": 12, "retrain_every": 4}]


def _human_decisions(n, start=0):
    from django.contrib.auth.models import User

    riley = User.objects.get(username="riley")
    for i in range(start, start + n):
        amount = 100 + 400 * i
        run, instance, context = case(amount=amount, country="FR" if i % 3 else "DE")
        decision = decide(run, decision_step(providers=LEARNED, threshold=0.999), instance, context)
        if not decision.automatic:
            actions.decide(
                decision.task, riley, "approve" if amount < 3000 else "reject", "by the book"
            )


def test_learning_from_people_retrains_every_k_decisions_and_pins_versions(
    reviewers, engine, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _human_decisions(11)
        assert ModelVersion.objects.count() == 0  # cold start: everything went to people
        assert DecisionRecord.objects.filter(route="no_answer").count() == 11
        with django_capture_on_commit_callbacks(execute=True):
            _human_decisions(1, start=11)
        v1 = ModelVersion.objects.get()
        assert (v1.number, v1.trained_on) == (1, 12)
        assert set(v1.classes) == {"approve", "reject"}

        run, instance, context = case(amount=150)
        decision = decide(run, decision_step(providers=LEARNED), instance, context)
        assert decision.record.model_version == v1.label
        assert 0 <= decision.record.confidence <= 1

        with django_capture_on_commit_callbacks(execute=True):
            _human_decisions(4, start=20)
        assert ModelVersion.objects.count() >= 2
        assert DecisionRecord.objects.get(pk=decision.record.pk).model_version == v1.label
    finally:
        app.conf.task_always_eager = False


def test_retraining_twice_keeps_one_version_per_batch(reviewers, engine):
    _human_decisions(12)
    retrain(
        flow_id=DecisionRecord.objects.first().flow_id,
        step_id="credit_check",
        settings={"min_samples": 12},
    )
    retrain(
        flow_id=DecisionRecord.objects.first().flow_id,
        step_id="credit_check",
        settings={"min_samples": 12},
    )
    assert ModelVersion.objects.count() == 1


def test_agreement_with_people_is_counted_per_step(reviewers, engine):
    from django.contrib.auth.models import User

    from orchestration.decisions.stats import agreement

    riley = User.objects.get(username="riley")
    for amount, outcome in ((500, "approve"), (600, "approve"), (700, "reject")):
        run, instance, context = case(amount=amount)
        decision = decide(run, decision_step(shadow=True), instance, context)
        actions.decide(decision.task, riley, outcome, "")
    found = agreement(instance.flow_id, "credit_check", shadow_only=True)
    assert (found.compared, found.agreed) == (3, 2)
    assert found.rate == pytest.approx(2 / 3)


def test_an_unanswered_review_expires_and_the_record_says_so(reviewers, engine):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from approvals.escalation import sweep

    run, instance, context = case(amount=2000)
    decision = decide(run, decision_step(), instance, context)
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        sweep()
    record = DecisionRecord.objects.get(pk=decision.record.pk)
    assert (record.final_outcome, record.decided_by_kind, record.decided_by) == (
        "expired",
        "system",
        "SLA sweep",
    )
    assert engine.calls[-1]["output"]["outcome"] == "expired"
