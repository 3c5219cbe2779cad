"""Where a participant came from, as manipulation signals: a keyed hash of a long-lived browser
cookie and a keyed hash of the client's network (its IPv4 /24 or IPv6 /48).

Only the hashes are stored, never the cookie's value or an address: HMAC-SHA256 with the site's
SECRET_KEY, so the hashes cannot be reversed by trying every address without the key. Two
participants of a study with one browser hash came from the same browser (a fresh session, not
a fresh person); many with one network hash, from one household, office or server.

The client address is REMOTE_ADDR, which the ASGI server sets from the proxy's X-Forwarded-For
when it trusts the proxy (uvicorn `--proxy-headers`); a header is never read here, since a
participant can write any header they like.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

BROWSER_COOKIE = "mge_browser"
BROWSER_COOKIE_AGE = 60 * 60 * 24 * 365
# What `secrets.token_urlsafe(32)` writes; anything else in the cookie is replaced.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_NEW_TOKEN = "_mge_browser_token"


def keyed_hash(kind: str, value: str) -> str:
    """HMAC-SHA256 of `value` under the site's key, domain-separated by `kind`."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def browser_token(request: HttpRequest) -> str:
    """The browser's long-lived random token: its cookie, else a new one (set on the response
    by `browser_cookie_ensure`)."""
    token = request.COOKIES.get(BROWSER_COOKIE, "")
    if _TOKEN.match(token):
        return token
    fresh: str | None = getattr(request, _NEW_TOKEN, None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        setattr(request, _NEW_TOKEN, fresh)
    return fresh


def network_prefix(address: str) -> str:
    """The client's network: an IPv4 address's /24, an IPv6 address's /48 (an IPv4-mapped IPv6
    address counts as IPv4); "" when there is no usable address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def participant_signals(request: HttpRequest) -> dict[str, str]:
    """The keyword arguments `participant_consent` stores: the browser's and network's hashes."""
    prefix = network_prefix(request.META.get("REMOTE_ADDR", ""))
    return {
        "browser_hash": keyed_hash("browser", browser_token(request)),
        "network_hash": keyed_hash("network", prefix) if prefix else "",
    }


View = Callable[..., HttpResponseBase]


def browser_cookie_ensure(view: View) -> View:
    """Give the browser its long-lived token on this view's responses when it has none (or a
    malformed one): a year, HttpOnly, SameSite=Lax, Secure when the session cookie is."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if not _TOKEN.match(request.COOKIES.get(BROWSER_COOKIE, "")):
            response.set_cookie(
                BROWSER_COOKIE,
                browser_token(request),
                max_age=BROWSER_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    return wrapped
