"""The card editor's services and its frames: every version of a card kept, only the latest
one editable and confirmable, a draft confirmable only once the participant has saved it, an
edit refused with reasons when it breaks the rules; over a real socket with the offline
interviewer's draft."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2
import pytest

from elicitation import services
from elicitation.errors import ApplicationError
from elicitation.models import CardProposal, Interview, ValuesCard
from elicitation.services import demo_study_seed
from tests.factories import make_interview
from tests.support.chat import Chat
from tests.support.journey import enter_study

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_CARD = {
    "title": "Honest care for a friend",
    "description": "Helping a friend without deceiving anyone on her behalf.",
    "policies": [
        "WORRIES my friend has not said out loud",
        "WAYS to refuse the lie while staying on her side",
        "PEOPLE who would be hurt by the deception",
    ],
}
EDIT = {
    "title": "Standing by her, honestly",
    "description": "I will not lie, and I will not leave her alone with it.",
    "policies": [
        "Whether she is scared of losing him",
        "Who else would be hurt by the lie",
        "How much she trusts me",
    ],
}


def _proposed(interview: Interview) -> int:
    services.interview_message_add_user(
        interview_id=interview.pk, client_id=uuid.uuid4(), text="My story."
    )
    _, frame = services.interview_answer_store(
        interview_id=interview.pk, text="Here is a card.", card=GOOD_CARD
    )
    assert frame is not None
    return frame.proposal_id


def test_an_edit_is_a_new_version_and_the_old_one_is_kept() -> None:
    interview = make_interview()
    first = _proposed(interview)
    edited = services.card_proposal_revise(interview_id=interview.pk, proposal_id=first, card=EDIT)
    assert edited.pk != first
    assert edited.author == CardProposal.Author.PARTICIPANT
    assert edited.revises_id == first
    assert (edited.title, edited.description, edited.policies) == (
        EDIT["title"],
        EDIT["description"],
        EDIT["policies"],
    )
    original = CardProposal.objects.get(pk=first)
    assert original.title == GOOD_CARD["title"]
    again = services.card_proposal_revise(
        interview_id=interview.pk,
        proposal_id=edited.pk,
        card={**EDIT, "title": "Standing by her honestly"},
    )
    assert CardProposal.objects.filter(interview=interview).count() == 3
    assert again.revises_id == edited.pk


def test_saving_an_unchanged_card_keeps_no_copy() -> None:
    interview = make_interview()
    first = _proposed(interview)
    same = services.card_proposal_revise(
        interview_id=interview.pk,
        proposal_id=first,
        card={**GOOD_CARD, "title": "  Honest care for a  friend "},
    )
    assert same.pk == first
    assert CardProposal.objects.filter(interview=interview).count() == 1


def test_a_superseded_card_can_be_neither_edited_nor_confirmed() -> None:
    interview = make_interview()
    first = _proposed(interview)
    edited = services.card_proposal_revise(interview_id=interview.pk, proposal_id=first, card=EDIT)
    with pytest.raises(ApplicationError) as refused:
        services.values_card_confirm(interview_id=interview.pk, proposal_id=first)
    assert refused.value.code == "superseded"
    with pytest.raises(ApplicationError) as refused:
        services.card_proposal_revise(interview_id=interview.pk, proposal_id=first, card=EDIT)
    assert refused.value.code == "superseded"
    card = services.values_card_confirm(interview_id=interview.pk, proposal_id=edited.pk)
    assert card.title == EDIT["title"]
    assert card.policies == EDIT["policies"]
    assert card.proposal_id == edited.pk


def test_an_invalid_edit_is_refused_with_every_reason() -> None:
    interview = make_interview()
    first = _proposed(interview)
    with pytest.raises(ApplicationError) as refused:
        services.card_proposal_revise(
            interview_id=interview.pk,
            proposal_id=first,
            card={"title": "Honesty", "description": "x", "policies": ["one", "two"]},
        )
    assert refused.value.code == "card_invalid"
    assert "The title needs 3 to 6 words; it has 1." in refused.value.message
    assert "A card needs at least 3 lines; it has 2." in refused.value.message
    assert CardProposal.objects.filter(interview=interview).count() == 1


def test_a_draft_is_confirmed_only_after_the_participant_saves_it() -> None:
    interview = make_interview()
    services.interview_message_add_user(
        interview_id=interview.pk, client_id=uuid.uuid4(), text="My story."
    )
    draft_card = {**EDIT, "title": ""}
    _, frame = services.interview_answer_store_with_draft(
        interview_id=interview.pk, text="A draft.", draft=draft_card
    )
    assert frame.is_draft
    assert frame.problems == ["Write a title of 3 to 6 words."]
    with pytest.raises(ApplicationError) as refused:
        services.values_card_confirm(interview_id=interview.pk, proposal_id=frame.proposal_id)
    assert refused.value.code == "card_draft"
    assert not ValuesCard.objects.exists()
    saved = services.card_proposal_revise(
        interview_id=interview.pk, proposal_id=frame.proposal_id, card=EDIT
    )
    assert not saved.is_draft
    services.values_card_confirm(interview_id=interview.pk, proposal_id=saved.pk)
    assert Interview.objects.get(pk=interview.pk).status == Interview.Status.SUBMITTED


GUIDED = [
    "When my best friend asked me to cover for her, I said yes and regretted it for weeks.",
    "I noticed that she was scared of losing him. I paid attention to whether the lie would "
    "hurt anyone else, and how much she trusted me.",
    "Because trust is what the friendship stands on.",
    "If nobody could be hurt, it would matter less.",
]


def _of(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == kind]


def test_the_offline_draft_is_finished_and_confirmed_over_the_socket(asgi_server: str) -> None:
    demo_study_seed()
    client = httpx2.Client(base_url=asgi_server)
    chat = Chat(asgi_server, client, enter_study(client, "demo"))
    with chat.ws:
        for number, text in enumerate(GUIDED, start=1):
            chat.say(text)
            frames = chat.until_idle()
            assert _of(frames, "error") == []
            if number < len(GUIDED):
                assert _of(frames, "card_proposed") == []
        (draft,) = _of(frames, "card_proposed")
        assert draft["is_draft"] is True
        assert draft["card"]["title"] == ""
        assert draft["card"]["policies"][0] == "I noticed that she was scared of losing him."

        def send(frame: dict[str, Any]) -> dict[str, Any]:
            chat.ws.send(json.dumps(frame))
            return chat.until(lambda f: f["type"] in ("card_proposed", "error", "card_submitted"))[
                -1
            ]

        confirm_draft = send({"type": "confirm_card", "proposal_id": draft["proposal_id"]})
        assert confirm_draft["code"] == "card_draft"
        bad = send(
            {"type": "edit_card", "proposal_id": draft["proposal_id"], "card": draft["card"]}
        )
        assert bad == {
            "type": "error",
            "code": "card_invalid",
            "message": "Write a title of 3 to 6 words.",
        }
        nul = send(
            {
                "type": "edit_card",
                "proposal_id": draft["proposal_id"],
                "card": {**draft["card"], "title": "A title\u0000 here"},
            }
        )
        assert nul["code"] == "invalid_frame"
        finished = {**draft["card"], "title": "Loyal and honest with her"}
        saved = send({"type": "edit_card", "proposal_id": draft["proposal_id"], "card": finished})
        assert saved["type"] == "card_proposed"
        assert saved["author"] == "participant"
        assert saved["is_draft"] is False
        assert saved["card"] == finished
        old = send({"type": "confirm_card", "proposal_id": draft["proposal_id"]})
        assert old["code"] == "superseded"
        done = send({"type": "confirm_card", "proposal_id": saved["proposal_id"]})
        assert done["type"] == "card_submitted"
    card = ValuesCard.objects.get(interview_id=chat.interview_id)
    assert card.title == "Loyal and honest with her"
    assert card.policies == finished["policies"]
    assert all(any(p in text for text in GUIDED) for p in card.policies)
    versions = CardProposal.objects.filter(interview_id=chat.interview_id).order_by("id")
    assert [(v.author, v.is_draft) for v in versions] == [
        ("interviewer", True),
        ("participant", False),
    ]


def test_a_reload_replays_every_version_in_order(asgi_server: str) -> None:
    demo_study_seed()
    client = httpx2.Client(base_url=asgi_server)
    chat = Chat(asgi_server, client, enter_study(client, "demo"))
    with chat.ws:
        for text in GUIDED:
            chat.say(text)
            frames = chat.until_idle()
        (draft,) = _of(frames, "card_proposed")
        chat.ws.send(
            json.dumps(
                {
                    "type": "edit_card",
                    "proposal_id": draft["proposal_id"],
                    "card": {**draft["card"], "title": "Loyal and honest with her"},
                }
            )
        )
        chat.until(lambda f: f["type"] == "card_proposed")
    chat.ws = chat.open()
    with chat.ws:
        chat.ws.send(json.dumps({"type": "resume", "after_seq": 0}))
        replay = chat.until_idle()
    versions = _of(replay, "card_proposed")
    assert [(v["author"], v["is_draft"]) for v in versions] == [
        ("interviewer", True),
        ("participant", False),
    ]
    assert replay.index(versions[0]) < replay.index(versions[1])
