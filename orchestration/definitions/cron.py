"""Whether a schedule trigger's cron line is one Celery beat can run.

The format only checks for five fields; beat reads each field by its own rules (a
weekday of 7, an hour of 25, a step of 0, a date that never comes) and drops an entry it
cannot read without a word, so the flow would never start. Read it as beat will.
"""

from __future__ import annotations

from celery.schedules import ParseException, crontab

FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


def cron_problem(line: str) -> str | None:
    """Why beat could not run `line`, in words, or None."""
    parts = line.split()
    if len(parts) != len(FIELDS):
        return None  # the schema says so already
    try:
        crontab(**dict(zip(FIELDS, parts, strict=True)))
    except (ValueError, ParseException) as exc:
        return str(exc).rstrip(".")
    return None
