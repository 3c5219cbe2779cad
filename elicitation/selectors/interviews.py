"""Reads for an interview: its settings, its history for the interviewer, its frames to replay."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from elicitation.models import (
    CardProposal,
    Interview,
    Message,
)
from elicitation.schemas import CardProposedFrame, MessageFrame

# An answer's claim is renewed while it streams; one not renewed for this long is taken to be
# lost (its server process died), so the participant can go on.
ANSWER_STALE_AFTER = timedelta(seconds=10)
# How often an answer renews its claim and checkpoints its text (a few beats fit in the above).
ANSWER_HEARTBEAT_S = 2.0


@dataclass(frozen=True)
class InterviewInfo:
    id: int
    participant_id: int
    study_id: int
    question_id: int
    question_text: str
    status: str
    backend: str
    model: str
    prompt_version: int | None
    max_turns: int
    max_tokens: int
    turn_count: int
    token_count: int


# What the model is told after a card it proposed was shown (OpenAI's protocol needs a tool
# result after every tool call).
CARD_SHOWN_RESULT = (
    "The card was shown to the participant. They can confirm it with a button, or ask for "
    "changes in the chat; only they can submit it."
)


def message_as_frame(message: Message) -> MessageFrame:
    return MessageFrame.model_validate(
        {
            "seq": message.seq,
            "role": str(message.role),
            "text": message.text,
            "stopped": message.is_stopped,
        }
    )


def interview_owned(*, interview_id: int, participant_ids: list[int]) -> Interview | None:
    """The interview with its question and study, if one of these participants owns it."""
    return (
        Interview.objects.select_related("question", "participant__study")
        .filter(pk=interview_id, participant_id__in=participant_ids)
        .first()
    )


def interview_for_participant(
    *, interview_id: int, participant_ids: list[int]
) -> InterviewInfo | None:
    """The interview, if it belongs to one of this browser session's participants."""
    interview = (
        Interview.objects.select_related("question", "participant__study")
        .filter(pk=interview_id, participant_id__in=participant_ids)
        .first()
    )
    if interview is None:
        return None
    study = interview.participant.study
    return InterviewInfo(
        id=interview.pk,
        participant_id=interview.participant_id,
        study_id=study.pk,
        question_id=interview.question_id,
        question_text=interview.question.text,
        status=interview.status,
        backend=interview.backend,
        model=interview.model,
        prompt_version=interview.prompt_version,
        max_turns=study.max_turns,
        max_tokens=study.max_tokens,
        turn_count=interview.turn_count,
        token_count=interview.token_count,
    )


def proposal_as_frame(proposal: CardProposal) -> CardProposedFrame:
    return CardProposedFrame.model_validate(
        {
            "proposal_id": proposal.pk,
            "card": {
                "title": proposal.title,
                "description": proposal.description,
                "policies": list(proposal.policies),
            },
            "author": proposal.author,
            "is_draft": proposal.is_draft,
            "problems": list(proposal.problems),
        }
    )


def interview_frames_after(
    *, interview_id: int, after_seq: int
) -> list[MessageFrame | CardProposedFrame]:
    """The message frames after `after_seq`, each followed by the card it proposed."""
    messages = list(
        Message.objects.filter(
            interview_id=interview_id, seq__gt=after_seq, role__in=("user", "assistant")
        ).order_by("seq")
    )
    proposals: dict[int, list[CardProposal]] = {}
    for proposal in CardProposal.objects.filter(
        interview_id=interview_id, message__in=messages
    ).order_by("id"):
        proposals.setdefault(proposal.message_id or 0, []).append(proposal)
    frames: list[MessageFrame | CardProposedFrame] = []
    for message in messages:
        frames.append(message_as_frame(message))
        frames += [proposal_as_frame(p) for p in proposals.get(message.pk, [])]
    return frames


@dataclass(frozen=True)
class InterviewHistory:
    """What the interviewer needs for its next answer, read fresh before each answer."""

    messages: list[dict[str, Any]]  # the conversation in the OpenAI wire shape
    user_texts: list[str]
    current_card: dict[str, Any] | None
    turn_count: int
    token_count: int
    max_turns: int
    max_tokens: int

    @property
    def is_last_turn(self) -> bool:
        return self.turn_count >= self.max_turns


def interview_history(*, interview_id: int) -> InterviewHistory:
    interview = Interview.objects.select_related("question", "participant__study").get(
        pk=interview_id
    )
    study = interview.participant.study
    wire: list[dict[str, Any]] = []
    if interview.question.seed_message:
        wire.append({"role": "assistant", "content": interview.question.seed_message})
    user_texts: list[str] = []
    for message in interview.messages.filter(role__in=("user", "assistant")).order_by("seq"):
        if message.role == Message.Role.USER:
            user_texts.append(message.text)
            wire.append({"role": "user", "content": message.text})
            continue
        calls = [c for c in message.tool_calls if isinstance(c, dict) and c.get("id")]
        if not message.text and not calls:
            continue
        entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
        if calls:
            entry["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in calls
            ]
        wire.append(entry)
        wire += [
            {"role": "tool", "tool_call_id": c["id"], "content": CARD_SHOWN_RESULT} for c in calls
        ]
    latest = interview.proposals.order_by("-id").first()
    return InterviewHistory(
        messages=wire,
        user_texts=user_texts,
        current_card=(
            None
            if latest is None
            else {
                "title": latest.title,
                "description": latest.description,
                "policies": list(latest.policies),
            }
        ),
        turn_count=interview.turn_count,
        token_count=interview.token_count,
        max_turns=study.max_turns,
        max_tokens=study.max_tokens,
    )


def interview_message_frame(*, interview_id: int, client_id: uuid.UUID) -> MessageFrame | None:
    """The participant's message sent with this client id, if it was stored."""
    message = Message.objects.filter(interview_id=interview_id, client_id=client_id).first()
    return message_as_frame(message) if message is not None else None


def interview_awaits_answer(*, interview_id: int) -> bool:
    """Whether the participant's last message has no answer yet (the model failed, or the
    connection dropped before one was stored)."""
    last = (
        Message.objects.filter(interview_id=interview_id, role__in=("user", "assistant"))
        .order_by("-seq")
        .values_list("role", flat=True)
        .first()
    )
    return last == Message.Role.USER


def interview_next_seq(*, interview_id: int) -> int:
    """The seq the interview's next message gets."""
    last = (
        Message.objects.filter(interview_id=interview_id)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return (last or 0) + 1


def interview_excerpts(*, study_id: int, question_id: int) -> list[str]:
    """What each participant said in their interview about this question, one excerpt per
    interview (their messages joined), oldest interview first. Participants' words only."""
    rows = (
        Message.objects.filter(
            interview__question_id=question_id,
            interview__participant__study_id=study_id,
            role=Message.Role.USER,
        )
        .order_by("interview_id", "seq")
        .values_list("interview_id", "text")
    )
    by_interview: dict[int, list[str]] = {}
    for interview_id, text in rows:
        by_interview.setdefault(interview_id, []).append(text)
    return [" ".join(texts) for texts in by_interview.values()]


def interview_is_answering(*, interview_id: int) -> bool:
    """Whether an answer is being written for this interview (maybe in another process)."""
    since = timezone.now() - ANSWER_STALE_AFTER
    return Interview.objects.filter(pk=interview_id, answer_started_at__gte=since).exists()
