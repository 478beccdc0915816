import pytest
from guardian.shortcuts import assign_perm

from audit.models import AuditEvent
from orchestration import access, actions
from orchestration.actions import DraftConflict, VersionLocked
from orchestration.definitions import checksum
from orchestration.definitions.problems import DefinitionError
from orchestration.definitions.yaml_io import parse_yaml, to_yaml
from orchestration.models import Flow, FlowVersion
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.definitions.builders import EXAMPLES, assign, simple

pytestmark = pytest.mark.django_db

HELLO = next(p for p in EXAMPLES if p.stem == "hello").read_text()


def _actions(flow):
    return list(
        AuditEvent.objects.filter(stream=f"flow:{flow.pk}")
        .order_by("seq")
        .values_list("action", flat=True)
    )


@pytest.fixture
def operations():
    return TeamFactory(name="Operations")


@pytest.fixture
def editor(operations):
    return UserFactory(username="alex", teams=[operations])


def test_create_flow_grants_the_owner_team_every_permission(operations, editor):
    flow = actions.create_flow("Refunds", "refunds", owner_team=operations, created_by=editor)
    assert editor.has_perm("orchestration.publish_flow", flow)
    assert _actions(flow) == ["flow.created"]


def test_import_creates_the_flow_from_its_metadata_as_a_draft(operations, editor):
    version = actions.import_yaml(HELLO, user=editor)
    assert (version.flow.slug, version.flow.owner_team, version.number) == ("hello", operations, 1)
    assert version.status == "draft"
    assert version.definition == parse_yaml(HELLO)
    assert _actions(version.flow) == ["flow.created", "version.imported"]


def test_import_replaces_the_existing_draft(operations, editor):
    first = actions.import_yaml(HELLO, user=editor)
    second = actions.import_yaml(HELLO.replace("Write the greeting", "Greet"), user=editor)
    assert second.pk == first.pk
    assert second.revision == first.revision + 1
    assert second.definition["steps"][1]["label"] == "Greet"


def test_an_invalid_file_changes_nothing_and_lists_every_problem(operations, editor):
    broken = HELLO.replace("kind: end", "kind: finish").replace("id: greet", "id: Greet")
    with pytest.raises(DefinitionError) as caught:
        actions.import_yaml(broken, user=editor)
    codes = {p.code for p in caught.value.problems}
    assert {"unknown_kind", "bad_step_id"} <= codes
    assert not Flow.objects.exists()
    assert not AuditEvent.objects.filter(stream__startswith="flow:").exists()


def test_invalid_yaml_changes_nothing(editor):
    with pytest.raises(DefinitionError) as caught:
        actions.import_yaml("format: [unclosed\n", user=editor)
    assert caught.value.problems[0].code == "yaml_invalid"
    assert not Flow.objects.exists()


def test_import_refuses_an_owner_team_that_does_not_exist():
    with pytest.raises(DefinitionError) as caught:
        actions.import_yaml(HELLO, user=UserFactory(username="kim"))
    (problem,) = caught.value.problems
    assert (problem.code, problem.field) == ("unknown_owner", "flow.owner")
    assert not Flow.objects.exists()


def test_import_refuses_to_overwrite_a_flow_the_user_may_not_edit(operations, editor):
    flow = actions.import_yaml(HELLO, user=editor).flow
    viewer = UserFactory(username="vic", teams=[TeamFactory(name="Viewers")])
    assign_perm(access.VIEW, viewer, flow)
    with pytest.raises(DefinitionError, match="The flow 'hello' exists and you may not edit it"):
        actions.import_yaml(HELLO, user=viewer)
    # Someone who may not even see it is told only that the name is taken.
    stranger = UserFactory(username="sam", teams=[TeamFactory(name="Sales")])
    with pytest.raises(DefinitionError, match="The short name 'hello' is already in use"):
        actions.import_yaml(HELLO, user=stranger)


def test_save_draft_bumps_the_revision_and_refuses_a_stale_one(operations, editor):
    draft = actions.import_yaml(HELLO, user=editor)
    saved = actions.save_draft(draft, simple(assign("w")), user=editor, expected_revision=1)
    assert saved.revision == 2
    with pytest.raises(DraftConflict) as caught:
        actions.save_draft(draft, simple(assign("x")), user=editor, expected_revision=1)
    assert caught.value.current_revision == 2
    assert FlowVersion.objects.get().definition == simple(assign("w"))
    assert _actions(draft.flow).count("version.draft_saved") == 1


