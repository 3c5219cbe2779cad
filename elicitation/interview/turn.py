"""One turn of an interview, told as typed events: the interviewer's answer to the
participant's last message, streamed as it comes and stored when it ends, and the
participant's confirmation of a card. The socket (`elicitation.interview.consumer`) turns
each event into frames; what is stored, and when, is decided here.

A stopped answer (its task cancelled) keeps the text that came and proposes nothing; an
answer with no text at all is not stored, so the participant's message can be answered again.
When the model's card is refused and it is asked again (`Retrying`), what it wrote so far is
withdrawn: the stored answer is the one that came with its card (or, if that one had no text,
the one before), never the two glued together.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial

from channels.db import database_sync_to_async
from django.urls import reverse

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.interview import interviewer
from elicitation.interview.interviewer import Retrying
from elicitation.schemas import CardProposedFrame, CardSubmittedFrame, MessageFrame

log = logging.getLogger(__name__)

# Tokens are coalesced: at most one piece of text per answer every this many seconds.
TOKEN_FLUSH_S = 0.1
# What the participant is told when the answer broke in a way nobody planned for.
ANSWER_FAILED = (
    "Something went wrong while the interviewer was answering. Your message is saved: press "
    "“Try again”."
)


@dataclass(frozen=True)
class Thinking:
    """The answer has begun."""


@dataclass(frozen=True)
class Streamed:
    """More of the answer's text."""

    text: str


@dataclass(frozen=True)
class AnswerStored:
    message: MessageFrame


@dataclass(frozen=True)
class CardStored:
    """A card proposed, or a draft for the participant to finish in the card editor."""

    proposal: CardProposedFrame


@dataclass(frozen=True)
class Failed:
    """The answer failed, or its card did; what was stored (if anything) stays."""

    code: str
    message: str


@dataclass(frozen=True)
class Ended:
    """The turn's last event: the interview may take the next message."""


TurnEvent = Thinking | Streamed | Retrying | AnswerStored | CardStored | Failed | Ended


@dataclass
class _Answer:
    """What the interviewer has said so far in this turn."""

    parts: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    # What an earlier attempt wrote, withdrawn when the model was asked again for its card.
    withdrawn: list[str] = field(default_factory=list)
    last_flush: float = 0.0
    tokens: int = 0
    card: interviewer.CardProposed | None = None
    draft: interviewer.CardDrafted | None = None

    def take(self, event: interviewer.Event) -> TurnEvent | None:
        match event:
            case interviewer.Token(text=text):
                self.parts.append(text)
                self.pending.append(text)
                now = time.monotonic()
                if now - self.last_flush >= TOKEN_FLUSH_S:
                    self.last_flush = now
                    return Streamed(self.flush())
            case interviewer.Used(tokens=used):
                self.tokens += used
            case Retrying():
                self.withdrawn = self.parts
                self.parts, self.pending = [], []
                return event
            case interviewer.CardProposed():
                self.card = event
            case interviewer.CardDrafted():
                self.draft = event
        return None

    def text(self) -> str:
        """The answer to store (PostgreSQL cannot store NUL)."""
        if self.draft is not None and self.draft.text is not None:
            text = self.draft.text
        elif self.card is not None and not "".join(self.parts).strip():
            text = "".join(self.withdrawn)  # the card came alone: its first attempt's words
        else:
            text = "".join(self.parts)
        return text.replace("\x00", "")

    def flush(self) -> str:
        text = "".join(self.pending)
        self.pending.clear()
        return text


async def answer_turn(
    interview: selectors.InterviewInfo, *, language: str | None = None
) -> AsyncGenerator[TurnEvent]:
    """Answer the interview's last message (`language`: the participant's page language).
    Cancelling the task that runs this (or throwing CancelledError in at a `yield`) stops the
    answer: what came so far is stored."""
    started = time.monotonic()
    answer = _Answer()
    is_stopped = False
    failure: interviewer.InterviewerFailure | None = None
    try:
        yield Thinking()
        history = await database_sync_to_async(selectors.interview_history)(
            interview_id=interview.id
        )
        async with aclosing(interviewer.reply(interview, history, language)) as events:
            async for event in events:
                streamed = answer.take(event)
                if streamed is not None:
                    yield streamed
    except asyncio.CancelledError:
        is_stopped = True
    except interviewer.InterviewerFailure as exc:
        failure = exc
    except Exception:  # a bug or a broken model server: the answer still ends, with a frame
        log.exception("interview %s: the answer failed", interview.id)
        failure = interviewer.InterviewerFailure("answer_failed", ANSWER_FAILED)
    if answer.pending and not is_stopped:
        yield Streamed(answer.flush())
    async for stored in _answer_store(
        interview.id, answer, is_stopped=is_stopped, failure=failure, started=started
    ):
        yield stored


