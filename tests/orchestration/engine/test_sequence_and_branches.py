import pytest

from audit.chain import Actor
from audit.models import AuditEvent
from audit.verification import verify_events
from orchestration.engine.api import InputInvalid, NotAllowedNow, start_instance
from orchestration.models import FlowInstance, InstanceStatus, StepRun, VersionStatus
from tests.orchestration.factories import definition, link, published, sequence_definition, step

ACTOR = Actor.system("test")


def start(version, data=None, **kwargs):
    return start_instance(version, data or {}, trigger="manual", actor=ACTOR, **kwargs)


def statuses(instance):
    return {r.step_id: r.status for r in StepRun.objects.filter(instance=instance)}


def test_a_sequence_runs_every_step_in_order_and_succeeds(engine):
    version = published(sequence_definition(5))
    instance = start(version)
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    runs = list(StepRun.objects.filter(instance=instance).order_by("id"))
    assert [r.step_id for r in runs] == ["start", "s1", "s2", "s3", "s4", "s5", "end"]
    assert all(r.status == "succeeded" for r in runs)


def test_every_transition_writes_a_verifiable_audit_event(engine):
    instance = start(published(sequence_definition(3)))
    engine.run()
    actions = list(
        AuditEvent.objects.filter(stream=f"instance:{instance.pk}")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[0] == "instance.started"
    assert actions.count("step.succeeded") == 4
    assert actions[-1] == "instance.succeeded"
    instance.refresh_from_db()
    assert instance.audit_seq == len(actions)
    assert verify_events().ok


def test_set_steps_write_data_that_later_conditions_read(engine):
    defn = definition(
        [
            step("start", "start"),
            step("double", "set", config={"assign": {"twice": "data.amount * 2"}}),
            step("check", "branch"),
            step("big", "end", config={"result": "success", "reason": "big"}),
            step("small", "end"),
        ],
        [
            link("start", "double"),
            link("double", "check"),
            link("check", "big", condition="data.twice > 100"),
            link("check", "small", default=True),
        ],
        input_schema={"type": "object", "properties": {"amount": {"type": "integer"}}},
    )
    version = published(defn)
    big, small = start(version, {"amount": 60}), start(version, {"amount": 10})
    engine.run()
    assert statuses(big).get("big") == "succeeded" and "small" not in statuses(big)
    assert statuses(small).get("small") == "succeeded" and "big" not in statuses(small)
    big.refresh_from_db()
    assert big.data["twice"] == 120
    assert big.outputs["double"] == {"twice": 120}


def test_a_branch_with_no_matching_condition_and_no_default_fails_the_case(engine):
    defn = definition(
        [step("start", "start"), step("check", "branch"), step("end", "end")],
        [link("start", "check"), link("check", "end", condition="data.x == 1")],
    )
    instance = start(published(defn), {"x": 2})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    assert "no default path" in instance.error


def test_a_branch_condition_that_gives_neither_true_nor_false_fails_the_step(engine):
    defn = definition(
        [step("start", "start"), step("check", "branch"), step("end", "end")],
        [
            link("start", "check"),
            link("check", "end", condition="data.x"),
            link("check", "end", default=True),
        ],
    )
    instance = start(published(defn), {"x": 1})
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.FAILED
    assert (
        "The condition 'data.x' after step 'check' failed: The condition gave 1, not true "
        "or false." in instance.error
    )


def test_input_that_fails_the_schema_is_refused_with_every_problem_and_nothing_stored(engine):
    schema = {
        "type": "object",
        "required": ["amount", "vendor"],
        "properties": {"amount": {"type": "number"}, "vendor": {"type": "string"}},
    }
    version = published(
        definition(
            [step("start", "start"), step("end", "end")],
            [link("start", "end")],
            input_schema=schema,
        )
    )
    with pytest.raises(InputInvalid) as error:
        start(version, {"amount": "lots"})
    assert any("amount" in p and "number" in p for p in error.value.problems)
    assert any("vendor" in p for p in error.value.problems)
    assert not FlowInstance.objects.exists()


def test_a_draft_or_retired_version_cannot_start_cases(engine):
    version = published(sequence_definition(1))
    version.status = VersionStatus.RETIRED
    version.save()
    with pytest.raises(NotAllowedNow, match="retired"):
        start(version)


def test_the_business_key_comes_from_the_definition(engine):
    defn = sequence_definition(1)
    defn["business_key"] = "'INV-' + string(data.number)"
    instance = start(published(defn), {"number": 17})
    assert instance.business_key == "INV-17"


@pytest.mark.parametrize(
    ("po", "key"), [(True, "true"), (17.0, "17"), (17, "17"), (None, ""), ("PO-1", "PO-1")]
)
def test_a_business_key_reads_as_event_keys_do(engine, po, key):
    defn = sequence_definition(1)
    defn["business_key"] = "data.po"
    assert start(published(defn), {"po": po}).business_key == key


def test_a_business_key_that_is_a_record_is_refused(engine):
    defn = sequence_definition(1)
    defn["business_key"] = "data.po"
    with pytest.raises(InputInvalid) as refused:
        start(published(defn), {"po": {"a": 1}})
    assert refused.value.problems == [
        "The business key 'data.po' must be a single text or number, not a list or a record."
    ]
    assert not FlowInstance.objects.exists()


def test_the_same_idempotency_key_returns_the_same_case(engine):
    version = published(sequence_definition(1))
    first = start(version, idempotency_key="abc")
    again = start(version, idempotency_key="abc")
    assert again.pk == first.pk
    assert again.replayed is True
    assert FlowInstance.objects.count() == 1


def test_a_step_whose_output_fails_its_schema_takes_its_error_path(engine):
    defn = definition(
        [
            step("start", "start"),
            step(
                "make",
                "set",
                config={"assign": {"total": "'ten'"}},
                output_schema={"type": "object", "properties": {"total": {"type": "number"}}},
                on_error="recover",
            ),
            step("recover", "set", config={"assign": {"recovered": "true"}}),
            step("end", "end"),
        ],
        [link("start", "make"), link("make", "end"), link("recover", "end")],
    )
    instance = start(published(defn))
    engine.run()
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.SUCCEEDED
    assert statuses(instance)["make"] == "failed"
    assert instance.data["recovered"] is True
    assert "output schema" in instance.outputs["make"]["error"]
