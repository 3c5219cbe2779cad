"""While the database is down, answer 503 with a page that says so, not a bare 500."""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger(__name__)

# Long enough for PostgreSQL to restart; browsers and clients may retry after it.
RETRY_AFTER_SECONDS = 30
UNAVAILABLE_TEMPLATE = "frontend/unavailable.html"


def unavailable_response() -> HttpResponse:
    # Rendered without the request: no context processor may reach the database.
    html = render_to_string(UNAVAILABLE_TEMPLATE, {"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def is_database_outage(exc: BaseException | None) -> bool:
    """OperationalError (connection refused, server closed the connection, pool timeout) and
    InterfaceError (connection already closed) mean the database is out of reach."""
    return isinstance(exc, OperationalError | InterfaceError)


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_outage(exception):
            return None
        logger.error("database unavailable for %s: %s", request.path, exception)
        return unavailable_response()
