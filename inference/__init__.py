"""The only code that speaks to models.

The gateway (``inference.gateway``) is the bottom layer and imports nothing else of ours;
prompts live as versioned files in ``inference/prompts``; LLM I/O schemas and the proposed
card validator in ``inference.schemas``; the fake OpenAI-compatible server in
``inference.fake_server`` and its test helper in ``inference.testing``.
"""

from inference.gateway import (
    ChatDone,
    ChatEvent,
    ChatResult,
    Embeddings,
    Gateway,
    LLMBadRequest,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    StructuredOutputError,
    TokenDelta,
    ToolCall,
    ToolCallEvent,
    Usage,
    build_gateway,
)
from inference.prompts import Prompt, PromptError, load_prompt

__all__ = [
    "ChatDone",
    "ChatEvent",
    "ChatResult",
    "Embeddings",
    "Gateway",
    "LLMBadRequest",
    "LLMError",
    "LLMTimeout",
    "LLMUnavailable",
    "Prompt",
    "PromptError",
    "StructuredOutputError",
    "TokenDelta",
    "ToolCall",
    "ToolCallEvent",
    "Usage",
    "build_gateway",
    "load_prompt",
]
