"""The audit explorer's search: filters, keyset pages, and a capped count.

Results are ordered newest first by (occurred_at, id). A page continues after the
last row it showed (`after=<time>|<id>`), so page 500 costs what page 1 costs, and no
query ever counts the whole table: the count stops at COUNT_CAP. Each filter has an
index that ends in (occurred_at, id) — see AuditEvent.Meta.indexes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import Group, User
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.access import AuditScope
from audit.models import ActorKind, AuditEvent, DecisionRecord

PAGE_SIZE = 50
COUNT_CAP = 1000
COMMON_ACTIONS = [
    "instance.started",
    "instance.succeeded",
    "instance.failed",
    "instance.cancelled",
    "step.succeeded",
    "step.failed",
    "decision.proposed",
    "decision.finalised",
    "task.opened",
    "task.decided",
    "version.published",
    "flow.owner_changed",
    "user.logged_in",
    "audit.exported",
]


class SearchForm(forms.Form):
    common_actions = COMMON_ACTIONS
    flow = forms.ChoiceField(required=False, label="Flow")
    instance = forms.IntegerField(required=False, min_value=1, label="Case number")
    business_key = forms.CharField(required=False, max_length=200, label="Business key")
    actor = forms.CharField(
        required=False,
        max_length=200,
        label="Who",
        help_text="user:alex, team:Finance, ai:rules, ai:rules@v3 or system",
    )
    action = forms.CharField(
        required=False, max_length=64, label="What", help_text="e.g. decision.finalised or step.*"
    )
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args: Any, scope: AuditScope, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.scope = scope
        flows = scope.flows().order_by("name").values_list("slug", "name", "pk")
        self.flow_ids = {slug: pk for slug, _name, pk in flows}
        self.fields["flow"].choices = [("", "All flows")] + [(s, n) for s, n, _ in flows]
        for name, field in self.fields.items():
            css = "form-select" if name == "flow" else "form-control"
            field.widget.attrs.setdefault("class", css)

    def clean_actor(self) -> str:
        value = self.cleaned_data["actor"].strip()
        if value and value.split(":", 1)[0] not in ("user", "team", "ai", "system", "token"):
            raise forms.ValidationError(
                "Start with user:, team:, ai: or system (for example user:alex)."
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def params(self) -> dict[str, Any]:
        """The filters in use, as plain values (for links, exports and the audit log)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in self.cleaned_data.items()
            if value not in (None, "")
        }


def key_or_case(text: str) -> Q:
    """What "find a case" looks for: a business key as typed, or the case number the
    case pages show ("#10"; "10" finds the business key 10 and case 10 alike)."""
    number = re.fullmatch(r"#?\s*(\d{1,18})", text.strip())
    if number is None:
        return Q(business_key=text)
    by_number = Q(instance_id=int(number.group(1)))
    return by_number if text.strip().startswith("#") else Q(business_key=text) | by_number


def filtered(scope: AuditScope, filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    events = scope.events()
    if filters.get("flow"):
        events = events.filter(flow_id=flow_id_for(scope, filters["flow"]))
    if filters.get("instance"):
        events = events.filter(instance_id=filters["instance"])
    if filters.get("business_key"):
        events = events.filter(key_or_case(filters["business_key"]))
    if filters.get("actor"):
        events = events.filter(actor_q(filters["actor"]))
    if filters.get("action"):
        action = filters["action"]
        prefix = action.rstrip("*")
        events = (
            events.filter(action__startswith=prefix)
            if action.endswith("*")
            else events.filter(action=action)
        )
    tz = timezone.get_current_timezone()
    # The first and last days a calendar has bound nothing (and would overflow below).
    since, until = _date(filters.get("since")), _date(filters.get("until"))
    if since and since > date.min:
        start = datetime.combine(since, time.min, tzinfo=tz)
        events = events.filter(occurred_at__gte=start)
    if until and until < date.max:
        end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=tz)
        events = events.filter(occurred_at__lt=end)
    return events.order_by("-occurred_at", "-id")


def _date(value: Any) -> date | None:
    if not value:
        return None
    return datetime.fromisoformat(value).date() if isinstance(value, str) else value


def flow_id_for(scope: AuditScope, slug: str) -> int:
    pk = scope.flows().filter(slug=slug).values_list("pk", flat=True).first()
    return pk if pk is not None else -1


def actor_q(actor: str) -> Q:
    kind, _sep, name = actor.partition(":")
    name = name.strip()
    if kind == "user":
        user_id = User.objects.filter(username=name).values_list("pk", flat=True).first()
        return Q(actor_kind=ActorKind.USER, actor_id=str(user_id or -1))
    if kind == "team":
        members = User.objects.filter(groups__name=name).values_list("pk", flat=True)
        if not Group.objects.filter(name=name).exists():
            return Q(pk__in=[])
        return Q(actor_kind=ActorKind.USER, actor_id__in=[str(pk) for pk in members])
    if kind == "ai":
        provider, _at, version = name.partition("@")
        q = Q(actor_kind=ActorKind.AI)
        if provider:
            q &= Q(actor_id=provider)
        return q & Q(actor_version=version) if version else q
    if kind == "token":
        return Q(actor_kind=ActorKind.TOKEN) & (Q(actor_id=name) if name else Q())
    q = Q(actor_kind=ActorKind.SYSTEM)
    return q & Q(actor_label=name) if name else q


@dataclass
class Page:
    events: list[AuditEvent]
    next_cursor: str
    count: int
    capped: bool


def page(events: QuerySet[AuditEvent], after: str = "", size: int = PAGE_SIZE) -> Page:
    first = not after
    position = _cursor(after)
    if position:
        at, pk = position
        events = events.filter(occurred_at__lte=at).filter(
            Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk)
        )
    rows = list(events[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    count = events.values("id")[: COUNT_CAP + 1].count() if first else 0
    last = rows[-1] if rows and more else None
    next_cursor = f"{last.occurred_at.isoformat()}|{last.pk}" if last else ""
    return Page(rows, next_cursor, min(count, COUNT_CAP), count > COUNT_CAP)


def _cursor(after: str) -> tuple[datetime, int] | None:
    """The position an "Older events" link gives; None for one Podium did not make
    (page() then starts at the newest)."""
    at, _sep, pk = after.partition("|")
    try:
        moment = parse_datetime(at)
        if moment is None or moment.tzinfo is None:
            return None
        moment.astimezone(UTC)  # the database compares in UTC: 0001-01-01+14:00 has none
        return moment, int(pk)
    except (ValueError, OverflowError):
        return None


def decisions_matching(scope: AuditScope, filters: dict[str, Any]) -> QuerySet[DecisionRecord]:
    """Decision records for a business key or case search, newest first."""
    records = scope.decisions()
    if filters.get("business_key"):
        records = records.filter(key_or_case(filters["business_key"]))
    elif filters.get("instance"):
        records = records.filter(instance_id=filters["instance"])
    else:
        return records.none()
    return records.order_by("-created_at", "-id")
