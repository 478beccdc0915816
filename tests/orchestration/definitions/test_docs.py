"""The definition format's documentation shows what Podium runs."""

from pathlib import Path

from orchestration.definitions.lint import validate
from orchestration.definitions.yaml_io import parse_yaml
from tests.orchestration.definitions.builders import EXAMPLES

DOC = Path(__file__).resolve().parents[3] / "docs" / "flow-format.md"


def _full_example() -> str:
    text = DOC.read_text()
    after = text.split("This is `examples/flows/invoice-approval.yaml`", 1)[1]
    return after.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_full_example_is_the_example_file_and_it_is_valid():
    example = next(p for p in EXAMPLES if p.stem == "invoice-approval").read_text()
    assert _full_example() == example
    assert validate(parse_yaml(example)) == []
