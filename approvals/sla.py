"""Deadlines, in wall-clock minutes or in a team's working hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from approvals.models import TeamCalendar
from orchestration.steps.base import PermanentError

WEEKDAYS = [0, 1, 2, 3, 4]
MAX_DAYS = 3660  # a calendar with no working time must not loop forever


class DeadlineOutOfReach(PermanentError):
    """The team's working hours do not reach the deadline within MAX_DAYS."""


def add_minutes(start: datetime, minutes: int, calendar: TeamCalendar | None) -> datetime:
    if calendar is None:
        return start + timedelta(minutes=minutes)
    return add_working_minutes(start, minutes, calendar)


def add_working_minutes(start: datetime, minutes: int, calendar: TeamCalendar) -> datetime:
    zone = ZoneInfo(calendar.timezone or "UTC")
    moment = start.astimezone(zone)
    remaining = timedelta(minutes=minutes)
    days = set(calendar.working_days or WEEKDAYS)
    holidays = {date.fromisoformat(d) for d in calendar.holidays or []}
    opens, closes = _time(calendar.day_starts), _time(calendar.day_ends)
    for _ in range(MAX_DAYS):
        day = moment.date()
        if day.weekday() in days and day not in holidays:
            day_open = datetime.combine(day, opens, zone)
            day_close = datetime.combine(day, closes, zone)
            begin = max(moment, day_open)
            if begin < day_close:
                available = day_close - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        moment = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise DeadlineOutOfReach(
        f"A deadline {minutes:,} working minutes away falls more than ten years ahead in the "
        f"working hours of the team's calendar: shorten the SLA, or give the calendar working "
        "days and hours."
    )


def _time(value: time | str) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def calendar_for(team_id: int | None) -> TeamCalendar | None:
    if team_id is None:
        return None
    return TeamCalendar.objects.filter(team_id=team_id).first()


def describe(delta_seconds: float) -> str:
    """ "2 h 5 min", "3 d 4 h"; for countdowns and overdue times."""
    seconds = int(abs(delta_seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
