"""The engine's Celery entry points and the beat schedule that drives them."""

from __future__ import annotations

from config.celery import app


def test_beat_runs_the_sweep_and_the_minutely_recovery_as_worker_tasks(settings):
    entries = settings.CELERY_BEAT_SCHEDULE.values()
    schedule = {entry["task"]: entry["schedule"] for entry in entries}
    assert schedule["orchestration.sweep"] == settings.PODIUM_SWEEP_SECONDS
    assert schedule["orchestration.recover"] == 60.0
    app.loader.import_default_modules()
    assert {"orchestration.sweep", "orchestration.recover"} <= set(app.tasks)
