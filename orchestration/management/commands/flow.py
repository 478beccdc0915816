"""`manage.py flow validate|import|export|publish`: flow definitions from the command line.

An invalid file prints every problem (step id and message) and exits with status 1
without changing anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from orchestration import actions
from orchestration.actions import VersionLocked
from orchestration.definitions import DefinitionError, has_errors
from orchestration.definitions.lint import validate
from orchestration.definitions.problems import Problem
from orchestration.definitions.yaml_io import parse_yaml
from orchestration.models import Flow, FlowVersion, VersionStatus


class Command(BaseCommand):
    help = "Validate, import, export and publish flow definitions (YAML)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        check = commands.add_parser("validate", help="check a YAML file; exit 1 on errors")
        check.add_argument("file")
        load = commands.add_parser("import", help="make a YAML file the flow's draft")
        load.add_argument("file")
        load.add_argument("--publish", action="store_true", help="publish the draft too")
        load.add_argument("--note", default="Imported from the command line")
        load.add_argument("--user", help="username recorded as the author")
        dump = commands.add_parser("export", help="write a version as YAML")
        dump.add_argument("slug")
        dump.add_argument("--version", type=int, help="version number (default: the latest)")
        dump.add_argument("-o", "--output", help="file to write (default: standard output)")
        release = commands.add_parser("publish", help="publish the flow's draft")
        release.add_argument("slug")
        release.add_argument("--note", default="Published from the command line")
        release.add_argument("--user", help="username recorded as the publisher")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"do_{options['command']}")
        try:
            handler(options)
        except DefinitionError as exc:
            self.report(exc.problems)
            raise CommandError(_summary(exc.problems)) from None
        except VersionLocked as exc:
            raise CommandError(str(exc)) from None

    def report(self, problems: list[Problem]) -> None:
        for problem in problems:
            where = f"[{problem.step_id}] " if problem.step_id else ""
            self.stderr.write(f"{problem.severity}: {where}{problem.message}")

    def do_validate(self, options: dict[str, Any]) -> None:
        definition = parse_yaml(_read(options["file"]))
        problems = validate(definition)
        if isinstance(definition, dict) and "flow" in definition:
            # A file without one is imported from its flow's page: nothing more to check.
            problems += actions.flow_block_problems(definition)
        if has_errors(problems):
            raise DefinitionError(problems)
        self.report(problems)
        self.stdout.write(f"{options['file']} is valid ({len(problems)} warning(s)).")

    def do_import(self, options: dict[str, Any]) -> None:
        user = _user(options.get("user"))
        version = actions.import_yaml(_read(options["file"]), user=user, admin=True)
        self.report(validate(version.definition))
        self.stdout.write(f"Imported {version.flow.slug} as draft v{version.number}.")
        if options["publish"]:
            actions.publish_version(version, user=user, note=options["note"], admin=True)
            self.stdout.write(f"Published {version.flow.slug} v{version.number}.")

    def do_export(self, options: dict[str, Any]) -> None:
        versions = FlowVersion.objects.filter(flow__slug=options["slug"]).select_related("flow")
        if options.get("version") is not None:
            versions = versions.filter(number=options["version"])
        version = versions.order_by("-number").first()
        if version is None:
            raise CommandError(f"No flow '{options['slug']}' with that version.")
        text = actions.export_yaml(version)
        if options.get("output"):
            try:
                Path(options["output"]).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {options['output']}: {exc.strerror}") from None
            self.stdout.write(
                f"Wrote {version.flow.slug} v{version.number} to {options['output']}."
            )
        else:
            self.stdout.write(text, ending="")

    def do_publish(self, options: dict[str, Any]) -> None:
        flow = Flow.objects.filter(slug=options["slug"]).first()
        draft = flow and flow.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is None:
            raise CommandError(f"The flow '{options['slug']}' has no draft to publish.")
        user = _user(options.get("user"))
        version = actions.publish_version(draft, user=user, note=options["note"], admin=True)
        self.report(validate(version.definition))
        self.stdout.write(f"Published {flow.slug} v{version.number}.")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"No such file: {path}") from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a folder, not a file.") from None
    except PermissionError:
        raise CommandError(f"Podium may not read {path}.") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text.") from None
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None


def _user(username: str | None) -> Any:
    if not username:
        return None
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"There is no user '{username}'.") from None


def _summary(problems: list[Problem]) -> str:
    errors = sum(1 for problem in problems if problem.is_error)
    return f"The flow has {errors} error(s); nothing was changed."
