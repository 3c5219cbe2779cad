"""An answer ends with a final event whatever breaks, and its checkpoint: kept while it
streams, replaced by the stored answer, or turned into a stopped answer once its claim is
stale (its server process died). In process, against the real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

import pytest
from django.db import DataError
from django.utils import timezone

from elicitation import selectors, services
from elicitation.interview import interviewer, turn
from elicitation.models import Interview, Message
from elicitation.schemas import MessageFrame
from tests.factories import make_interview

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]


def _interview_saying(text: str) -> selectors.InterviewInfo:
    interview = make_interview()
    services.interview_message_add_user(
        interview_id=interview.pk, client_id=uuid.uuid4(), text=text
    )
    info = selectors.interview_for_participant(
        interview_id=interview.pk, participant_ids=[interview.participant_id]
    )
    assert info is not None
    return info


def _run(info: selectors.InterviewInfo) -> list[object]:
    async def run() -> list[object]:
        return [event async for event in turn.answer_turn(info)]

    return asyncio.run(run())


def test_a_bug_mid_answer_ends_it_with_try_again_and_keeps_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_: Any) -> AsyncGenerator[interviewer.Event]:
        yield interviewer.Token("Half an ")
        yield interviewer.Token("answer")
        raise RuntimeError("a bug")

    monkeypatch.setattr(interviewer, "reply", broken)
    info = _interview_saying("Hello")
    events = _run(info)
    assert isinstance(events[-1], turn.Ended)
    failed = [e for e in events if isinstance(e, turn.Failed)]
    assert [f.code for f in failed] == ["answer_failed"]
    assert "Try again" in failed[0].message
    stored = Message.objects.get(interview_id=info.id, role="assistant")
    assert (stored.text, stored.is_stopped) == ("Half an answer", True)


def test_an_answer_that_cannot_be_stored_still_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_: Any) -> None:
        raise DataError("PostgreSQL says no")

    monkeypatch.setattr(services, "interview_answer_store", refuse)
    events = _run(_interview_saying("Hello"))
    assert isinstance(events[-1], turn.Ended)
    assert [e.code for e in events if isinstance(e, turn.Failed)] == ["answer_failed"]


def test_a_checkpoint_is_kept_then_replaced_by_the_stored_answer() -> None:
    info = _interview_saying("Hello")
    assert services.interview_answer_claim(interview_id=info.id)
    services.interview_answer_checkpoint(interview_id=info.id, seq=2, text="So far\x00 so")
    checkpoint = Message.objects.get(interview_id=info.id, seq=0)
    assert (checkpoint.role, checkpoint.text) == ("system", "So far so")
    # Replay and history never see it.
    replay = selectors.interview_frames_after(interview_id=info.id, after_seq=0)
    assert [(f.type, f.text) for f in replay if isinstance(f, MessageFrame)] == [
        ("message", "Hello")
    ]
    assert len(replay) == 1
    assert selectors.interview_history(interview_id=info.id).messages == [
        {"role": "user", "content": "Hello"}
    ]
    assert selectors.interview_next_seq(interview_id=info.id) == 2
    services.interview_answer_store(interview_id=info.id, text="So far so good.")
    assert not Message.objects.filter(interview_id=info.id, seq=0).exists()
    # A late heartbeat of the stored answer writes nothing back.
    services.interview_answer_checkpoint(interview_id=info.id, seq=2, text="So far so")
    assert not Message.objects.filter(interview_id=info.id, seq=0).exists()


def test_an_answer_whose_claim_went_stale_ends_with_its_checkpoint() -> None:
    info = _interview_saying("Hello")
    assert services.interview_answer_claim(interview_id=info.id)
    services.interview_answer_checkpoint(interview_id=info.id, seq=2, text="Cut off mid")
    # Alive: nothing to recover.
    assert services.interview_answer_recover(interview_id=info.id) is None
    stale = timezone.now() - selectors.ANSWER_STALE_AFTER - timedelta(seconds=1)
    Interview.objects.filter(pk=info.id).update(answer_started_at=stale)
    recovery = services.interview_answer_recover(interview_id=info.id)
    assert recovery is not None
    assert recovery.message is not None
    assert (recovery.message.seq, recovery.message.text) == (2, "Cut off mid")
    assert recovery.message.stopped
    assert not Interview.objects.get(pk=info.id).answer_started_at
    assert services.interview_answer_recover(interview_id=info.id) is None
    assert not selectors.interview_awaits_answer(interview_id=info.id)


def test_a_stale_claim_without_text_is_freed_and_the_message_awaits_its_answer() -> None:
    info = _interview_saying("Hello")
    stale = timezone.now() - selectors.ANSWER_STALE_AFTER - timedelta(seconds=1)
    Interview.objects.filter(pk=info.id).update(answer_started_at=stale)
    recovery = services.interview_answer_recover(interview_id=info.id)
    assert recovery is not None
    assert recovery.message is None
    assert selectors.interview_awaits_answer(interview_id=info.id)
    assert services.interview_answer_claim(interview_id=info.id)
