"""Reads for the participant journey. They return plain data, safe to hand to async code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elicitation.models import Interview, Message, Participant, Question, Study


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


def message_as_frame(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "stopped": message.is_stopped,
    }


def study_open_get(*, slug: str) -> Study | None:
    return Study.objects.filter(slug=slug, status=Study.Status.OPEN).first()


def study_public_list() -> list[Study]:
    return list(Study.objects.filter(status=Study.Status.OPEN, visibility=Study.Visibility.PUBLIC))


def study_questions(*, study: Study) -> list[Question]:
    return list(study.questions.order_by("order", "id"))


def participant_get(*, participant_id: int | None, study: Study) -> Participant | None:
    if participant_id is None:
        return None
    return Participant.objects.filter(pk=participant_id, study=study).first()


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


def interview_frames_after(*, interview_id: int, after_seq: int) -> list[dict[str, Any]]:
    messages = Message.objects.filter(interview_id=interview_id, seq__gt=after_seq).order_by("seq")
    return [message_as_frame(m) for m in messages if m.role in ("user", "assistant")]


def interview_transcript(*, interview_id: int) -> list[dict[str, str]]:
    """The conversation as chat messages for the interviewer."""
    messages = Message.objects.filter(
        interview_id=interview_id, role__in=("user", "assistant")
    ).order_by("seq")
    return [{"role": m.role, "content": m.text} for m in messages if m.text]


def interview_next_seq(*, interview_id: int) -> int:
    last = (
        Message.objects.filter(interview_id=interview_id)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return (last or 0) + 1
