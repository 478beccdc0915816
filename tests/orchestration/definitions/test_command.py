from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orchestration.definitions.yaml_io import parse_yaml
from orchestration.models import Flow, FlowVersion
from tests.factories import TeamFactory, UserFactory
from tests.orchestration.definitions.builders import EXAMPLES

pytestmark = pytest.mark.django_db

HELLO = next(p for p in EXAMPLES if p.stem == "hello")


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("flow", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def broken(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(HELLO.read_text().replace("kind: end", "kind: finish"))
    return path


@pytest.fixture(autouse=True)
def operations():
    return TeamFactory(name="Operations")


def test_validate_accepts_a_valid_file():
    out, _ = run("validate", str(HELLO))
    assert "is valid" in out


def test_validate_prints_every_problem_and_fails(broken):
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("flow", "validate", str(broken), stderr=err)
    assert "error: [done] Step 'done' has the kind 'finish'" in err.getvalue()


def test_import_and_publish_in_one_go():
    UserFactory(username="alex")
    out, _ = run("import", str(HELLO), "--publish", "--user", "alex")
    assert "Published hello v1" in out
    version = FlowVersion.objects.get()
    assert (version.status, version.published_by.username) == ("published", "alex")


def test_import_of_an_invalid_file_changes_nothing(broken):
    with pytest.raises(CommandError):
        call_command("flow", "import", str(broken), stderr=StringIO())
    assert not Flow.objects.exists()


def test_export_writes_the_latest_version(tmp_path):
    run("import", str(HELLO))
    target = tmp_path / "out.yaml"
    run("export", "hello", "-o", str(target))
    assert parse_yaml(target.read_text())["steps"] == parse_yaml(HELLO.read_text())["steps"]
    out, _ = run("export", "hello", "--version", "1")
    assert out.startswith("format: podium/v1")


def test_export_of_an_unknown_flow_fails():
    with pytest.raises(CommandError, match="No flow 'nope'"):
        run("export", "nope")


def test_publish_publishes_the_draft_and_fails_without_one():
    run("import", str(HELLO))
    out, _ = run("publish", "hello", "--note", "Go")
    assert "Published hello v1" in out
    assert FlowVersion.objects.get().change_note == "Go"
    with pytest.raises(CommandError, match="has no draft"):
        run("publish", "hello")


def test_import_and_publish_print_the_flows_warnings(tmp_path):
    path = tmp_path / "spare.yaml"
    text = HELLO.read_text()
    spare = "  - id: spare\n    kind: set\n    label: Spare\n    owner: team:Operations\n"
    text = text.replace("connections:", spare + "    config: {assign: {}}\nconnections:")
    path.write_text(text + "  - from: spare\n    to: done\n")
    out, err = run("import", str(path), "--publish")
    assert "Imported hello as draft v1." in out and "Published hello v1." in out
    assert "warning: [spare] Step 'spare' cannot be reached from the start" in err


def test_export_to_a_place_it_cannot_write_says_so(tmp_path):
    run("import", str(HELLO))
    with pytest.raises(CommandError, match=r"Cannot write .*missing/hello.yaml: No such file"):
        run("export", "hello", "-o", str(tmp_path / "missing" / "hello.yaml"))


def test_validate_also_says_what_import_would_refuse_in_the_flow_block(tmp_path):
    path = tmp_path / "odd.yaml"
    text = HELLO.read_text().replace("owner: team:Operations", "owner: team:Nobody", 1)
    path.write_text(text.replace("slug: hello", "slug: import"))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("flow", "validate", str(path), stderr=err)
    assert "The short name 'import' is reserved by Podium" in err.getvalue()
    assert "The owner 'team:Nobody' names a team Podium does not know" in err.getvalue()
    path.write_text(text.replace("kind: end", "kind: finish"))
    with pytest.raises(CommandError):
        call_command("flow", "import", str(path), stderr=err)
    both = err.getvalue()
    assert "The owner 'team:Nobody' names a team Podium does not know" in both
    assert "has the kind 'finish'" in both
    assert not Flow.objects.exists()


def test_validate_accepts_a_file_without_a_flow_block(tmp_path):
    from orchestration.definitions.yaml_io import to_yaml

    definition = parse_yaml(HELLO.read_text())
    del definition["flow"]
    path = tmp_path / "steps-only.yaml"
    path.write_text(to_yaml(definition))
    out, _ = run("validate", str(path))
    assert "is valid" in out


def test_export_of_version_0_is_refused_not_the_latest():
    run("import", str(HELLO))
    with pytest.raises(CommandError, match="No flow 'hello' with that version"):
        run("export", "hello", "--version", "0")


def _written(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: tmp / "missing.yaml", "No such file: {path}"),
        (lambda tmp: tmp, "{path} is a folder, not a file."),
        (
            lambda tmp: _written(tmp / "latin.yaml", "name: caf\xe9\n".encode("latin-1")),
            "{path} is not UTF-8 text.",
        ),
    ],
    ids=["missing", "folder", "not-utf-8"],
)
def test_a_file_that_cannot_be_read_is_named_in_plain_words(tmp_path, make, message):
    path = make(tmp_path)
    for command in ("validate", "import"):
        with pytest.raises(CommandError) as refused:
            run(command, str(path))
        assert str(refused.value) == message.format(path=path)


def test_a_file_podium_may_not_read_says_so(tmp_path, monkeypatch):
    path = _written(tmp_path / "secret.yaml", HELLO.read_bytes())

    def refused(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr("pathlib.Path.read_text", refused)
    with pytest.raises(CommandError) as caught:
        run("validate", str(path))
    assert str(caught.value) == f"Podium may not read {path}."
