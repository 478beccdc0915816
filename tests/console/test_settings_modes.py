"""Settings load in a fresh interpreter, as they would at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD = {
    "DEBUG": "false",
    "SECRET_KEY": "k9$Qz!pL2#vR7wXy@T4bN8mC1eF6gH0jK3sD5aU-qW_oI+rE=tY",
    "ALLOWED_HOSTS": "podium.example.com",
    "DATABASE_URL": "postgres://podium@127.0.0.1:5432/podium",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    skip = ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in skip}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_starts_in_embedded_mode_without_any_variables(tmp_path):
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)",
        PODIUM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "sqlite3 filesystem://" in result.stdout


def test_the_embedded_health_check_logs_nothing(tmp_path):
    # /healthz runs this on every call: a warning here would fill the demo's log.
    result = run_manage(
        "shell",
        "-c",
        "from console.health import current_health; print(current_health().broker)",
        PODIUM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("redis://127.0.0.1:6379/0", "config.broker:Transport"),
        ("rediss://cache:6380/0", "None"),
        ("filesystem://localhost/", "config.embedded_broker:Transport"),
    ],
)
def test_each_broker_gets_its_transport(tmp_path, url, transport):
    result = run_manage(
        "shell",
        "-c",
        "from config.celery import app; print(app.conf.broker_transport)",
        CELERY_BROKER_URL=url,
        PODIUM_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == transport


def test_it_refuses_production_without_a_secret_key():
    env = {**PROD, "SECRET_KEY": ""}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert "Traceback" not in result.stdout


def test_it_names_a_malformed_variable_at_start_up():
    result = run_manage("check", DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PROD)
    assert result.returncode == 0, result.stdout + result.stderr


def test_preflight_names_an_unreachable_database(tmp_path):
    result = run_manage(
        "preflight", DATABASE_URL="postgres://nobody@127.0.0.1:1/none", PODIUM_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "The database cannot be reached" in result.stderr


def test_preflight_names_an_unreachable_broker(tmp_path):
    result = run_manage(
        "preflight", CELERY_BROKER_URL="redis://127.0.0.1:1/0", PODIUM_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "The message broker cannot be reached" in result.stderr


def test_links_in_emails_start_with_the_first_trusted_origin_unless_set(tmp_path):
    show = "from django.conf import settings; print(settings.PODIUM_BASE_URL)"
    origins = "https://podium.example.com/,https://other.example.com"
    result = run_manage(
        "shell", "-c", show, CSRF_TRUSTED_ORIGINS=origins, PODIUM_VAR_DIR=str(tmp_path)
    )
    assert result.stdout.strip().splitlines()[-1] == "https://podium.example.com"
    result = run_manage("check", PODIUM_BASE_URL="podium.example.com", PODIUM_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "PODIUM_BASE_URL must start with one of http://, https://" in result.stderr
