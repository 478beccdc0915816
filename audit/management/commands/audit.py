"""`manage.py audit verify` and `manage.py audit export-heads -o FILE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import events, sealing, verification


class Command(BaseCommand):
    help = "Verify the audit hash chains, or export the current chain heads."
    requires_system_checks: list[str] = []  # must run even when another app is broken

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        verify = commands.add_parser("verify", help="walk every chain; exit 1 if broken")
        verify.add_argument(
            "--no-record", action="store_true", help="do not store the result for the audit page"
        )
        heads = commands.add_parser("export-heads", help="write every chain head as JSON")
        heads.add_argument("-o", "--output", required=True, help="file to write ('-' = stdout)")
        heads.add_argument("--seal", action="store_true", help="seal the chains first")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "verify":
            self.verify(record=not options["no_record"])
        else:
            self.export_heads(options["output"], options["seal"])

    def verify(self, record: bool) -> None:
        result = verification.verify_all()
        if record:
            run = verification.save_run(result, "command")
            events.chains_verified(run)
        rate = f"{result.rate:,.0f} events/s" if result.seconds else ""
        self.stdout.write(
            f"Checked {result.checked:,} events in {result.streams:,} chains "
            f"in {result.seconds:.2f} s ({rate})."
        )
        for problem in result.problems:
            where = f"event {problem.event_id}" if problem.event_id else "—"
            self.stdout.write(f"  {where} in {problem.stream}: {problem.message}")
        if not result.ok:
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(self.style.SUCCESS(result.summary()))

    def export_heads(self, output: str, seal_first: bool) -> None:
        if seal_first:
            sealing.seal()
        document = sealing.heads_document()
        text = json.dumps(document, indent=2) + "\n"
        if output == "-":
            self.stdout.write(text, ending="")
            return
        Path(output).write_text(text)
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {document['streams']:,} chain heads to {output} "
                f"(digest {document['digest']})."
            )
        )
