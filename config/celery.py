"""The Celery application. Settings live in config/settings.py under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("podium")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fix-up reads this un-namespaced key; without it every task closes
# and reopens its database connection, which halves engine throughput.
app.conf["CELERY_DB_REUSE_MAX"] = int(os.environ.get("PODIUM_DB_REUSE_MAX", "1000"))
app.autodiscover_tasks()

if os.environ.get("PODIUM_BENCH_NOOP"):
    # Only for bench/engine_throughput.py: an empty task to compare the engine with.
    @app.task(name="bench.noop")
    def _noop() -> None:
        return None
