"""Actions that stand in for outside systems in the demo, so it runs with no network."""

from __future__ import annotations

import hashlib

from orchestration.steps.base import PermanentError
from orchestration.steps.python_action import action

DEMO_PAYMENT_LIMIT = 100_000


@action(
    "demo.erp.schedule_payment",
    label="Demo ERP: schedule a payment",
    description="Pretends to be an ERP: schedules the payment and returns its reference. "
    f"Refuses payments above {DEMO_PAYMENT_LIMIT:,}.",
    input_schema={
        "type": "object",
        "required": ["invoice", "vendor", "amount"],
        "properties": {
            "invoice": {"type": "string"},
            "vendor": {"type": "string"},
            "amount": {"type": "number"},
        },
    },
    output_schema={"type": "object", "required": ["payment_reference"]},
)
def schedule_payment(invoice: str, vendor: str, amount: float) -> dict:
    if amount > DEMO_PAYMENT_LIMIT:
        raise PermanentError(f"The ERP refused a payment of {amount:,.2f}: above its limit.")
    reference = hashlib.sha256(f"{invoice}:{vendor}".encode()).hexdigest()[:10].upper()
    return {"payment_reference": f"PAY-{reference}"}
