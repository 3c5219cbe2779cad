"""The inference gateway: the one door through which the app talks to models.

``build_gateway`` picks the backend: an OpenAI-compatible server when a base URL is
configured (OpenAI, vLLM, the fake server), otherwise the deterministic offline backend.
"""

from __future__ import annotations

from .base import Gateway, OfflineFallback
from .errors import LLMBadRequest, LLMError, LLMTimeout, LLMUnavailable, StructuredOutputError
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
) -> Gateway:
    """The OpenAI-compatible backend when ``base_url`` is set, else the offline backend."""
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
        )
    return OfflineGateway(model=model, embed_model=embed_model)


__all__ = [
    "ChatDone",
    "ChatEvent",
    "ChatResult",
    "Embeddings",
    "Gateway",
    "JSONSchema",
    "LLMBadRequest",
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
]
