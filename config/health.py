"""GET /healthz: the database, the broker and the LLM backend, each with a verdict."""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from config.celery import app as celery_app
from inference.gateway import gateway_from_settings


def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:  # any failure is the answer, not a crash
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def _check_broker() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return True, str(conn.transport_cls)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


async def _check_llm() -> tuple[bool, str]:
    gateway = gateway_from_settings(settings)
    try:
        ok, detail = await asyncio.wait_for(gateway.health(), timeout=5)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return ok, f"{gateway.backend_name}: {detail}"


async def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    (db_ok, db_detail), (broker_ok, broker_detail), (llm_ok, llm_detail) = await asyncio.gather(
        sync_to_async(_check_database, thread_sensitive=False)(),
        sync_to_async(_check_broker, thread_sensitive=False)(),
        _check_llm(),
    )
    ok = db_ok and broker_ok and llm_ok
    body = {
        "status": "ok" if ok else "unhealthy",
        "checks": {
            "database": {"ok": db_ok, "detail": db_detail},
            "broker": {"ok": broker_ok, "detail": broker_detail},
            "llm": {"ok": llm_ok, "detail": llm_detail},
        },
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if ok else 503)
