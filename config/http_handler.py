"""Django's ASGI handler, with each HTTP request served in one hop to a pool of threads.

Django's own handler builds the middleware chain in async mode. Our views and most middleware
are synchronous, so a request crossed between the event loop and its thread at every middleware
hook and again for the view, some twenty crossings, each a wake-up of the loop and of a thread.
Measured with `bench/votes.py` (2 processes, runs alternated on the same machine): about 1.4
times the votes per second and two thirds of the median latency with this handler (README,
"Load").

This handler builds the chain in sync mode and runs the whole chain, view included, in one call
on a thread of its own pool (`MGE_HTTP_THREADS` per process; a request beyond that waits for a
free thread, where Django's handler would have started one more thread and database connection). Everything else stays Django's: the
request is read and the response written on the event loop, streamed bodies included, and the
request signals are sent as before. Database connections opened on a pool thread are closed (or
given back to the connection pool) when the request's chain returns; `DATABASE_POOL_MAX` should
stay above `MGE_HTTP_THREADS`. An async view (`/healthz`) still works: Django runs it on the event
loop from the thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase


class ThreadedASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=int(settings.MGE_HTTP_THREADS), thread_name_prefix="http"
        )
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # Django asks for the async chain; the sync one runs in a single hop.
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        respond = sync_to_async(self._respond, thread_sensitive=False, executor=self.executor)
        response: HttpResponseBase = await respond(request)
        return response

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        close_old_connections()
        try:
            response: HttpResponseBase = self.get_response(request)
            return response
        finally:
            close_old_connections()
