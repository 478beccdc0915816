from orchestration.definitions.catalog import CATALOG
from orchestration.steps.registry import kinds


def test_every_kind_in_the_catalog_has_an_executor_and_the_reverse():
    assert set(kinds()) == set(CATALOG)
