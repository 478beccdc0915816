"""Email notification step."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail

from orchestration.expressions import ExpressionError, render_template
from orchestration.steps.base import (
    Done,
    PermanentError,
    Result,
    RetryableError,
    StepContext,
    StepExecutor,
)
from orchestration.steps.registry import register


def resolve_recipients(targets: list[str]) -> list[str]:
    """ "team:Finance", "user:alex" or a plain address → email addresses."""
    emails: list[str] = []
    for target in targets:
        kind, _, name = target.partition(":")
        if kind == "team":
            users = User.objects.filter(groups__name=name, is_active=True)
            emails += [u.email for u in users if u.email]
        elif kind == "user":
            emails += list(
                User.objects.filter(username=name, is_active=True)
                .exclude(email="")
                .values_list("email", flat=True)
            )
        elif "@" in target:
            emails.append(target)
    return sorted(set(emails))


@register
class NotifyStep(StepExecutor):
    kind = "notify"
    external = True
    default_attempts = 3

    def execute(self, ctx: StepContext) -> Result:
        recipients = resolve_recipients(ctx.config.get("to") or [])
        if not recipients:
            raise PermanentError(
                f"Step '{ctx.step['id']}' has nobody with an email address to notify."
            )
        try:
            subject = render_template(ctx.config.get("subject", ""), ctx.expression_context)
            body = render_template(ctx.config.get("body", ""), ctx.expression_context)
        except ExpressionError as exc:
            raise PermanentError(f"Step '{ctx.step['id']}': the message failed: {exc}") from exc
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except OSError as exc:
            raise RetryableError(f"The email could not be sent: {exc}.") from exc
        return Done(output={"sent_to": recipients})
