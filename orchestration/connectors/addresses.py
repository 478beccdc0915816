"""SSRF guard: HTTP steps may not call private or loopback addresses unless allowed."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from orchestration.models import AllowedTarget
from orchestration.steps.base import PermanentError, RetryableError


def allowed_hosts() -> set[str]:
    hosts = {h.lower() for h in settings.PODIUM_HTTP_ALLOWLIST}
    hosts.update(h.lower() for h in AllowedTarget.objects.values_list("host", flat=True))
    return hosts


def is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        not ip.is_global  # also the shared range 100.64.0.0/10, inside many clouds
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    """Where an HTTP step may connect. `key` ("host:port") names the target for the
    circuit breaker; `address` is the IP that was checked, which the request must then
    connect to, or None for an allow-listed host (reached by its name)."""

    key: str
    host: str
    address: str | None


def check_url(url: str) -> Target:
    """The target of a URL that may be called, or raise why not.

    The request connects to the address checked here rather than looking the name up
    again: a name whose DNS answer changes between the two (DNS rebinding) would
    otherwise pass the check with a public address and then reach a private one.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"'{url}' is not a web address starting with http:// or https://.")
    host = parts.hostname.lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    key = f"{host}:{port}"
    if host in allowed_hosts():
        return Target(key, host, None)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise RetryableError(f"The address '{host}' could not be looked up: {exc}.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(is_internal(address) for address in addresses):
        raise PermanentError(
            f"'{host}' is a private or local address. HTTP steps may only call it if an "
            "administrator adds it to the allow-list in the Admin console."
        )
    # One address only, so prefer IPv4: where IPv6 has no route the call would fail.
    return Target(key, host, next((a for a in addresses if ":" not in a), addresses[0]))


def pinned(url: str, target: Target) -> tuple[str, dict[str, str], dict[str, str]]:
    """`url` with its host replaced by the checked address, and the Host header and TLS
    server name (for the certificate check) that keep the original name."""
    if target.address is None:
        return url, {}, {}
    parts = urlsplit(url)
    literal = f"[{target.address}]" if ":" in target.address else target.address
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + literal
    netloc += f":{parts.port}" if parts.port else ""
    name = f"[{target.host}]" if ":" in target.host else target.host
    host_header = name + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": target.host} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions
