"""The inference gateway: the one door through which the app talks to models.

``build_gateway`` picks the backend: an OpenAI-compatible server when a base URL is
configured (OpenAI, vLLM, the fake server), otherwise the deterministic offline backend.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .base import Gateway, OfflineFallback
from .errors import (
    LLM_TASK_RETRY,
    TRANSIENT_ERRORS,
    LLMBadRequest,
    LLMBadResponse,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    StructuredOutputError,
)
from .types import (
    ChatDone,
    ChatEvent,
    ChatResult,
    Embeddings,
    JSONSchema,
    Message,
    TokenDelta,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
    Usage,
)


def build_gateway(
    *,
    base_url: str | None,
    api_key: str | None,
    model: str | None,
    embed_model: str | None,
    timeout_s: float = 30,
    max_retries: int = 3,
    retry_base_delay_s: float = 0.5,
    retry_max_delay_s: float = 8.0,
    embed_base_url: str | None = None,
    embed_api_key: str | None = None,
) -> Gateway:
    """The OpenAI-compatible backend when ``base_url`` is set, else the offline backend.
    Embeddings go to ``embed_base_url`` (with ``embed_api_key``) when set, else to
    ``base_url``."""
    # Imported here: the backends build on this package's base and types.
    from inference.backends.offline import OfflineGateway
    from inference.backends.openai_compat import OpenAICompatGateway, RetryPolicy

    if base_url:
        return OpenAICompatGateway(
            base_url=base_url,
            api_key=api_key,
            model=model,
            embed_model=embed_model,
            timeout_s=timeout_s,
            retry=RetryPolicy(
                max_retries=max_retries,
                base_delay_s=retry_base_delay_s,
                max_delay_s=retry_max_delay_s,
            ),
            embed_base_url=embed_base_url,
            embed_api_key=embed_api_key,
        )
    return OfflineGateway(model=model, embed_model=embed_model)


@cache
def _cached_gateway(
    backend: str,
    base_url: str,
    api_key: str,
    model: str,
    embed_model: str,
    timeout_s: float,
    max_retries: int,
    embed_base_url: str = "",
    embed_api_key: str = "",
) -> Gateway:
    if backend == "offline":
        return build_gateway(
            base_url=None, api_key=None, model=None, embed_model=None, timeout_s=1.0
        )
    return build_gateway(
        base_url=base_url,
        api_key=api_key or "not-needed",
        model=model,
        embed_model=embed_model,
        timeout_s=timeout_s,
        max_retries=max_retries,
        embed_base_url=embed_base_url or None,
        embed_api_key=embed_api_key or None,
    )


def gateway_from_settings(settings: Any, *, backend: str | None = None, model: str = "") -> Gateway:
    """The gateway an app's settings describe (LLM_BASE_URL, LLM_API_KEY, LLM_MODEL,
    EMBED_MODEL, EMBED_BASE_URL, EMBED_API_KEY, LLM_TIMEOUT_S, LLM_MAX_RETRIES, read as attributes: this package does not
    import Django). One gateway per configuration is kept and shared.

    The configured backend by default; `backend="offline"` forces the offline one, and without
    LLM_BASE_URL there is no remote backend, so everything runs offline.
    """
    base_url = getattr(settings, "LLM_BASE_URL", "") or ""
    if backend is None or not base_url:
        backend = "openai" if base_url else "offline"
    return _cached_gateway(
        backend,
        base_url,
        getattr(settings, "LLM_API_KEY", "") or "",
        model or getattr(settings, "LLM_MODEL", "") or "",
        getattr(settings, "EMBED_MODEL", "") or "",
        float(getattr(settings, "LLM_TIMEOUT_S", 30)),
        int(getattr(settings, "LLM_MAX_RETRIES", 3)),
        getattr(settings, "EMBED_BASE_URL", "") or "",
        getattr(settings, "EMBED_API_KEY", "") or "",
    )


__all__ = [
    "LLM_TASK_RETRY",
    "TRANSIENT_ERRORS",
    "ChatDone",
    "ChatEvent",
    "ChatResult",
    "Embeddings",
    "Gateway",
    "JSONSchema",
    "LLMBadRequest",
    "LLMBadResponse",
    "LLMError",
    "LLMTimeout",
    "LLMUnavailable",
    "Message",
    "OfflineFallback",
    "StructuredOutputError",
    "TokenDelta",
    "ToolCall",
    "ToolCallEvent",
    "ToolSpec",
    "Usage",
    "build_gateway",
    "gateway_from_settings",
]
