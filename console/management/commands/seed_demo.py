from typing import Any

from django.core.management.base import BaseCommand

from console.demo import DEMO_PASSWORD, seed_people


class Command(BaseCommand):
    help = "Create demo teams, people and flows (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        people = seed_people()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in as:"))
        for person in people:
            teams = ", ".join(person.teams)
            self.stdout.write(f"  {person.username:<8} {person.role:<15} teams: {teams}")
        self.stdout.write(f"  password for every demo user: {DEMO_PASSWORD}")
