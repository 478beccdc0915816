"""A decision step on a case, and a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.approvals.conftest import engine  # noqa: F401  (the fake engine fixture)
from tests.factories import (
    FlowInstanceFactory,
    FlowVersionFactory,
    StepRunFactory,
    TeamFactory,
    UserFactory,
)


class FakeLlm:
    def __init__(self) -> None:
        self.reply: Any = {"outcome": "approve", "confidence": 0.93, "rationale": "Known supplier"}
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.url = ""

    def content(self) -> str:
        return self.reply if isinstance(self.reply, str) else json.dumps(self.reply)


@pytest.fixture
def llm_server() -> Iterator[FakeLlm]:
    fake = FakeLlm()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
            time.sleep(fake.delay)
            answer = json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": fake.content()}}]}
            )
            try:
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())
            except BrokenPipeError:  # the client gave up (the timeout test)
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def reviewers(db: None):
    team = TeamFactory(name="Credit review")
    UserFactory(username="riley", first_name="Riley", last_name="Reviewer", teams=[team])
    return team


def decision_step(**config: Any) -> dict[str, Any]:
    base = {
        "outcomes": ["approve", "reject"],
        "fields": ["amount", "country"],
        "providers": [
            {
                "type": "rules",
                "table": [
                    {"when": "data.amount < 1000", "outcome": "approve", "confidence": 0.95},
                    {"when": "data.amount < 5000", "outcome": "approve", "confidence": 0.6},
                    {"when": "true", "outcome": "reject", "confidence": 0.7},
                ],
            }
        ],
        "threshold": 0.8,
        "review_team": "team:Credit review",
    }
    base.update(config)
    return {
        "id": "credit_check",
        "kind": "decision",
        "label": "Credit check",
        "owner": "team:Credit review",
        "sla": {"minutes": 60},
        "config": base,
    }


def case(amount: float = 500, country: str = "FR", **data: Any):
    from orchestration.models import FlowVersion

    payload = {"amount": amount, "country": country, **data}
    version = FlowVersion.objects.order_by("id").first() or FlowVersionFactory()
    instance = FlowInstanceFactory(
        version=version, data=payload, input=payload, business_key=f"APP-{amount}"
    )
    run = StepRunFactory(
        instance=instance, step_id="credit_check", kind="decision", status="waiting"
    )
    context = {"data": payload, "steps": {}, "now": "2026-11-21T06:00:00Z"}
    return run, instance, context
