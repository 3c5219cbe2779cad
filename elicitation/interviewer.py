"""The interviewer: turns a transcript into a streamed answer through the LLM gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.urls import reverse

from config.gateway import get_gateway
from inference.gateway import LLMError, TokenDelta
from inference.prompts import load_prompt

if TYPE_CHECKING:
    from elicitation.models import ValuesCard
    from elicitation.selectors import InterviewInfo


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Retrying:
    """The backend failed transiently and the answer is being asked for again."""


class InterviewerFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def reply(
    interview: InterviewInfo, transcript: list[dict[str, str]]
) -> AsyncIterator[Token | Retrying]:
    gateway = get_gateway(backend=interview.backend, model=interview.model)
    prompt = load_prompt("interviewer", interview.prompt_version)
    system = prompt.render(question=interview.question_text)
    messages = [{"role": "system", "content": system}, *transcript]
    try:
        async for event in gateway.stream_chat(messages):
            if isinstance(event, TokenDelta) and event.text:
                yield Token(event.text)
    except LLMError as exc:
        raise InterviewerFailure(
            "llm_unavailable",
            f"The interviewer could not answer ({exc}). Your message is saved: try again.",
        ) from exc


def next_url(card: ValuesCard) -> str:
    return reverse("elicitation:after_card", kwargs={"slug": card.participant.study.slug})
