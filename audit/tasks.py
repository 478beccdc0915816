from celery import shared_task

from audit import sealing


@shared_task(name="audit.seal")
def seal_chains() -> None:
    sealing.seal()
