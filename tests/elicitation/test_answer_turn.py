"""The answer turn on its own: the typed events the socket turns into frames, against the
real database and the offline interviewer."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.interview import turn
from elicitation.interview.offline import offline_turn
from elicitation.models import CardProposal, Message
from tests.factories import make_interview

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]

STORY = "When my best friend asked me to cover for her, I said yes and regretted it for weeks."
ANSWERS = (STORY, "Whether she was scared.", "The friendship over years.", "If no one is hurt.")
# The offline interviewer's answers: the next question, and the draft after the last step.
ASK_ATTENTION = offline_turn(user_texts=[STORY]).text
PROPOSE = offline_turn(user_texts=ANSWERS).text


def _interview_saying(*texts: str) -> selectors.InterviewInfo:
    interview = make_interview()
    for text in texts:
        services.interview_message_add_user(
            interview_id=interview.pk, client_id=uuid.uuid4(), text=text
        )
    info = selectors.interview_for_participant(
        interview_id=interview.pk, participant_ids=[interview.participant_id]
    )
    assert info is not None
    return info


def _run(info: selectors.InterviewInfo, *, stop_at_first_text: bool = False) -> list[object]:
    async def run() -> list[object]:
        events: list[object] = []
        answer = turn.answer_turn(info)
        async for event in answer:
            events.append(event)
            if stop_at_first_text and isinstance(event, turn.Streamed):
                # What the socket does when "stop" lands while a frame is going out.
                events += [await answer.athrow(asyncio.CancelledError())]
                events += [rest async for rest in answer]
                break
        return events

    return asyncio.run(run())


def test_an_answer_streams_then_is_stored() -> None:
    info = _interview_saying(STORY)
    events = _run(info)
    assert isinstance(events[0], turn.Thinking)
    assert isinstance(events[-1], turn.Ended)
    streamed = "".join(e.text for e in events if isinstance(e, turn.Streamed))
    stored = [e for e in events if isinstance(e, turn.AnswerStored)]
    assert streamed == ASK_ATTENTION
    assert len(stored) == 1
    assert stored[0].message.seq == 2
    assert stored[0].message.text == ASK_ATTENTION
    assert not stored[0].message.stopped
    assert not [e for e in events if isinstance(e, turn.Failed | turn.CardStored)]
    message = Message.objects.get(interview_id=info.id, seq=2)
    assert message.role == Message.Role.ASSISTANT
    assert message.text == ASK_ATTENTION


def test_a_stop_keeps_what_came_and_proposes_nothing() -> None:
    info = _interview_saying(*ANSWERS)
    events = _run(info, stop_at_first_text=True)
    first = next(e for e in events if isinstance(e, turn.Streamed))
    stored = next(e for e in events if isinstance(e, turn.AnswerStored))
    assert PROPOSE.startswith(first.text)
    assert first.text != PROPOSE
    assert stored.message.text == first.text
    assert stored.message.stopped
    assert isinstance(events[-1], turn.Ended)
    assert not [e for e in events if isinstance(e, turn.CardStored)]
    assert not CardProposal.objects.filter(interview_id=info.id).exists()
    assert Message.objects.get(interview_id=info.id, seq=5).is_stopped


def test_a_drafted_card_is_stored_finished_and_confirmed() -> None:
    info = _interview_saying(*ANSWERS)
    events = _run(info)
    proposal = next(e for e in events if isinstance(e, turn.CardStored)).proposal
    assert proposal.is_draft
    assert CardProposal.objects.get(interview_id=info.id).pk == proposal.proposal_id
    with pytest.raises(ApplicationError):  # a draft is finished in the editor first
        asyncio.run(turn.card_confirm(interview_id=info.id, proposal_id=proposal.proposal_id))
    finished = {**proposal.card.model_dump(), "title": "Honest with my friend"}
    saved = asyncio.run(
        turn.card_edit(interview_id=info.id, proposal_id=proposal.proposal_id, card=finished)
    )
    submitted = asyncio.run(turn.card_confirm(interview_id=info.id, proposal_id=saved.proposal_id))
    assert submitted.card_id > 0
    assert submitted.next.endswith("/wise-values/")
