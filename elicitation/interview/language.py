"""The language a participant's socket speaks: the one Django chose for their pages."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from django.http import HttpRequest
from django.utils import translation


def scope_language(scope: dict[str, Any]) -> str:
    """The participant's page language, as Django chooses it for their pages (the switcher's
    cookie, else the browser's Accept-Language, else the default)."""
    headers = {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1")
        for k, v in scope.get("headers") or []
    }
    request = SimpleNamespace(
        COOKIES=scope.get("cookies") or {},
        META={"HTTP_ACCEPT_LANGUAGE": headers.get("accept-language", "")},
        path_info="/",
    )
    return translation.get_language_from_request(cast(HttpRequest, request))
