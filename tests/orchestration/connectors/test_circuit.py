"""The circuit breaker per connector target: closed, open, and one trial after the cool-down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orchestration.connectors import circuit
from orchestration.models import CircuitState

pytestmark = pytest.mark.django_db
TARGET = "erp.example.com:443"


@pytest.fixture(autouse=True)
def _breaker(settings):
    settings.PODIUM_CIRCUIT_FAILURES = 3
    settings.PODIUM_CIRCUIT_COOL_DOWN_SECONDS = 60


def cool_down_over() -> None:
    CircuitState.objects.filter(pk=TARGET).update(open_until=timezone.now() - timedelta(seconds=1))


def test_calls_pause_after_the_configured_failures_in_a_row():
    for _ in range(2):
        circuit.record_failure(TARGET)
    circuit.check(TARGET)  # two failures: still closed
    circuit.record_failure(TARGET)
    with pytest.raises(circuit.CircuitOpen, match="paused for 60 s") as refused:
        circuit.check(TARGET)
    assert 59 < refused.value.retry_after <= 60


def test_a_success_between_failures_starts_the_count_again():
    for _ in range(2):
        circuit.record_failure(TARGET)
    circuit.record_success(TARGET)
    for _ in range(2):
        circuit.record_failure(TARGET)
    circuit.check(TARGET)


def test_after_the_cool_down_one_call_tries_and_its_success_closes_the_circuit():
    for _ in range(3):
        circuit.record_failure(TARGET)
    cool_down_over()
    circuit.check(TARGET)  # the trial
    with pytest.raises(circuit.CircuitOpen):
        circuit.check(TARGET)  # the others wait for its answer
    circuit.record_success(TARGET)
    circuit.check(TARGET)
    circuit.check(TARGET)
    assert CircuitState.objects.get(pk=TARGET).open_until is None


def test_a_failed_trial_pauses_calls_for_another_cool_down():
    for _ in range(3):
        circuit.record_failure(TARGET)
    cool_down_over()
    circuit.check(TARGET)
    circuit.record_failure(TARGET)
    with pytest.raises(circuit.CircuitOpen) as refused:
        circuit.check(TARGET)
    assert refused.value.retry_after > 59
