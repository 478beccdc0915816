"""Every audit URL as auditor, flow owner, a user who may only view the flow, and an
outsider; search, exports with masking, the decision page and the evidence pack."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse
from guardian.shortcuts import assign_perm

from audit.masking import MASK
from audit.models import ActorKind, AuditEvent, VerificationRun
from tests.factories import UserFactory


@pytest.fixture
def viewer(flow):
    user = UserFactory(username="vic")
    assign_perm("orchestration.view_flow", user, flow)
    return user


def _urls(flow, case, decision):
    return [
        reverse("audit:home"),
        reverse("audit:search") + f"?business_key={case.business_key}",
        reverse("audit:export_csv") + f"?flow={flow.slug}",
        reverse("audit:export_jsonl"),
        reverse("audit:decision", args=[decision.pk]),
        reverse("audit:evidence_pack", args=[case.pk]),
        reverse("audit:register", args=[flow.slug]),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who, status", [("auditor", 200), ("owner", 200), ("viewer", 404), ("outsider", 404)]
)
def test_every_audit_url_is_for_auditors_and_owners_only(
    client, request, who, status, flow, case, decision
):
    client.force_login(request.getfixturevalue(who))
    home, *others = _urls(flow, case, decision)
    landing = client.get(home)
    assert landing.status_code == 200  # every area has a landing page; data only when allowed
    assert ("audit-denied" in landing.content.decode()) is (status == 404)
    for url in others:
        response = client.get(url)
        assert response.status_code == status, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, flow, case, decision):
    for url in _urls(flow, case, decision):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_an_owner_sees_only_their_flows_events(client, owner, case, other_flow):
    from tests.audit.conftest import engine_events
    from tests.factories import FlowInstanceFactory

    other_case = FlowInstanceFactory(version=other_flow.versions.get(), business_key="R-1")
    engine_events(other_case, ("instance.started", {}))
    client.force_login(owner)
    response = client.get(reverse("audit:search"))
    assert response.status_code == 200
    shown = {e.instance_id for e in response.context["page"].events}
    assert shown == {case.pk}
    assert client.get(reverse("audit:register", args=[other_flow.slug])).status_code == 404


@pytest.mark.django_db
def test_an_owner_cannot_open_another_flows_decision_or_case(client, outsider, decision, case):
    client.force_login(outsider)
    assert client.get(reverse("audit:decision", args=[decision.pk])).status_code == 404
    assert client.get(reverse("audit:evidence_pack", args=[case.pk])).status_code == 404


@pytest.mark.django_db
def test_looking_at_audit_data_is_itself_audited(client, auditor, case):
    client.force_login(auditor)
    client.get(reverse("audit:search"), {"business_key": case.business_key})
    seen = AuditEvent.objects.filter(action="audit.viewed", object_id="search").get()
    assert seen.actor_label == "ada"
    assert seen.payload["business_key"] == case.business_key


@pytest.mark.django_db
def test_search_by_business_key_finds_the_case_and_its_decisions(client, auditor, case, decision):
    client.force_login(auditor)
    response = client.get(reverse("audit:search"), {"business_key": "INV-2026-0042"})
    assert response.status_code == 200
    events = response.context["page"].events
    assert events and all(e.business_key == "INV-2026-0042" for e in events)
    assert response.context["decisions"] == [decision]
    assert reverse("audit:decision", args=[decision.pk]) in response.content.decode()
    assert "final: <strong>reject</strong> by Lee Lead" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["#{pk}", "# {pk}", "{pk}"])
def test_find_a_case_takes_the_case_number_the_case_page_shows(
    client, auditor, case, decision, typed
):
    client.force_login(auditor)
    response = client.get(reverse("audit:search"), {"business_key": typed.format(pk=case.pk)})
    events = response.context["page"].events
    assert events and {e.instance_id for e in events} == {case.pk}
    assert response.context["decisions"] == [decision]


@pytest.mark.django_db
def test_the_audit_search_names_people_by_full_name(client, auditor, case):
    from audit.chain import Actor, Entry, append

    UserFactory(username="aisha", first_name="Aisha", last_name="Khan")
    person = Actor(ActorKind.USER, "1", "aisha")
    append(case.audit_stream, [Entry("instance.resumed", person, "instance", str(case.pk),
                                     case.flow_id, case.pk, case.business_key, {})])  # fmt: skip
    client.force_login(auditor)
    body = client.get(reverse("audit:search"), {"instance": case.pk}).content.decode()
    assert "</i> Aisha Khan" in body


@pytest.mark.django_db
def test_the_audit_search_names_the_step_each_event_is_about(client, auditor, case):
    client.force_login(auditor)
    for url in (reverse("audit:search") + f"?instance={case.pk}", reverse("audit:home")):
        body = client.get(url).content.decode()
        assert 'Step finished <span class="text-secondary">· Invoice received</span>' in body
        assert 'Step waiting <span class="text-secondary">· Approve the invoice?</span>' in body


@pytest.mark.django_db
def test_the_case_page_links_its_audit_trail_for_those_who_may_read_it(
    client, auditor, owner, outsider, case
):
    from guardian.shortcuts import assign_perm

    from orchestration import access

    page = reverse("orchestration:instance_detail", args=[case.pk])
    client.force_login(owner)
    link = f'href="{reverse("audit:search")}?instance={case.pk}"'
    assert link in client.get(page).content.decode()
    assign_perm(access.VIEW, outsider, case.flow)  # may see the case, not its audit log
    client.force_login(outsider)
    response = client.get(page)
    assert response.status_code == 200
    assert 'data-testid="audit-trail"' not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "actor, expected",
    [
        ("system", {"instance.started", "step.succeeded", "step.waiting", "step.started"}),
        ("user:ada", set()),
        ("ai:rules", set()),
        ("team:Finance", set()),
    ],
)
def test_search_by_actor(client, auditor, case, decision, actor, expected):
    client.force_login(auditor)
    response = client.get(reverse("audit:search"), {"actor": actor, "instance": case.pk})
    assert {e.action for e in response.context["page"].events} == expected


@pytest.mark.django_db
def test_search_by_action_prefix_and_time_range(client, auditor, case, decision):
    client.force_login(auditor)
    today = case.created_at.date().isoformat()
    response = client.get(
        reverse("audit:search"), {"action": "step.*", "since": today, "until": today}
    )
    actions = {e.action for e in response.context["page"].events}
    assert actions == {"step.succeeded", "step.waiting", "step.started"}
    response = client.get(reverse("audit:search"), {"since": "2020-01-01", "until": "2020-01-02"})
    assert response.context["page"].events == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["audit:search", "audit:export_csv"])
def test_the_first_and_last_days_of_the_calendar_bound_nothing(client, auditor, case, name):
    client.force_login(auditor)
    response = client.get(reverse(name), {"since": "0001-01-01", "until": "9999-12-31"})
    assert response.status_code == 200
    if name == "audit:search":
        assert response.context["page"].events


@pytest.mark.django_db
@pytest.mark.parametrize(
    "after",
    ["0001-01-01T00:00:00+14:00|5", "9999-12-31T23:59:59-14:00|5", "2026-01-01T00:00:00|5"],
)
def test_an_older_events_link_podium_did_not_make_starts_at_the_newest(
    client, auditor, case, after
):
    client.force_login(auditor)
    response = client.get(reverse("audit:search"), {"instance": case.pk, "after": after})
    assert response.status_code == 200
    assert response.context["page"].events[0].pk == (
        AuditEvent.objects.filter(instance_id=case.pk).latest("occurred_at", "id").pk
    )


@pytest.mark.django_db
def test_pages_continue_after_the_last_row_without_repeats(client, auditor, case):
    from tests.audit.conftest import engine_events

    engine_events(case, *[("step.succeeded", {"step": f"s{i}"}) for i in range(120)])
    client.force_login(auditor)
    seen, after = [], ""
    for _ in range(5):
        response = client.get(reverse("audit:search"), {"instance": case.pk, "after": after})
        page = response.context["page"]
        seen += [e.pk for e in page.events]
        after = page.next_cursor
        if not after:
            break
    expected = list(
        AuditEvent.objects.filter(instance_id=case.pk)
        .order_by("-occurred_at", "-id")
        .values_list("pk", flat=True)
    )
    assert seen == expected


@pytest.mark.django_db
def test_a_bad_search_says_what_is_wrong(client, auditor):
    client.force_login(auditor)
    response = client.get(
        reverse("audit:search"), {"actor": "mallory", "since": "2026-02-01", "until": "2026-01-01"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Start with user:, team:, ai: or system" in content
    assert "The end date is before the start date." in content


@pytest.mark.django_db
def test_the_htmx_search_returns_only_the_results_fragment(client, auditor, case):
    client.force_login(auditor)
    response = client.get(reverse("audit:search"), {"instance": case.pk}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results">')
    assert "<html" not in content


@pytest.mark.django_db
def test_csv_export_streams_masked_rows_and_records_the_masking(client, auditor, case):
    client.force_login(auditor)
    response = client.get(reverse("audit:export_csv"), {"flow": "invoices"})
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode()
    assert "DE89370400440532013000" not in body
    assert MASK in body
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,occurred_at,stream")
    assert len(lines) == 1 + AuditEvent.objects.filter(flow_id=case.flow_id).count()
    record = AuditEvent.objects.get(action="audit.exported")
    assert record.payload["masked_fields"] == {str(case.flow_id): ["iban"]}
    assert record.payload["format"] == "csv"


@pytest.mark.django_db
def test_json_lines_export_has_one_event_per_line(client, auditor, case):
    client.force_login(auditor)
    response = client.get(reverse("audit:export_jsonl"), {"instance": case.pk})
    rows = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert [r["action"] for r in rows][-1] == "instance.started"
    started = rows[-1]
    assert started["payload"]["input"]["iban"] == MASK
    assert started["masked"] == ["input.iban"]


@pytest.mark.django_db
def test_the_decision_page_reconstructs_the_decision(client, auditor, decision, lee):
    from orchestration.decisions.events import decision_finalised

    decision_finalised(decision, lee, "reject", overrode=True)
    client.force_login(auditor)
    response = client.get(reverse("audit:decision", args=[decision.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Why did this case go here?" in content
    assert "Supplier bank details changed last week." in content
    assert "Overrode the AI" in content
    assert "rules-v3" in content
    assert "Lee Lead ·" in content
    assert "Step started “Second approval”" in content
    assert 'Person made the final call <span class="text-secondary">· Lee Lead ·' in content
    assert "DE89370400440532013000" not in content
    seen = AuditEvent.objects.get(action="audit.viewed", object_id="decision")
    assert seen.payload == {"decision": decision.pk, "masked_fields": ["iban"]}


@pytest.mark.django_db
def test_the_evidence_pack_holds_the_whole_case(client, owner, case, decision):
    client.force_login(owner)
    response = client.get(reverse("audit:evidence_pack", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    pack = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(pack.namelist()) == {
        "README.txt",
        "instance.json",
        "events.jsonl",
        "decision_records.json",
        "flow_version.json",
        "human_tasks.json",
        "verification.json",
    }
    verification = json.loads(pack.read("verification.json"))
    assert verification["ok"] is True
    assert f"instance:{case.pk}" in {c["stream"] for c in verification["chains"]}
    assert json.loads(pack.read("flow_version.json"))["definition"]["steps"][1]["id"] == "classify"
    records = json.loads(pack.read("decision_records.json"))
    assert records[0]["final_outcome"] == "reject" and records[0]["inputs"]["iban"] == MASK
    events = [json.loads(line) for line in pack.read("events.jsonl").splitlines()]
    assert {e["action"] for e in events} >= {"instance.started", "step.succeeded"}
    assert b"DE89370400440532013000" not in response.content
    assert "Masked fields: " in pack.read("README.txt").decode()
    downloaded = AuditEvent.objects.get(action="audit.evidence_pack")
    assert downloaded.payload["chain_verified"] is True
    assert "input.iban" in downloaded.payload["masked_fields"]


@pytest.mark.django_db
def test_the_front_page_shows_gaps_register_and_last_check(client, auditor, flow, case):
    VerificationRun.objects.create(
        started_at=case.created_at,
        finished_at=case.created_at,
        trigger="schedule",
        ok=True,
        checked=4,
        streams=1,
        summary="All 4 events in 1 chain verified.",
    )
    client.force_login(auditor)
    response = client.get(reverse("audit:home"))
    content = response.content.decode()
    assert "All 4 events in 1 chain verified." in content
    assert "The flow has no exception owner." in content
    assert reverse("audit:register", args=[flow.slug]) in content


@pytest.mark.django_db
def test_a_flow_owner_sees_the_checks_verdict_but_not_other_flows_chains(client, owner, case):
    VerificationRun.objects.create(
        started_at=case.created_at,
        finished_at=case.created_at,
        trigger="schedule",
        ok=False,
        checked=9,
        streams=3,
        summary="Chain broken at event 4 (task:2).",
        problems=[{"event_id": 4, "stream": "task:2", "message": "the hash does not match"}],
    )
    client.force_login(owner)
    content = client.get(reverse("audit:home")).content.decode()
    assert "Broken" in content
    assert "auditors in the Compliance team see its details" in content
    for detail in ("task:2", "Event 4", "9 events in 3 chains"):
        assert detail not in content


@pytest.mark.django_db
def test_only_auditors_may_run_a_full_check(client, auditor, owner, case):
    client.force_login(owner)
    assert client.post(reverse("audit:verify")).status_code == 403
    client.force_login(auditor)
    response = client.post(reverse("audit:verify"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    run = VerificationRun.objects.get()
    assert run.ok and run.requested_by == "ada"
    assert run.summary in response.content.decode()


@pytest.mark.django_db
def test_the_register_page_lists_duties(client, owner, flow):
    client.force_login(owner)
    response = client.get(reverse("audit:register", args=[flow.slug]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Review team" in content and "Escalation 2 after 240 min: reassign to" in content


@pytest.mark.django_db
def test_auditors_download_the_chain_heads_and_the_export_is_recorded(
    client, auditor, owner, outsider, case
):
    client.force_login(outsider)
    assert client.get(reverse("audit:heads")).status_code == 404
    client.force_login(owner)
    assert client.get(reverse("audit:heads")).status_code == 403
    client.force_login(auditor)
    assert b"Download chain heads" in client.get(reverse("audit:home")).content
    response = client.get(reverse("audit:heads"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="podium-audit-heads-')
    document = response.json()
    assert document["format"] == "podium-audit-heads/v1"
    streams = {head["stream"] for head in document["heads"]}
    assert f"instance:{case.pk}" in streams
    assert AuditEvent.objects.filter(action="audit.exported", actor_label="ada").exists()
