"""Demo teams and people, each with a distinct role."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission, User

DEMO_PASSWORD = "podium-demo"
TEAMS = ["Finance", "Support", "Operations", "Compliance", "Platform"]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    teams: tuple[str, ...]
    is_staff: bool = False
    is_superuser: bool = False


DEMO_USERS = [
    DemoUser("olivia", "Olivia", "Owner", "process owner", ("Finance", "Operations")),
    DemoUser("alex", "Alex", "Approver", "approver", ("Finance",)),
    DemoUser("sam", "Sam", "Support", "approver", ("Support",)),
    DemoUser("lee", "Lee", "Lead", "team lead", ("Finance", "Support")),
    DemoUser("ada", "Ada", "Auditor", "auditor", ("Compliance",)),
    DemoUser("admin", "Avery", "Admin", "administrator", ("Platform",), True, True),
]


def seed_people() -> list[DemoUser]:
    teams = {name: Group.objects.get_or_create(name=name)[0] for name in TEAMS}
    for spec in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@example.com",
                "is_staff": spec.is_staff,
                "is_superuser": spec.is_superuser,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(*(teams[name] for name in spec.teams))
    # The auditor role (audit/access.py): Compliance sees every flow's audit data.
    auditor = Permission.objects.get(content_type__app_label="audit", codename="view_auditevent")
    teams["Compliance"].permissions.add(auditor)
    return DEMO_USERS
