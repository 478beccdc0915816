import pytest

from orchestration import actions
from orchestration.definitions.problems import DefinitionError
from tests.factories import UserFactory

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
