"""GET /healthz: the database, the broker, the LLM backend, the workers (a heartbeat) and the
rebuild queue's lag, each with a verdict; 503 when any fails."""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from config.celery import app as celery_app
from config.worker_health import worker_status
from inference.gateway import gateway_from_settings
from moralgraph.selectors.health import rebuild_lag


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


def _check_workers() -> tuple[bool, str]:
    status = worker_status()
    detail = status.detail
    if status.stale:
        detail += f"; stale: {', '.join(status.stale)}"
    return status.ok, detail


def _check_queue() -> tuple[bool, str]:
    """The oldest vote not yet in a live snapshot must be younger than MGE_HEALTH_MAX_LAG_SECONDS
    (a dead worker, a lost task or a broker outage shows here first)."""
    try:
        lag = rebuild_lag()
    except Exception as exc:  # the database check reports the cause
        return False, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    limit = float(settings.MGE_HEALTH_MAX_LAG_SECONDS)
    detail = f"oldest pending rebuild {lag.seconds:.0f} s (limit {limit:.0f} s)"
    if lag.study_id is not None:
        detail += f", study {lag.study_id}"
    return lag.seconds <= limit, detail


async def _check_llm() -> tuple[bool, str]:
    gateway = gateway_from_settings(settings)
    try:
        ok, detail = await asyncio.wait_for(gateway.health(), timeout=5)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return ok, f"{gateway.backend_name}: {detail}"


async def healthz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    results = await asyncio.gather(
        sync_to_async(_check_database, thread_sensitive=False)(),
        sync_to_async(_check_broker, thread_sensitive=False)(),
        _check_llm(),
        sync_to_async(_check_workers, thread_sensitive=False)(),
        sync_to_async(_check_queue, thread_sensitive=False)(),
    )
    names = ("database", "broker", "llm", "workers", "queue")
    checks = {
        name: {"ok": ok, "detail": detail}
        for name, (ok, detail) in zip(names, results, strict=True)
    }
    ok = all(check["ok"] for check in checks.values())
    body = {
        "status": "ok" if ok else "unhealthy",
        "checks": checks,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if ok else 503)
