"""Checkpoints of the interviewer's answer while it streams, and what becomes of one whose
server process died: the answer's text so far is written every heartbeat (with the claim),
and an answer whose claim went stale is ended with that text, as a stopped answer.

The checkpoint is a message of its own at seq 0 (role "system"): no replay, history or seq
reads it, and the stored answer replaces it in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from elicitation.models import Interview, Message
from elicitation.schemas import MessageFrame
from elicitation.selectors import ANSWER_STALE_AFTER, interview_next_seq, message_as_frame

ANSWER_CHECKPOINT_SEQ = 0


@transaction.atomic
def interview_answer_checkpoint(*, interview_id: int, seq: int, text: str) -> None:
    """The heartbeat of the answer that will have `seq`: its claim renewed and its text so
    far kept. Nothing happens once the answer is stored or its claim released."""
    interview = (
        Interview.objects.select_for_update()
        .filter(pk=interview_id, answer_started_at__isnull=False)
        .first()
    )
    if interview is None or interview_next_seq(interview_id=interview_id) != seq:
        return
    Interview.objects.filter(pk=interview_id).update(answer_started_at=timezone.now())
    text = text.replace("\x00", "")
    if text:
        Message.objects.update_or_create(
            interview=interview,
            seq=ANSWER_CHECKPOINT_SEQ,
            defaults={"role": Message.Role.SYSTEM, "text": text, "is_stopped": True},
        )


def interview_answer_checkpoint_discard(*, interview: Interview) -> None:
    """The answer is stored: its checkpoint goes (inside the storing transaction)."""
    interview.messages.filter(seq=ANSWER_CHECKPOINT_SEQ).delete()


@dataclass(frozen=True)
class AnswerRecovery:
    """An interrupted answer, ended: its text so far as a stopped message, if any came."""

    message: MessageFrame | None


@transaction.atomic
def interview_answer_recover(*, interview_id: int) -> AnswerRecovery | None:
    """End the answer whose server process went away (its claim not renewed for
    ANSWER_STALE_AFTER): its checkpoint becomes a stopped answer and the claim is freed.
    None when there is nothing to recover: no answer, or one still alive."""
    interview = Interview.objects.select_for_update().get(pk=interview_id)
    started = interview.answer_started_at
    if started is not None and started >= timezone.now() - ANSWER_STALE_AFTER:
        return None
    checkpoint = interview.messages.filter(seq=ANSWER_CHECKPOINT_SEQ).first()
    if checkpoint is None and started is None:
        return None
    frame = None
    if checkpoint is not None:
        message = Message.objects.create(
            interview=interview,
            seq=interview_next_seq(interview_id=interview_id),
            role=Message.Role.ASSISTANT,
            text=checkpoint.text,
            is_stopped=True,
        )
        checkpoint.delete()
        frame = message_as_frame(message)
    Interview.objects.filter(pk=interview_id).update(answer_started_at=None)
    return AnswerRecovery(message=frame)
