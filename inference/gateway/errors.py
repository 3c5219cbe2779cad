"""One error family for everything that can go wrong when talking to a model."""

from __future__ import annotations


class LLMError(Exception):
    """Base class; ``str(error)`` is a sentence a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LLMTimeout(LLMError):
    """The model server did not answer in time (after the retries)."""


class LLMUnavailable(LLMError):
    """The model server could not be reached or kept failing (429/5xx) after the retries."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LLMBadRequest(LLMError):
    """The server refused the request (4xx other than 429); retrying would not help."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LLMBadResponse(LLMError):
    """The server answered with something that is not the OpenAI wire format."""


class StructuredOutputError(LLMError):
    """The model's answers were not JSON matching the schema, in every attempt."""

    def __init__(self, message: str, *, attempts: int, last_answer: str | None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_answer = last_answer


# Errors worth another try later: the server was unreachable or slow.
TRANSIENT_ERRORS: tuple[type[LLMError], ...] = (LLMUnavailable, LLMTimeout)

# How a background task that waits on a model retries (Celery task options): transient errors
# only, with backoff, a few times.
LLM_TASK_RETRY: dict[str, object] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 3,
}
