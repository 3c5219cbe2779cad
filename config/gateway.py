"""The one place that turns settings into an LLM gateway for the rest of the app."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from inference.gateway import Gateway, build_gateway


@cache
def _gateway(backend: str, model: str) -> Gateway:
    if backend == "offline":
        return build_gateway(
            base_url=None, api_key=None, model=None, embed_model=None, timeout_s=1.0
        )
    return build_gateway(
        base_url=settings.LLM_BASE_URL,
        api_key=settings.LLM_API_KEY or "not-needed",
        model=model or settings.LLM_MODEL,
        embed_model=settings.EMBED_MODEL,
        timeout_s=settings.LLM_TIMEOUT_S,
        max_retries=settings.LLM_MAX_RETRIES,
    )


def get_gateway(*, backend: str | None = None, model: str = "") -> Gateway:
    """The configured backend by default; `backend="offline"` forces the offline one.

    Without LLM_BASE_URL there is no remote backend, so everything runs offline.
    """
    if backend is None:
        backend = "openai" if settings.LLM_BASE_URL else "offline"
    if backend != "offline" and not settings.LLM_BASE_URL:
        backend = "offline"
    return _gateway(backend, model)
