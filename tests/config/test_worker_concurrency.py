"""How many processes a `celery -A config worker` runs when its command line does not say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READ = "from config.celery import app; print(app.conf.worker_concurrency)"


def _concurrency(tmp_path: Path, **env: str) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "PODIUM_WORKER_CONCURRENCY", "DJANGO_SETTINGS_MODULE")
    }
    environment.update(PODIUM_VAR_DIR=str(tmp_path), CELERY_BROKER_URL="memory://", **env)
    done = subprocess.run(
        [sys.executable, "-c", READ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("env", "processes"),
    [
        # Steps mostly wait on I/O: more processes than cores on PostgreSQL.
        ({"DATABASE_URL": "postgres://podium@127.0.0.1:5432/podium"}, "8"),
        # SQLite takes one writer at a time.
        ({}, "2"),
        (
            {
                "DATABASE_URL": "postgres://podium@127.0.0.1/podium",
                "PODIUM_WORKER_CONCURRENCY": "3",
            },
            "3",
        ),
    ],
)
def test_a_worker_runs_processes_for_its_database(tmp_path, env, processes):
    assert _concurrency(tmp_path, **env) == processes


def test_a_concurrency_below_one_is_refused_by_name(tmp_path):
    environment = {**os.environ, "PODIUM_VAR_DIR": str(tmp_path), "PODIUM_WORKER_CONCURRENCY": "0"}
    done = subprocess.run(
        [sys.executable, "-c", READ], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "PODIUM_WORKER_CONCURRENCY must be at least 1" in done.stderr
