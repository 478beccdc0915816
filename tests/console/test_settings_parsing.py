import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_url


def test_it_reads_booleans_in_plain_words(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False


def test_it_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", True) is True
    assert env_int("NUMBER", 7) == 7
    assert env_list("HOSTS", ["a"]) == ["a"]


def test_it_names_the_variable_when_a_boolean_is_malformed(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env_bool("DEBUG", True)


def test_it_rejects_a_number_that_is_not_whole(monkeypatch):
    monkeypatch.setenv("EMAIL_PORT", "25x")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT must be a whole number"):
        env_int("EMAIL_PORT", 587)


def test_it_rejects_a_number_below_its_minimum(monkeypatch):
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "2")
    with pytest.raises(ImproperlyConfigured, match="at least 10"):
        env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=10)


def test_it_splits_lists_on_commas(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example.com, b.example.com,,")
    assert env_list("ALLOWED_HOSTS", []) == ["a.example.com", "b.example.com"]


def test_it_rejects_a_database_url_with_an_unknown_scheme(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/podium")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must start with one of"):
        env_url("DATABASE_URL", "sqlite:///x", ("sqlite", "postgres"))
