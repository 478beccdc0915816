from django.db import migrations, models
from django.db.models import OuterRef, Subquery

ACTIVE_STEP_STATUSES = ("queued", "running", "waiting", "retry_wait")


def end_cases_at_their_failure_end(apps, schema_editor):
    """Cases that reached an end step with `result: failure` have ended; before, they
    were left failed and open. Those whose latest run is that end step (not a failed
    roll-back after it) and with nothing else in progress get its time as their finish;
    the rare one with a branch still at work stays open, for an operator to cancel
    (which cancels that branch and its tasks, with audit events)."""
    FlowInstance = apps.get_model("orchestration", "FlowInstance")
    StepRun = apps.get_model("orchestration", "StepRun")
    latest = StepRun.objects.filter(instance=OuterRef("pk")).order_by("-id")
    busy = StepRun.objects.filter(status__in=ACTIVE_STEP_STATUSES).values("instance_id")
    cases = (
        FlowInstance.objects.filter(status="failed", finished_at__isnull=True)
        .exclude(pk__in=busy)
        .annotate(
            last_kind=Subquery(latest.values("kind")[:1]),
            last_status=Subquery(latest.values("status")[:1]),
            last_finished=Subquery(latest.values("finished_at")[:1]),
        )
        .filter(last_kind="end", last_status="succeeded")
    )
    for case in cases.iterator():
        FlowInstance.objects.filter(pk=case.pk).update(finished_at=case.last_finished)


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0004_instance_stuck"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="flowinstance",
            index=models.Index(
                condition=models.Q(("finished_at__isnull", True), ("status", "failed")),
                fields=["flow", "-id"],
                name="instance_awaiting_operator",
            ),
        ),
        migrations.RunPython(end_cases_at_their_failure_end, migrations.RunPython.noop),
    ]
