"""The interviewer: turns an interview's history into a streamed answer and, when it is time,
a proposed values card.

Two backends behind one async iterator of events: the offline interviewer (a guided
interview that drafts a card from the participant's own sentences) and an OpenAI-compatible
model reached through the inference gateway, which proposes cards with the `propose_card`
tool. A model's card is validated against the card shape; an invalid one is never shown:
the text streamed with it is withdrawn (`Retrying`: the page says the card is being
revised), the model is told what was wrong and asked once more, and after a second failure
its last card opens in the participant's card editor as a draft (`CardDrafted`).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _

from elicitation.interview.offline import offline_turn
from elicitation.selectors import InterviewHistory, InterviewInfo
from inference.gateway import (
    ChatDone,
    Gateway,
    LLMError,
    TokenDelta,
    ToolCall,
    gateway_from_settings,
)
from inference.prompts import load_prompt
from inference.schemas import (
    PROPOSE_CARD_TOOL,
    CardShapeError,
    ProposedCard,
    render_card,
    validate_card,
)

OFFLINE = "offline"
# Per answer; the study's max_tokens caps the whole interview.
ANSWER_MAX_TOKENS = 800
MIN_ANSWER_TOKENS = 64
CARD_ATTEMPTS = 2
LAST_TURN_NOTE = (
    "The participant has reached the last message this interview allows. Do not ask another "
    "question: propose the values card now with the propose_card tool, from what they said."
)
CARD_ONLY_TEXT = (
    "Here is a card based on what you told me. Confirm it if it fits, or tell me what to change."
)


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Retrying:
    """The model's card did not have the right shape and it is being asked again: what it
    wrote in this answer so far is withdrawn, and the answer starts again."""


@dataclass(frozen=True)
class CardProposed:
    card: dict[str, Any]
    tool_call: dict[str, Any] | None = None


@dataclass(frozen=True)
class CardDrafted:
    """A card for the participant to finish in the card editor (a draft: it cannot be
    confirmed as it is). `text`, when given, is what the answer says instead of what was
    streamed (a model whose card failed twice)."""

    card: dict[str, Any]
    text: str | None = None


@dataclass(frozen=True)
class Used:
    tokens: int


Event = Token | Retrying | CardProposed | CardDrafted | Used


def draft_after_failures_text() -> str:
    return _(
        "I could not get the card into the right shape, so I have opened my last version of "
        "it in the card editor below. Change what needs changing, save it, and confirm it if "
        "it fits."
    )


class InterviewerFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def reply(
    interview: InterviewInfo, history: InterviewHistory, language: str | None = None
) -> AsyncGenerator[Event]:
    """The answer's events; `language` is the participant's page language."""
    if interview.backend == OFFLINE:
        return _offline_reply(history, language)
    return _model_reply(interview, history, language)


async def _offline_reply(history: InterviewHistory, language: str | None) -> AsyncGenerator[Event]:
    turn = offline_turn(
        user_texts=history.user_texts,
        current_card=history.current_card,
        must_propose=history.is_last_turn,
        language=language or get_language(),
    )
    pieces = re.findall(r"\S+\s*", turn.text)
    for piece in pieces:
        yield Token(piece)
    yield Used(len(pieces))
    if turn.card is not None:
        yield CardDrafted(turn.card)


def system_prompt(interview: InterviewInfo) -> str:
    prompt = load_prompt("interviewer", interview.prompt_version)
    return prompt.render(question=interview.question_text)


def language_note(language: str | None) -> str | None:
    """What the model is told of the participant's language when their page is not in
    English (the prompt is written in English, and so would its answers be)."""
    base = (language or "").split("-")[0].lower()
    if not base or base == "en" or base not in {code for code, _name in settings.LANGUAGES}:
        return None
    name = get_language_info(base)["name"]
    return (
        f"The participant's page is in {name}. Answer in the language the participant writes "
        f"in ({name} until they have written), and write the card's title and lines in it too."
    )


def model_messages(
    interview: InterviewInfo, history: InterviewHistory, language: str | None = None
) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(interview)}]
    note = language_note(language)
    if note is not None:
        messages.append({"role": "system", "content": note})
    messages += history.messages
    edited = _card_edited_note(history)
    if edited is not None:
        messages.append({"role": "system", "content": edited})
    if history.is_last_turn:
        messages.append({"role": "system", "content": LAST_TURN_NOTE})
    return messages


def _card_edited_note(history: InterviewHistory) -> str | None:
    """The card as the participant left it in the editor, when it is not the model's last
    proposal (the model only sees its own tool calls otherwise)."""
    if history.current_card is None:
        return None
    proposed: Any = None
    for message in history.messages:
        for call in message.get("tool_calls") or []:
            try:
                proposed = json.loads(call["function"]["arguments"])
            except (KeyError, TypeError, ValueError):
                proposed = None
    if proposed == history.current_card:
        return None
    return (
        "The participant wrote or edited the card in the card editor; it now reads:\n"
        + render_card(history.current_card)
        + "\nOnly they can confirm it. Do not propose it again unless they ask for a change."
    )


async def _model_reply(
    interview: InterviewInfo, history: InterviewHistory, language: str | None = None
) -> AsyncGenerator[Event]:
    gateway = gateway_from_settings(settings, backend=interview.backend, model=interview.model)
    messages = model_messages(interview, history, language)
    remaining = history.max_tokens - history.token_count
    max_tokens = max(MIN_ANSWER_TOKENS, min(ANSWER_MAX_TOKENS, remaining))
    last_draft: dict[str, Any] = {"title": "", "description": "", "policies": []}
    for attempt in range(1, CARD_ATTEMPTS + 1):
        text: list[str] = []
        calls: list[ToolCall] = []
        async for event in _model_stream(gateway, messages, max_tokens):
            if isinstance(event, ToolCall):
                calls.append(event)
                continue
            if isinstance(event, Token):
                text.append(event.text)
            yield event
        proposals = [c for c in calls if c.name == "propose_card"]
        if not proposals:
            return
        call = proposals[-1]
        try:
            arguments = call.parsed_arguments()
            last_draft = _draft_from(arguments) or last_draft
            card = validate_card(arguments)
        except (ValueError, CardShapeError) as exc:
            if attempt == CARD_ATTEMPTS:
                # The participant finishes the model's last card in the editor.
                yield CardDrafted(last_draft, draft_after_failures_text())
                return
            yield Retrying()
            messages = [*messages, *_correction(call, "".join(text), exc)]
            continue
        yield _proposed(card, call)
        return


def _draft_from(arguments: object) -> dict[str, Any] | None:
    """What can be kept of a model's card that failed the validator, for the editor."""
    if not isinstance(arguments, dict):
        return None
    title, description = arguments.get("title"), arguments.get("description")
    policies = arguments.get("policies")
    return {
        "title": title if isinstance(title, str) else "",
        "description": description if isinstance(description, str) else "",
        "policies": [p for p in policies if isinstance(p, str)]
        if isinstance(policies, list)
        else [],
    }


