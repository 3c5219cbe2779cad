"""The server error handler: a database outage answers the friendly 503 page even when it
surfaced outside a view (a session saved in a middleware), where the middleware cannot see it."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.views.defaults import server_error as default_server_error

from config.middleware import is_database_outage, unavailable_response


def server_error(request: HttpRequest) -> HttpResponse:
    if is_database_outage(sys.exc_info()[1]):
        return unavailable_response()
    return default_server_error(request)
