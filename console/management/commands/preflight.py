"""Check the database and the broker before starting, with a message a person can act on."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from console.health import check_broker, check_database


class Command(BaseCommand):
    help = "Check that the database and the message broker can be reached."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = [p for p in (check_database(), check_broker()) if p]
        if problems:
            hint = (
                "Check DATABASE_URL and CELERY_BROKER_URL (or REDIS_URL), or unset them "
                "to run in embedded mode."
            )
            raise CommandError("\n".join([*problems, hint]))
        mode = (
            "embedded (SQLite, filesystem broker)"
            if settings.BROKER_IS_FILESYSTEM
            else ("production services")
        )
        self.stdout.write(self.style.SUCCESS(f"Database and broker reachable; mode: {mode}."))
