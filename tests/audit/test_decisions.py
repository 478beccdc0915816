"""Reconstructing a decision, and the plain-language summary of why the case went there."""

from __future__ import annotations

import pytest

from audit.decisions import reconstruct
from audit.masking import MASK


@pytest.mark.django_db
def test_it_reconstructs_what_the_decision_saw_and_what_followed(decision, case):
    found = reconstruct(decision)
    assert found.version.number == 1
    assert found.step["label"] == "Approve the invoice?"
    assert found.inputs["iban"] == MASK and found.inputs["amount"] == 1200
    assert found.masked == ["iban"]
    assert [c["label"] for c in found.failed_checks] == ["Large amount"]
    assert found.confident is False
    assert found.next_steps == ["Second approval"]


@pytest.mark.django_db
def test_the_summary_explains_a_human_override_in_plain_words(decision):
    why = " ".join(reconstruct(decision).why())
    assert "case “INV-2026-0042” of the flow “Supplier invoices” (version 1)" in why
    assert "proposed “approve” with 62% confidence" in why
    assert "acts alone only at 80% or above" in why
    assert "Policy check “Large amount” did not pass: amount 1200 is above 1000." in why
    assert "a policy guard requires a person, the case went to the Finance team" in why
    assert "Lee Lead decided “reject”" in why
    assert "overriding the AI's proposal “approve”" in why
    assert "Their reason: “Supplier bank details changed last week.”" in why
    assert "Afterwards the case went on to “Second approval” and is still running." in why


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status, ending",
    [("succeeded", "and has succeeded."), ("compensated", "and was rolled back.")],
)
def test_the_summary_says_where_the_case_is_now_in_plain_words(decision, case, status, ending):
    type(case).objects.filter(pk=case.pk).update(status=status)
    why = reconstruct(decision).why()
    assert why[-1].endswith(ending)


@pytest.mark.django_db
def test_a_decider_whose_account_is_gone_is_named_as_recorded(decision, lee):
    lee.delete()
    why = " ".join(reconstruct(decision).why())
    assert "lee decided “reject”" in why


@pytest.mark.django_db
def test_the_summary_keeps_the_capitals_of_why_the_case_went_to_a_person(decision):
    decision.route = "no_answer"
    why = " ".join(reconstruct(decision).why())
    assert "Because the AI had no answer, the case went to" in why


@pytest.mark.django_db
def test_the_summary_of_an_automatic_decision_says_no_person_was_needed(case):
    from audit.models import DecisionRecord

    record = DecisionRecord.objects.create(
        instance_id=case.pk,
        step_run_id=1,
        flow_id=case.flow_id,
        flow_version_id=case.version_id,
        step_id="classify",
        provider="rules",
        confidence=0.95,
        threshold=0.8,
        route="automatic",
        proposed_outcome="approve",
        final_outcome="approve",
        decided_by_kind="ai",
        decided_by="rules",
        policy_checks=[{"label": "Limit", "result": "pass"}],
    )
    why = " ".join(reconstruct(record).why())
    assert "The confidence was high enough." in why
    assert "All 1 policy check passed." in why
    assert "applied automatically" in why
    assert "decided “" not in why
