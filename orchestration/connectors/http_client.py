"""One HTTP request for an HTTP step: guarded, size-limited, idempotent."""

from __future__ import annotations

import errno
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from orchestration.connectors import circuit
from orchestration.connectors.addresses import Target, check_url, pinned
from orchestration.steps.base import PermanentError, RetryableError, StepTimeout

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024
RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}
# A service asking for a longer pause gets this one; the step's retries decide the rest.
MAX_RETRY_AFTER = 3600.0


@dataclass
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    idempotency_key: str
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    success_statuses: tuple[int, ...] = ()


class _TookTooLong(Exception):
    pass


class _TooLarge(Exception):
    """The server answered, with more than the step takes."""

    def __init__(self, status: int):
        self.status = status


def send(request: HttpRequest) -> dict[str, Any]:
    target = check_url(request.url)
    circuit.check(target.key)
    headers = {**request.headers, "Idempotency-Key": request.idempotency_key}
    try:
        status, body, retry_after = _exchange(request, target, headers)
    except (httpx.TimeoutException, _TookTooLong) as exc:
        circuit.record_failure(target.key)
        raise StepTimeout(f"{request.url} did not answer within {request.timeout:g} s.") from exc
    except httpx.HTTPError as exc:
        circuit.record_failure(target.key)
        raise RetryableError(f"Could not reach {request.url}: {_why(exc)}.") from exc
    except _TooLarge as exc:
        # It answered: as far as the circuit goes, the answer's status is what counts.
        if exc.status in RETRYABLE_STATUSES:
            circuit.record_failure(target.key)
        else:
            circuit.record_success(target.key)
        raise PermanentError(
            f"The answer from {request.url} is larger than {request.max_bytes} bytes."
        ) from exc
    return _judge(request, target.key, status, body, retry_after)


# What the operating system's usual answers mean, for the person reading the case.
_CONNECTION_WORDS = {
    "ECONNREFUSED": "the server refused the connection (is the service running?)",
    "ECONNRESET": "the server dropped the connection",
    "EHOSTUNREACH": "there is no route to the server",
    "ENETUNREACH": "the network is unreachable",
    "ETIMEDOUT": "the connection timed out",
}


def _why(exc: httpx.HTTPError) -> str:
    """Why a call did not get through, in words: not "[Errno 111] Connection refused"."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno is not None:
            name = errno.errorcode.get(cause.errno, "")
            if name in _CONNECTION_WORDS:
                return _CONNECTION_WORDS[name]
            return (cause.strerror or str(cause)).rstrip(".").lower()
        cause = cause.__cause__ or cause.__context__
    return re.sub(r"^\[Errno \d+\]\s*", "", str(exc)).rstrip(".") or type(exc).__name__


def _exchange(
    request: HttpRequest, target: Target, headers: dict[str, str]
) -> tuple[int, bytes, float | None]:
    """Status, body and Retry-After of the answer. httpx's timeout bounds each wait for
    the server; the whole call is bounded too, so a server that trickles its answer
    cannot hold the step past its time limit (and its lease)."""
    deadline = time.monotonic() + request.timeout
    url, host, extensions = pinned(request.url, target)
    kwargs: dict[str, Any] = {"headers": {**headers, **host}, "extensions": extensions}
    if request.body is not None and request.method not in ("GET", "DELETE"):
        kwargs["json"] = request.body
    with (
        httpx.Client(timeout=request.timeout, follow_redirects=False) as client,
        client.stream(request.method, url, **kwargs) as response,
    ):
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            if time.monotonic() > deadline:
                raise _TookTooLong
            size += len(chunk)
            if size > request.max_bytes:
                raise _TooLarge(response.status_code)
            chunks.append(chunk)
        retry_after = _retry_after(response.headers.get("Retry-After", ""))
        return response.status_code, b"".join(chunks), retry_after


def _retry_after(value: str) -> float | None:
    """Seconds to wait that a Retry-After header asks for (a number of seconds or an
    HTTP date), within MAX_RETRY_AFTER; None if absent or unreadable."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _judge(
    request: HttpRequest, target: str, status: int, raw: bytes, retry_after: float | None = None
) -> dict[str, Any]:
    body = _decode(raw)
    ok = status in request.success_statuses if request.success_statuses else 200 <= status < 300
    if ok:
        circuit.record_success(target)
        return {"status": status, "body": body}
    if status in RETRYABLE_STATUSES:
        circuit.record_failure(target)
        raise RetryableError(
            f"{request.url} answered {status}; Podium will try again"
            + (f" in {retry_after:g} s, as it asked." if retry_after else "."),
            retry_after=retry_after,
        )
    circuit.record_success(target)  # it answered: the fault is in the request, not the target
    raise PermanentError(f"{request.url} answered {status}: {str(body)[:300]}")


def _decode(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
