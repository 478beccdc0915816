import pytest

from orchestration import actions
from orchestration.definitions.problems import DefinitionError
from tests.factories import TeamFactory, UserFactory

YAML = """format: podium/v1
flow: {name: New, slug: %s}
steps:
  - {id: start, kind: start, label: Start}
  - {id: end, kind: end, label: End}
connections:
  - {from: start, to: end}
"""


@pytest.mark.django_db
def test_a_generated_short_name_never_takes_a_reserved_path():
    assert actions.create_flow("New", created_by=UserFactory()).slug == "new-2"


@pytest.mark.django_db
def test_importing_a_flow_with_a_reserved_short_name_is_refused_with_a_message():
    with pytest.raises(DefinitionError) as error:
        actions.import_yaml(YAML % "import", user=UserFactory())
    assert "reserved" in str(error.value.problems[0].message)


@pytest.mark.django_db
def test_a_generated_short_name_uses_hyphens_so_the_flows_export_imports_again():
    flow = actions.create_flow("Invoice_approval (v2)", created_by=UserFactory())
    assert flow.slug == "invoice-approval-v2"
    importer = UserFactory(teams=[TeamFactory()])
    actions.import_yaml(YAML % flow.slug.replace("v2", "v3"), user=importer)


@pytest.mark.django_db
def test_a_flow_answers_to_a_team_or_a_person_not_a_system():
    text = YAML.replace("slug: %s}", "slug: %s, owner: 'system:podium'}") % "new-flow"
    with pytest.raises(DefinitionError) as error:
        actions.import_yaml(text, user=UserFactory())
    assert [p.message for p in error.value.problems] == [
        "The flow: the owner 'system:podium' must look like 'team:<team name>' or "
        "'user:<username>'."
    ]
