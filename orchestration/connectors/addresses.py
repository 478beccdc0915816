"""SSRF guard: HTTP steps may not call private or loopback addresses unless allowed."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from orchestration.models import AllowedTarget
from orchestration.steps.base import PermanentError, RetryableError


def allowed_hosts() -> set[str]:
    hosts = {h.lower() for h in settings.PODIUM_HTTP_ALLOWLIST}
    hosts.update(h.lower() for h in AllowedTarget.objects.values_list("host", flat=True))
    return hosts


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def check_url(url: str) -> str:
    """Return the target ("host:port") of a URL that may be called, or raise why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"'{url}' is not a web address starting with http:// or https://.")
    host = parts.hostname.lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host in allowed_hosts():
        return f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise RetryableError(f"The address '{host}' could not be looked up: {exc}.") from exc
    for info in infos:
        if _is_internal(str(info[4][0])):
            raise PermanentError(
                f"'{host}' is a private or local address. HTTP steps may only call it if an "
                "administrator adds it to the allow-list in the Admin console."
            )
    return f"{host}:{port}"
