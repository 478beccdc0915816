"""The cases list (filters, keyset paging), one case's timeline, and operator actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orchestration.engine import api as engine
from orchestration.instance_views import PAGE_SIZE
from orchestration.models import FlowInstance
from tests.factories import (
    FlowFactory,
    FlowInstanceFactory,
    FlowVersionFactory,
    StepRunFactory,
    TeamFactory,
    UserFactory,
)
from tests.orchestration.screens_world import as_user, world  # noqa: F401

pytestmark = pytest.mark.django_db
LIST = "orchestration:instance_list"


class TestInstanceList:
    def test_it_lists_only_cases_of_visible_flows(self, world, as_user):  # noqa: F811
        hidden = FlowInstanceFactory(
            version=FlowVersionFactory(flow=FlowFactory(owner_team=TeamFactory()))
        )
        response = as_user(world.viewer).get(reverse(LIST))
        ids = [i.pk for i in response.context["instances"]]
        assert ids == [world.instance.pk]
        assert hidden.pk not in ids

    def test_an_outsider_sees_no_cases(self, world, as_user):  # noqa: F811
        response = as_user(world.outsider).get(reverse(LIST))
        assert response.context["instances"] == []
        assert b"No cases match" in response.content

    def test_it_filters_by_status_business_key_flow_and_owner(self, world, as_user):  # noqa: F811
        running = FlowInstanceFactory(version=world.version, status="running", business_key="INV-2")
        client = as_user(world.owner)
        by_status = client.get(reverse(LIST), {"status": "running"}).context["instances"]
        assert [i.pk for i in by_status] == [running.pk]
        by_key = client.get(reverse(LIST), {"business_key": "INV-1"}).context["instances"]
        assert [i.pk for i in by_key] == [world.instance.pk]
        by_start = client.get(reverse(LIST), {"business_key": "inv-"}).context["instances"]
        assert {i.pk for i in by_start} == {world.instance.pk, running.pk}
        by_flow = client.get(reverse(LIST), {"flow": world.flow.slug}).context["instances"]
        assert len(by_flow) == 2
        by_owner = client.get(reverse(LIST), {"owner_team": TeamFactory(name="X").pk})
        assert by_owner.context["instances"] == []

    def test_it_finds_the_cases_the_sweep_flagged_as_stuck(self, world, as_user):  # noqa: F811
        stuck = FlowInstanceFactory(version=world.version, stuck_since=timezone.now())
        FlowInstanceFactory(version=world.version)  # running and moving
        rolling_back = FlowInstanceFactory(
            version=world.version, status="compensating", stuck_since=timezone.now()
        )
        response = as_user(world.owner).get(reverse(LIST), {"status": "stuck"})
        assert [i.pk for i in response.context["instances"]] == [rolling_back.pk, stuck.pk]
        content = response.content.decode()
        assert '<option value="stuck" selected>Stuck</option>' in content
        assert "No step in progress" in content  # as the sweep finds stuck cases

    def test_it_finds_the_failed_cases_an_operator_can_still_put_right(self, world, as_user):  # noqa: F811
        FlowInstanceFactory(version=world.version, status="failed", finished_at=timezone.now())
        FlowInstanceFactory(version=world.version, status="running")
        response = as_user(world.owner).get(reverse(LIST), {"status": "needs_operator"})
        assert [i.pk for i in response.context["instances"]] == [world.instance.pk]
        content = response.content.decode()
        assert '<option value="needs_operator" selected>Failed, waiting for an operator' in content

    def test_it_filters_by_date_range(self, world, as_user):  # noqa: F811
        old = FlowInstanceFactory(version=world.version)
        FlowInstance.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - dt.timedelta(days=10)
        )
        today = timezone.localdate()
        client = as_user(world.owner)
        recent = client.get(reverse(LIST), {"created_from": today.isoformat()}).context["instances"]
        assert old.pk not in [i.pk for i in recent]
        until = (today - dt.timedelta(days=5)).isoformat()
        older = client.get(reverse(LIST), {"created_to": until}).context["instances"]
        assert [i.pk for i in older] == [old.pk]

    def test_the_first_and_last_days_of_the_calendar_bound_nothing(self, world, as_user):  # noqa: F811
        client = as_user(world.owner)
        for bounds in ({"created_from": "0001-01-01"}, {"created_to": "9999-12-31"}):
            response = client.get(reverse(LIST), bounds)
            assert response.status_code == 200
            assert world.instance in response.context["instances"]

    @pytest.mark.parametrize("before", ["abc", "0", "-5"])
    def test_a_hand_edited_page_link_says_so(self, world, as_user, before):  # noqa: F811
        response = as_user(world.owner).get(reverse(LIST), {"before": before})
        assert response.status_code == 200
        assert "This page link is not one Podium made" in response.content.decode()

    def test_it_pages_by_id_without_offsets_and_keeps_filters(self, world, as_user):  # noqa: F811
        FlowInstanceFactory.create_batch(PAGE_SIZE + 5, version=world.version, status="running")
        client = as_user(world.owner)
        first = client.get(reverse(LIST), {"status": "running"})
        rows = first.context["instances"]
        assert len(rows) == PAGE_SIZE
        assert "status=running" in first.context["next_query"]
        second = client.get(reverse(LIST) + "?" + first.context["next_query"])
        more = second.context["instances"]
        assert len(more) == 5
        assert max(i.pk for i in more) < min(i.pk for i in rows)
        assert second.context["next_query"] is None
        assert "older ones, from #" not in first.content.decode()
        position = f"· older ones, from #{max(i.pk for i in more)}</span>"
        assert position in second.content.decode()

    def test_the_page_query_has_no_offset_and_a_capped_count(self, world, as_user):  # noqa: F811
        client = as_user(world.owner)
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse(LIST), {"before": world.instance.pk + 1})
        sql = " ".join(q["sql"] for q in queries.captured_queries).upper()
        assert "OFFSET" not in sql
        assert "LIMIT 1001" in sql

    def test_it_names_who_started_a_case_as_the_flow_page_does(self, world, as_user):  # noqa: F811
        starter = UserFactory(username="oowner", first_name="Olivia", last_name="Owner")
        FlowInstanceFactory(version=world.version, started_by=starter)
        response = as_user(world.owner).get(reverse(LIST))
        assert "Olivia Owner" in response.content.decode()
        assert ">oowner<" not in response.content.decode()

    def test_it_says_where_each_case_is_now(self, world, as_user):  # noqa: F811
        world.version.definition = {
            "steps": [{"id": "approve", "kind": "approval", "label": "Manager approves"}],
            "connections": [],
        }
        world.version.save(update_fields=["definition"])
        waiting = FlowInstanceFactory(version=world.version, stuck_since=timezone.now())
        StepRunFactory(instance=waiting, step_id="approve", kind="approval", status="waiting")
        done = FlowInstanceFactory(version=world.version, status="succeeded")
        response = as_user(world.owner).get(reverse(LIST))
        rows = {i.pk: i for i in response.context["instances"]}
        assert rows[waiting.pk].now.steps[0].label == "Manager approves"
        assert rows[done.pk].now is None
        content = response.content.decode()
        assert "Waiting for a person" in content
        assert "Failed: Timed out" in content  # the world's failed case, at step "post"
        assert content.count(">Stuck</span>") == 1

    def test_htmx_gets_only_the_results_fragment(self, world, as_user):  # noqa: F811
        response = as_user(world.owner).get(reverse(LIST), HTTP_HX_REQUEST="true")
        assert b'id="results"' in response.content
        assert b"<html" not in response.content


class TestInstancePage:
    def test_it_shows_every_attempt_with_errors_and_tracebacks(self, world, as_user):  # noqa: F811
        StepRunFactory(
            instance=world.instance,
            step_id="post",
            kind="http",
            attempt=2,
            status="failed",
            error="Server said 503",
            traceback="Traceback (most recent call last): boom",
            worker="celery@w1",
            actor="Podium",
        )
        response = as_user(world.viewer).get(
            reverse("orchestration:instance_detail", args=[world.instance.pk])
        )
        content = response.content.decode()
        assert content.count('data-step="post"') == 2
        assert "attempt 2" in content
        assert "Server said 503" in content
        assert "<details" in content and "most recent call last" in content
        assert "celery@w1" in content

    def test_it_words_failure_kinds_and_drops_a_skipped_steps_error(self, world, as_user):  # noqa: F811
        StepRunFactory(
            instance=world.instance, step_id="post", kind="http", status="failed",
            error="Refused", error_kind="permanent",
        )  # fmt: skip
        StepRunFactory(
            instance=world.instance, step_id="book", status="skipped", error="Old trouble",
            error_kind="retryable", started_at=timezone.now(), finished_at=timezone.now(),
        )  # fmt: skip
        content = (
            as_user(world.viewer)
            .get(reverse("orchestration:instance_detail", args=[world.instance.pk]))
            .content.decode()
        )
        assert '<span class="badge bg-red-lt me-1">Will not work on retry</span> Refused' in content
        assert '<div class="text-secondary small">Call a web service</div>' in content
        book = content.split('data-step="book"')[1].split("</li>")[0]
        assert "Old trouble" not in book and "took" not in book

    def test_its_history_quotes_a_reason_once_and_a_cancelled_case_says_so(self, world, as_user):  # noqa: F811
        from tests.audit.builders import engine_events

        world.instance.status, world.instance.error = "cancelled", "Duplicate"
        world.instance.finished_at = timezone.now()
        world.instance.save()
        engine_events(
            world.instance,
            ("instance.failed", {"reason": "“Pay” failed: no money"}),
            ("instance.cancelled", {"reason": "Duplicate"}),
        )
        content = (
            as_user(world.viewer)
            .get(reverse("orchestration:instance_detail", args=[world.instance.pk]))
            .content.decode()
        )
        assert "— “Duplicate”" in content and "— “Pay” failed: no money" in content
        assert "Cancelled: Duplicate" in content

    def test_an_ai_proposal_awaiting_a_person_does_not_read_as_the_decision(self, world, as_user):  # noqa: F811
        from audit.models import DecisionRecord

        DecisionRecord.objects.create(
            instance_id=world.instance.pk,
            step_run_id=1,
            flow_id=world.flow.pk,
            flow_version_id=world.instance.version_id,
            step_id="triage",
            provider="rules",
            route="review",
            proposed_outcome="reject",
        )
        content = (
            as_user(world.owner)
            .get(reverse("orchestration:instance_detail", args=[world.instance.pk]))
            .content.decode()
        )
        records = content.split('data-testid="decisions"')[1].split("</div>\n    </div>")[0]
        assert "the AI proposes <strong>Reject</strong>" in records
        assert "waiting for a person" in records

    def test_it_names_people_who_acted_by_full_name_and_the_engine_as_such(self, world, as_user):  # noqa: F811
        UserFactory(username="aisha", first_name="Aisha", last_name="Khan")
        StepRunFactory(instance=world.instance, step_id="approve", actor="aisha")
        StepRunFactory(instance=world.instance, step_id="wake", actor="Podium engine")
        response = as_user(world.viewer).get(
            reverse("orchestration:instance_detail", args=[world.instance.pk])
        )
        runs = {r.step_id: r for r in response.context["runs"]}
        assert runs["approve"].person == "Aisha Khan"
        assert runs["wake"].person is None
        content = response.content.decode()
        assert '<i class="ti ti-user-check"></i> Aisha Khan' in content
        assert '<i class="ti ti-robot"></i> Podium engine' in content

    def test_its_decision_records_name_the_person_who_decided(self, world, as_user):  # noqa: F811
        from audit.models import DecisionRecord

        UserFactory(username="aisha", first_name="Aisha", last_name="Khan")
        for step, kind, by in [("approve", "user", "aisha"), ("triage", "ai", "rules-v3")]:
            record = DecisionRecord.objects.create(
                instance_id=world.instance.pk,
                step_run_id=1,
                flow_id=world.flow.pk,
                flow_version_id=world.instance.version_id,
                step_id=step,
                provider="rules-v3",
                route="automatic",
            )
            record.finalise(final_outcome="approve", decided_by_kind=kind, decided_by=by)
        response = as_user(world.owner).get(
            reverse("orchestration:instance_detail", args=[world.instance.pk])
        )
        assert [r.decider for r in response.context["decisions"]] == ["Aisha Khan", "rules-v3"]
        assert "Aisha Khan</div>" in response.content.decode()

    def test_it_shows_case_data_as_the_inbox_does(self, world, as_user):  # noqa: F811
        world.instance.input = {"invoice_id": "INV-1", "amount": 2350.0, "has_po": False}
        world.instance.save(update_fields=["input"])
        response = as_user(world.viewer).get(
            reverse("orchestration:instance_detail", args=[world.instance.pk])
        )
        rows = response.content.decode()
        assert ">Invoice id</th>" in rows and ">2,350</td>" in rows and ">No</td>" in rows
        assert "2350.0" not in rows

    def test_a_steps_data_names_fields_by_their_titles_too(self, world, as_user):  # noqa: F811
        world.version.definition["input_schema"] = {
            "type": "object",
            "properties": {"po_ref": {"type": "string", "title": "Purchase order"}},
        }
        world.version.save(update_fields=["definition"])
        StepRunFactory(instance=world.instance, step_id="check", output={"po_ref": "PO-9"})
        response = as_user(world.viewer).get(
            reverse("orchestration:instance_detail", args=[world.instance.pk])
        )
        assert '>Purchase order</th><td class="text-break">PO-9</td>' in response.content.decode()

    def test_it_masks_the_flows_masked_fields(self, world, as_user):  # noqa: F811
        world.flow.masked_fields = ["iban"]
        world.flow.save()
        world.instance.input = {"iban": "DE001234", "amount": 5}
        world.instance.save()
        response = as_user(world.owner).get(
            reverse("orchestration:instance_detail", args=[world.instance.pk])
        )
        assert b"DE001234" not in response.content

    def test_a_running_case_polls_its_timeline_and_a_finished_one_does_not(self, world, as_user):  # noqa: F811
        client = as_user(world.owner)
        url = reverse("orchestration:instance_detail", args=[world.instance.pk])
        assert b'hx-trigger="every 2s"' not in client.get(url).content
        running = FlowInstanceFactory(version=world.version, status="running")
        page = client.get(reverse("orchestration:instance_detail", args=[running.pk]))
        assert b'hx-trigger="every 2s"' in page.content

    def test_the_live_fragment_answers_no_content_while_nothing_changed(self, world, as_user):  # noqa: F811
        running = FlowInstanceFactory(version=world.version, status="running")
        client = as_user(world.owner)
        url = reverse("orchestration:instance_live", args=[running.pk])
        first = client.get(url, HTTP_HX_REQUEST="true")
        assert first.status_code == 200
        stamp = first.context_data["stamp"]
        assert client.get(url, {"since": stamp}, HTTP_HX_REQUEST="true").status_code == 204
        StepRunFactory(instance=running, step_id="pay", status="running")
        changed = client.get(url, {"since": stamp}, HTTP_HX_REQUEST="true")
        assert changed.status_code == 200
        assert b'data-step="pay"' in changed.content

    def test_a_sub_flow_step_and_its_child_case_link_each_other(self, world, as_user):  # noqa: F811
        call = StepRunFactory(instance=world.instance, step_id="call", kind="subflow")
        child = FlowInstanceFactory(version=world.version, parent_step_run=call, trigger="subflow")
        call.state = {"child_instance": child.pk}
        call.save()
        client = as_user(world.viewer)
        parent_page = client.get(reverse("orchestration:instance_detail", args=[world.instance.pk]))
        child_url = reverse("orchestration:instance_detail", args=[child.pk])
        assert f'<a href="{child_url}" data-testid="child-case">case #{child.pk}</a>' in (
            parent_page.content.decode()
        )
        child_page = client.get(child_url).content.decode()
        assert 'data-testid="parent-case"' in child_page
        assert f"case #{world.instance.pk}</a>" in child_page

    def test_a_child_case_in_a_flow_one_may_not_see_is_named_but_not_linked(self, world, as_user):  # noqa: F811
        hidden = FlowVersionFactory(flow=FlowFactory(owner_team=TeamFactory()))
        call = StepRunFactory(instance=world.instance, step_id="call", kind="subflow")
        child = FlowInstanceFactory(version=hidden, parent_step_run=call, trigger="subflow")
        call.state = {"child_instance": child.pk}
        call.save()
        page = as_user(world.viewer).get(
            reverse("orchestration:instance_detail", args=[world.instance.pk])
        )
        content = page.content.decode()
        assert f"case #{child.pk}" in content
        assert 'data-testid="child-case"' not in content

    @pytest.mark.parametrize(
        ("status", "ended", "offered"),
        [
            ("running", False, True),
            ("failed", False, True),
            ("compensating", False, False),  # cancelled, it would stay half undone
            ("succeeded", True, False),
            ("failed", True, False),  # at an end step with `result: failure`
        ],
    )
    def test_cancel_is_offered_until_the_case_ends(self, world, as_user, status, ended, offered):  # noqa: F811
        finished_at = timezone.now() if ended else None
        case = FlowInstanceFactory(version=world.version, status=status, finished_at=finished_at)
        page = as_user(world.owner).get(reverse("orchestration:instance_detail", args=[case.pk]))
        assert ('value="cancel"' in page.content.decode()) is offered

    def test_a_case_that_ended_at_a_failure_end_offers_no_step_to_retry(self, world, as_user):  # noqa: F811
        FlowInstance.objects.filter(pk=world.instance.pk).update(finished_at=timezone.now())
        page = as_user(world.owner).get(
            reverse("orchestration:instance_detail", args=[world.instance.pk])
        )
        assert page.context["actionable_runs"] == []
        assert 'value="retry"' not in page.content.decode()
        assert "Operator actions" not in page.content.decode()

    def test_retry_is_for_failed_steps_only_in_the_step_list(self, world, as_user):  # noqa: F811
        waiting = StepRunFactory(instance=world.instance, step_id="pause", status="waiting")
        content = (
            as_user(world.owner)
            .get(reverse("orchestration:instance_detail", args=[world.instance.pk]))
            .content.decode()
        )
        assert f'<option value="{world.failed_run.pk}" data-failed="1">' in content
        assert f'<option value="{waiting.pk}">' in content
        assert "dataset.failed" in content  # the page turns Retry off for the others


class TestOperatorActions:
    @pytest.fixture
    def calls(self, monkeypatch):
        made = []
        for name in ("cancel_instance", "resume_instance", "retry_step", "skip_step"):
            monkeypatch.setattr(engine, name, lambda *a, _n=name, **k: made.append((_n, a, k)))
        return made

    def act(self, client, instance, **data):
        url = reverse("orchestration:instance_act", args=[instance.pk])
        return client.post(url, data, HTTP_HX_REQUEST="true")

    @pytest.mark.parametrize("action", ["cancel", "resume"])
    def test_it_calls_the_engine_with_the_operator_and_reason(self, world, as_user, calls, action):  # noqa: F811
        response = self.act(
            as_user(world.owner), world.instance, action=action, reason="Customer asked"
        )
        assert response.status_code == 204
        assert response["HX-Redirect"] == reverse(
            "orchestration:instance_detail", args=[world.instance.pk]
        )
        ((name, args, kwargs),) = calls
        assert name == f"{action}_instance"
        assert args == (world.instance.pk,)
        assert kwargs["reason"] == "Customer asked"
        assert kwargs["actor"].label == "olivia"

    @pytest.mark.parametrize("action", ["retry", "skip"])
    def test_it_retries_or_skips_the_chosen_step(self, world, as_user, calls, action):  # noqa: F811
        response = self.act(
            as_user(world.owner),
            world.instance,
            action=action,
            step_run=world.failed_run.pk,
            reason="Supplier fixed it",
        )
        assert response.status_code == 204
        ((name, args, _),) = calls
        assert name == f"{action}_step"
        assert args == (world.failed_run.pk,)

    def test_resume_is_offered_only_where_steps_are_still_in_progress(self, world, as_user):  # noqa: F811
        client = as_user(world.owner)
        page = reverse("orchestration:instance_detail", args=[world.instance.pk])
        assert b'value="resume"' not in client.get(page).content  # only a failed step
        StepRunFactory(instance=world.instance, step_id="notify", status="waiting")
        assert b'value="resume"' in client.get(page).content
        running = FlowInstanceFactory(version=world.version, status="running")
        StepRunFactory(instance=running, step_id="pay", status="queued")
        running_page = reverse("orchestration:instance_detail", args=[running.pk])
        assert b'value="resume"' not in client.get(running_page).content
        FlowInstance.objects.filter(pk=running.pk).update(stuck_since=timezone.now())
        assert b'value="resume"' in client.get(running_page).content

    def test_it_offers_each_step_only_what_the_engine_allows(self, world, as_user):  # noqa: F811
        StepRunFactory(instance=world.instance, step_id="notify", status="waiting")
        StepRunFactory(instance=world.instance, step_id="call", kind="http", status="running")
        client = as_user(world.owner)
        page = client.get(reverse("orchestration:instance_detail", args=[world.instance.pk]))
        assert [r.step_id for r in page.context["actionable_runs"]] == ["post", "notify"]
        content = page.content.decode()
        assert 'label="Failed: retry or skip"' in content
        assert 'label="Waiting: skip only"' in content
        assert 'value="retry"' in content
        waiting = FlowInstanceFactory(version=world.version, status="running")
        StepRunFactory(instance=waiting, step_id="approve", kind="approval", status="waiting")
        page = client.get(reverse("orchestration:instance_detail", args=[waiting.pk]))
        assert 'value="retry"' not in page.content.decode()
        assert 'value="skip"' in page.content.decode()
        assert "Step to skip" in page.content.decode()

    def test_an_action_without_a_reason_is_refused(self, world, as_user, calls):  # noqa: F811
        response = self.act(as_user(world.owner), world.instance, action="cancel", reason="")
        assert response.status_code == 422
        assert b"Say why" in response.content
        assert calls == []

    def test_the_engines_refusal_is_shown(self, world, as_user, monkeypatch):  # noqa: F811
        def refuse(*args, **kwargs):
            raise engine.NotAllowedNow("The case has already finished.")

        monkeypatch.setattr(engine, "cancel_instance", refuse)
        response = self.act(as_user(world.owner), world.instance, action="cancel", reason="Stop it")
        assert response.status_code == 409
        assert b"The case has already finished." in response.content


def test_filtering_by_a_flow_the_user_may_not_see_shows_nothing(world, as_user):  # noqa: F811
    hidden = FlowFactory(slug="payroll", owner_team=TeamFactory(name="HR"))
    FlowInstanceFactory(version=FlowVersionFactory(flow=hidden))
    response = as_user(world.owner).get(reverse(LIST), {"flow": "payroll"})
    assert response.status_code == 200
    assert response.context["instances"] == []
    assert b"Select a valid choice" in response.content