async def _answer_store(
    interview_id: int,
    answer: _Answer,
    *,
    is_stopped: bool,
    failure: interviewer.InterviewerFailure | None,
    started: float,
) -> AsyncIterator[TurnEvent]:
    if is_stopped:  # a stopped answer proposes nothing and keeps what streamed
        answer.card = answer.draft = None
    text = answer.text()
    card = answer.card
    if card is not None and not text.strip():
        text = interviewer.CARD_ONLY_TEXT
    if not text:
        # Nothing to store: the participant's message stays unanswered and can be retried.
        if failure is not None:
            yield Failed(failure.code, failure.message)
        elif not is_stopped:
            yield Failed("empty_answer", "The interviewer gave no answer. Press “Try again”.")
        yield Ended()
        return
    store = partial(
        database_sync_to_async(services.interview_answer_store),
        interview_id=interview_id,
        text=text,
        is_stopped=is_stopped or failure is not None,
        duration_ms=int((time.monotonic() - started) * 1000),
        tokens=answer.tokens or len(answer.parts),
    )
    problems: list[Failed] = []
    try:
        try:
            if answer.draft is not None:
                message, proposal = await _store_with_draft(
                    interview_id=interview_id,
                    text=text,
                    draft=answer.draft.card,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    tokens=answer.tokens or len(answer.parts),
                )
            else:
                message, proposal = await store(
                    card=card.card if card else None, tool_call=card.tool_call if card else None
                )
        except ApplicationError as exc:
            if card is None:
                raise
            # The card could not be stored: the answer is, without it, and they are told.
            message, proposal = await store()
            problems.append(Failed(exc.code, exc.message))
    except Exception:
        log.exception("interview %s: the answer could not be stored", interview_id)
        yield Failed("answer_failed", ANSWER_FAILED)
        yield Ended()
        return
    yield AnswerStored(message)
    if proposal is not None:
        yield CardStored(proposal)
    if failure is not None:
        problems.append(Failed(failure.code, failure.message))
    for failed in problems:
        yield failed
    yield Ended()


_store_with_draft = database_sync_to_async(services.interview_answer_store_with_draft)


@database_sync_to_async
def answer_claim(*, interview_id: int) -> int | None:
    """Claim the right to write the interview's next answer: the seq the answer will have, or
    None when another answer (in this process or another) holds the claim."""
    if not services.interview_answer_claim(interview_id=interview_id):
        return None
    return selectors.interview_next_seq(interview_id=interview_id)


# Freed when the answer ends.
answer_release = database_sync_to_async(services.interview_answer_release)
# The heartbeat: the claim renewed and the text streamed so far kept, in case this process
# dies mid-answer; and the end of an answer whose process did (None: nothing to end).
answer_checkpoint = database_sync_to_async(services.interview_answer_checkpoint)
answer_recover = database_sync_to_async(services.interview_answer_recover)


def _card_confirm(*, interview_id: int, proposal_id: int) -> CardSubmittedFrame:
    card = services.values_card_confirm(interview_id=interview_id, proposal_id=proposal_id)
    next_url = reverse("elicitation:wise_values", kwargs={"slug": card.participant.study.slug})
    return CardSubmittedFrame(card_id=card.pk, next=next_url)


# The participant confirms a proposed card (raises ApplicationError when it cannot be).
card_confirm = database_sync_to_async(_card_confirm)


def _card_edit(
    *, interview_id: int, proposal_id: int, card: dict[str, object]
) -> CardProposedFrame:
    proposal = services.card_proposal_revise(
        interview_id=interview_id, proposal_id=proposal_id, card=card
    )
    return selectors.proposal_as_frame(proposal)


# The participant saves an edit of the card in play (raises ApplicationError, saying what to
# fix, when it breaks the editor's rules or is not the latest version).
card_edit = database_sync_to_async(_card_edit)
