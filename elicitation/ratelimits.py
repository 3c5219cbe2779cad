"""Rate limits on what participants send: sign-ups, votes and interview messages.

Each limit is a fixed window: at most COUNT requests of one kind in SECONDS, counted per client
address, per browser session and per participant (`MGE_RATE_<SCOPE>_PER_<KEY>` settings, each
"COUNT/SECONDS"; a missing or zero setting turns that count off). Counters live in the cache:
Redis when REDIS_URL is set, so every server process shares them, else this process's memory.
Cache keys hold keyed hashes (`client_signals.keyed_hash`), never an address or session id.
Addresses in `MGE_RATE_EXEMPT_IPS` (by default the host's own loopback: the embedded server, a
health check, a same-host proxy whose forwarded address is not trusted) have no per-address
count; their sessions and participants are still counted.

A request over any of its limits is refused before it does anything: a page answers 429 with a
`Retry-After` header (`too_many_requests`), the interview socket an error frame whose code is
`RATE_LIMITED`. What was sent before stays stored. When the cache is unreachable the limits are
skipped (logged): a Redis outage must not lock participants out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from elicitation.client_signals import keyed_hash

log = logging.getLogger(__name__)

RATE_LIMITED = "rate_limited"
SCOPES = ("signups", "votes", "messages", "resumes")
KEY_KINDS = ("ip", "session", "participant")
# Each message is whole (not "Too many {what}"), so a translation can agree with its noun.
_TOO_MANY = {
    "signups": gettext_lazy("Too many sign-ups in a short time."),
    "votes": gettext_lazy("Too many answers in a short time."),
    "messages": gettext_lazy("Too many messages in a short time."),
    "resumes": gettext_lazy("Too many resume codes tried in a short time."),
}


@dataclass(frozen=True)
class Limited:
    """A refused request: which kind it was and how many seconds until it may be tried again."""

    scope: str
    retry_after: int

    @property
    def message(self) -> str:
        too_many = _TOO_MANY.get(self.scope) or _("Too many requests in a short time.")
        return f"{too_many} " + _(
            "Please wait %(wait)s and try again; everything you sent before is saved."
        ) % {"wait": wait_words(self.retry_after)}


def clock() -> float:
    """Now, in seconds (the windows' clock; tests hold it still across a burst)."""
    return time.time()


def wait_words(seconds: int) -> str:
    if seconds < 60:
        return (
            _("a second")
            if seconds <= 1
            else ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
        )
    minutes = math.ceil(seconds / 60)
    return (
        _("a minute")
        if minutes == 1
        else ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    )


def parse_rate(value: str) -> tuple[int, int] | None:
    """ "COUNT/SECONDS" as (count, seconds); None when off (empty, zero, or not a rate)."""
    if not str(value).strip():  # an empty setting turns the limit off, quietly
        return None
    count, _, seconds = str(value).partition("/")
    try:
        parsed = int(count), int(seconds or "60")
    except ValueError:
        log.warning("rate limit %r is not COUNT/SECONDS: ignored", value)
        return None
    return parsed if parsed[0] > 0 and parsed[1] > 0 else None


def client_address(request: Any) -> str:
    """The client's address as the ASGI server gave it (see `client_signals`): no header."""
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR", "") or "")


def hit(scope: str, keys: Iterable[tuple[str, str]], now: float | None = None) -> Limited | None:
    """Count one request of `scope` against each (kind, identifier) in `keys` (an empty
    identifier is skipped); the refusal if any count is past its limit."""
    now = clock() if now is None else now
    worst: Limited | None = None
    for kind, identifier in keys:
        rate = parse_rate(getattr(settings, f"MGE_RATE_{scope.upper()}_PER_{kind.upper()}", ""))
        if rate is None or not identifier:
            continue
        if kind == "ip" and identifier in settings.MGE_RATE_EXEMPT_IPS:
            continue
        limit, window = rate
        start = int(now // window) * window
        key = f"rl:{scope}:{kind}:{keyed_hash('ratelimit-' + kind, identifier)}:{window}:{start}"
        try:
            cache.add(key, 0, timeout=window + 5)
            count = cache.incr(key)
        except Exception:  # the cache is down or the key expired in between: let it through
            log.warning("rate limit %s/%s not counted", scope, kind, exc_info=True)
            continue
        if count > limit:
            retry_after = max(1, math.ceil(start + window - now))
            if worst is None or retry_after > worst.retry_after:
                worst = Limited(scope=scope, retry_after=retry_after)
    return worst


def request_keys(request: HttpRequest) -> list[tuple[str, str]]:
    """A page request's keys: its address, its session and the participants it holds."""
    session = getattr(request, "session", None)
    session_key = (session.session_key or "") if session is not None else ""
    participant_ids = list(session.get("participant_ids", [])) if session is not None else []
    return [
        ("ip", client_address(request)),
        ("session", session_key),
        *(("participant", str(pk)) for pk in participant_ids),
    ]


def too_many_requests(request: HttpRequest, limited: Limited) -> HttpResponse:
    response = render(
        request,
        "elicitation/too_many_requests.html",
        {"limited": limited, "wait": wait_words(limited.retry_after), "back": request.path},
        status=429,
    )
    response["Retry-After"] = str(limited.retry_after)
    return response


View = Callable[..., HttpResponseBase]


def limit_posts(scope: str) -> Callable[[View], View]:
    """Refuse a view's POSTs past the `scope` limits with the 429 page; GETs are not counted."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST":
                limited = hit(scope, request_keys(request))
                if limited is not None:
                    return too_many_requests(request, limited)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