async def _model_stream(
    gateway: Gateway, messages: list[dict[str, Any]], max_tokens: int
) -> AsyncGenerator[Token | Used | ToolCall]:
    """One request to the model: its text as tokens, its usage, and its tool calls."""
    streamed = 0
    try:
        async for event in gateway.stream_chat(
            messages, tools=[PROPOSE_CARD_TOOL], max_tokens=max_tokens
        ):
            if isinstance(event, TokenDelta) and event.text:
                streamed += 1
                yield Token(event.text)
            elif isinstance(event, ToolCall):
                yield event
            elif isinstance(event, ChatDone):
                yield Used(event.usage.completion_tokens if event.usage else streamed)
    except LLMError as exc:
        raise InterviewerFailure(
            "llm_unavailable",
            "The interviewer could not answer just now. Your message is saved: press "
            "“Try again” in a moment.",
        ) from exc


def _correction(call: ToolCall, text: str, problem: Exception) -> list[dict[str, Any]]:
    """The model's invalid card and what was wrong with it, to ask for the card again."""
    return [
        {"role": "assistant", "content": text or None, "tool_calls": [_wire_call(call)]},
        {
            "role": "tool",
            "tool_call_id": call.id,
            "content": (
                f"Not shown to the participant, and neither was your text: {problem} Write "
                "your answer again and call propose_card again with a corrected card."
            ),
        },
    ]


def _proposed(card: ProposedCard, call: ToolCall) -> CardProposed:
    return CardProposed(
        {"title": card.title, "description": card.description, "policies": list(card.policies)},
        {"id": call.id, "name": call.name, "arguments": call.arguments},
    )


def _wire_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }
