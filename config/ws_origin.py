"""The WebSocket origin check: a socket is admitted only from a page of this very site.

Channels' AllowedHostsOriginValidator compares the Origin's host name with ALLOWED_HOSTS and
ignores the scheme's port, so a page served by any other service on an allowed host (another
port of the same machine) could open a participant's socket with their cookies. Here the
Origin must be the origin the socket was asked of (its Host header, port included, the
scheme's default port when it names none), on an allowed host; or one of
CSRF_TRUSTED_ORIGINS (a proxy that rewrites Host), exactly, port included.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin1")
    return None


def _origin_key(scheme: str, host: str, port: int | None) -> tuple[str, str, int | None]:
    return scheme, host.lower().rstrip("."), port if port is not None else DEFAULT_PORTS.get(scheme)


def origin_allowed(origin: str | None, host_header: str | None) -> bool:
    if not origin:
        return False
    try:
        parsed = urlsplit(origin)
        origin_port = parsed.port
    except ValueError:
        return False
    if parsed.scheme not in DEFAULT_PORTS or not parsed.hostname:
        return False
    key = _origin_key(parsed.scheme, parsed.hostname, origin_port)
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        t = urlsplit(trusted)
        if t.hostname and "*" not in trusted and _origin_key(t.scheme, t.hostname, t.port) == key:
            return True
    if not host_header or not validate_host(parsed.hostname, settings.ALLOWED_HOSTS):
        return False
    domain, port = split_domain_port(host_header)
    if not domain:
        return False
    requested = _origin_key(parsed.scheme, domain, int(port) if port else None)
    return requested == key


class SameOriginValidator:
    """ASGI middleware for WebSocket scopes: deny a handshake whose Origin is not this site."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards WebSocket connections only")
        if origin_allowed(_header(scope, b"origin"), _header(scope, b"host")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
