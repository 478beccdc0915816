from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from console.demo import DEMO_PASSWORD, seed_people
from console.demo_flows import seed_cases, seed_flows


class Command(BaseCommand):
    help = "Create demo teams, people and flows (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        people = seed_people()
        owner = User.objects.get(username="olivia")
        flows = seed_flows(owner)
        cases = seed_cases(owner)
        if flows:
            self.stdout.write(f"Published demo flows: {', '.join(flows)}")
        if cases:
            self.stdout.write(
                f"Started {cases} demo cases and sent a supplier.delayed event, which starts "
                "one more; the worker runs them once it starts."
            )
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in as:"))
        for person in people:
            teams = ", ".join(person.teams)
            self.stdout.write(f"  {person.username:<8} {person.role:<15} teams: {teams}")
        self.stdout.write(f"  password for every demo user: {DEMO_PASSWORD}")
