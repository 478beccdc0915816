from celery import shared_task

from audit import sealing, verification


@shared_task(name="audit.seal")
def seal_chains() -> None:
    sealing.seal()


@shared_task(name="audit.verify")
def verify_chains() -> None:
    """Walk every chain (beat, hourly by default) and keep the result for the audit page."""
    verification.record_run("schedule")