def test_publish_freezes_the_version(operations, editor):
    draft = actions.import_yaml(HELLO, user=editor)
    version = actions.publish_version(draft, user=editor, note="First release")
    assert (version.status, version.published_by, version.change_note) == (
        "published",
        editor,
        "First release",
    )
    assert version.checksum == checksum(version.definition)
    assert version.published_at is not None
    with pytest.raises(VersionLocked, match="can no longer change"):
        actions.save_draft(version, simple(), user=editor, expected_revision=version.revision)
    assert _actions(version.flow)[-1] == "version.published"


def test_publish_refuses_a_draft_with_errors(operations, editor):
    draft = actions.import_yaml(HELLO, user=editor)
    broken = simple(assign("w"), links=[])
    actions.save_draft(draft, broken, user=editor, expected_revision=1)
    with pytest.raises(DefinitionError) as caught:
        actions.publish_version(draft, user=editor, note="")
    assert "dead_end" in {p.code for p in caught.value.problems}
    assert FlowVersion.objects.get().status == "draft"


def test_new_draft_copies_a_version_and_there_is_only_ever_one(operations, editor):
    v1 = actions.publish_version(actions.import_yaml(HELLO, user=editor), user=editor, note="")
    draft = actions.new_draft_from(v1, user=editor)
    assert (draft.number, draft.based_on, draft.status) == (2, v1, "draft")
    assert draft.definition == v1.definition
    assert actions.new_draft_from(v1, user=editor) == draft
    assert _actions(v1.flow).count("version.draft_created") == 1


def test_retire_stops_a_published_version_and_refuses_a_draft(operations, editor):
    v1 = actions.publish_version(actions.import_yaml(HELLO, user=editor), user=editor, note="")
    retired = actions.retire_version(v1, user=editor)
    assert retired.status == "retired"
    draft = actions.new_draft_from(v1, user=editor)
    with pytest.raises(VersionLocked, match="Only a published version can be retired"):
        actions.retire_version(draft, user=editor)
    assert _actions(v1.flow)[-2:] == ["version.retired", "version.draft_created"]


def test_export_gives_yaml_that_imports_to_the_same_definition(operations, editor):
    version = actions.import_yaml(HELLO, user=editor)
    text = actions.export_yaml(version)
    assert parse_yaml(text) == version.definition
    assert text == to_yaml(parse_yaml(text))


def test_export_keeps_the_flow_blocks_own_x_fields(operations, editor):
    with_extension = HELLO.replace("flow:\n", "flow:\n  x-cost-centre: 42\n", 1)
    assert with_extension != HELLO
    version = actions.import_yaml(with_extension, user=editor)
    exported = parse_yaml(actions.export_yaml(version))
    assert exported["flow"]["x-cost-centre"] == 42
    assert exported == version.definition


def test_exporting_a_version_drawn_in_the_editor_and_importing_it_keeps_the_checksum(
    operations, editor
):
    flow = actions.create_flow("Drawn", owner_team=operations)
    v1 = actions.publish_version(actions.first_draft(flow, user=editor), user=editor, note="")
    assert "flow" not in v1.definition
    v2 = actions.import_yaml(actions.export_yaml(v1), user=editor, flow=flow)
    assert v2.definition["flow"]["slug"] == flow.slug  # the export added the block
    v2 = actions.publish_version(v2, user=editor, note="")
    assert v2.number == 2
    assert v2.checksum == v1.checksum


def test_an_old_version_exports_the_same_file_after_the_flow_is_renamed(operations, editor):
    v1 = actions.publish_version(actions.import_yaml(HELLO, user=editor), user=editor, note="")
    before = actions.export_yaml(v1)
    finance = TeamFactory(name="Finance")
    Flow.objects.filter(pk=v1.flow_id).update(
        name="Renamed", description="Now something else", owner_team=finance
    )
    v1.refresh_from_db()
    assert actions.export_yaml(v1) == before
    assert checksum(parse_yaml(before)) == v1.checksum
