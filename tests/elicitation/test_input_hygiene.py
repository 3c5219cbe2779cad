"""Input hygiene wherever a participant types: NUL and other control characters are refused
with a message (never a 500, never a dropped socket), and ids are ASCII digits only."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx2
import pytest
from django.test import Client
from websockets.sync.client import connect

from elicitation.hygiene import parse_id
from elicitation.models import InviteCode, Message, Participant, Study, SurveyResponse
from elicitation.schemas import SURVEY_ITEMS
from elicitation.services import demo_study_seed
from tests.factories import make_question, make_study
from tests.support.journey import cookie_header, enter_study

CARD = {
    "title": "Honest care for a friend",
    "description": "Helping a friend without deceiving anyone on her behalf.",
    "policies": [
        "WORRIES my friend has not said out loud",
        "WAYS to refuse the lie while staying on her side",
        "PEOPLE who would be hurt by the deception",
    ],
}


def _enter(client: Client, study: Study, **form: str) -> Any:
    return client.post(f"/s/{study.slug}/", {"consent": "yes", **form})


def _participant(client: Client) -> Participant:
    return Participant.objects.get(pk=client.session["participant_ids"][-1])


def test_parse_id_takes_ascii_digits_only() -> None:
    assert parse_id("42") == 42
    assert parse_id(" 7") is None
    for raw in ("", "²", "٣", "-1", "1.0", "1e3", "0x1", "12a", "1\x00", None, "9" * 30):
        assert parse_id(raw) is None, raw


@pytest.mark.django_db
def test_nul_in_the_invite_code_is_a_form_error() -> None:
    study = make_study(participation_mode=Study.ParticipationMode.INVITE_CODES)
    InviteCode.objects.create(study=study, code="ABC123")
    client = Client()
    refused = _enter(client, study, invite_code="ABC\x00123")
    assert refused.status_code == 400
    assert "control character" in refused.content.decode()
    assert not Participant.objects.filter(study=study).exists()
    assert _enter(client, study, invite_code="ABC123").status_code == 302


@pytest.mark.django_db
def test_nul_in_a_demographic_answer_is_a_form_error() -> None:
    study = make_study(
        demographic_questions=[{"key": "country", "label": "Country", "kind": "text"}]
    )
    make_question(study)
    client = Client()
    _enter(client, study)
    refused = client.post(f"/s/{study.slug}/about-you/", {"country": "Nor\x00way"})
    assert refused.status_code == 400
    assert "control character" in refused.content.decode()
    ok = client.post(f"/s/{study.slug}/about-you/", {"country": "Norway"})
    assert ok["Location"] == f"/s/{study.slug}/questions/"
    assert _participant(client).demographics == {"country": "Norway"}


@pytest.mark.django_db
def test_nul_in_the_survey_comment_is_a_form_error() -> None:
    study = make_study()
    client = Client()
    _enter(client, study)
    participant = _participant(client)
    Participant.objects.filter(pk=participant.pk).update(stage=Participant.Stage.SURVEY)
    answers = {item.key: "3" for item in SURVEY_ITEMS}
    refused = client.post(f"/s/{study.slug}/survey/", {**answers, "comment": "fine\x00"})
    assert refused.status_code == 400
    assert "control character" in refused.content.decode()
    assert not SurveyResponse.objects.filter(participant=participant).exists()
    # Tabs and new lines are ordinary text.
    ok = client.post(f"/s/{study.slug}/survey/", {**answers, "comment": "fine\n\tthanks"})
    assert ok.status_code == 302


@pytest.mark.django_db
def test_unicode_digits_in_ids_never_give_a_500() -> None:
    from elicitation import services

    study = demo_study_seed()
    client = Client()
    question = study.questions.first()
    assert question is not None
    _enter(client, study)
    response = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})
    interview_id = int(response["Location"].strip("/").split("/")[-1])
    _, proposal = services.interview_answer_store(
        interview_id=interview_id, text="A card.", card=CARD
    )
    assert proposal is not None
    services.values_card_submit(interview_id=interview_id, proposal_id=proposal.proposal_id)

    client.get(f"/s/{study.slug}/wise-values/")
    picks = client.post(f"/s/{study.slug}/wise-values/", {"value": ["²", "٣"]})
    assert picks.status_code == 400  # nothing picked: the form again, with its message
    participant = _participant(client)
    participant.refresh_from_db()
    chosen = [str(v) for v in (participant.wise_value_ids or [])[:2]]
    assert client.post(f"/s/{study.slug}/wise-values/", {"value": chosen}).status_code == 302

    client.get(f"/s/{study.slug}/stories/")
    story = client.post(
        f"/s/{study.slug}/stories/", {"hypothesis": "²", "choice": "upgrade", "reason": "x"}
    )
    assert story.status_code == 400
    assert "That story was not shown to you." in story.content.decode()

    Participant.objects.filter(pk=participant.pk).update(stage=Participant.Stage.SURVEY)
    answers = {item.key: "²" for item in SURVEY_ITEMS}
    survey = client.post(f"/s/{study.slug}/survey/", answers)
    assert survey.status_code == 400
    assert "Please answer every statement" in survey.content.decode()


@pytest.mark.django_db(transaction=True)
def test_nul_in_a_chat_message_is_refused_and_the_socket_stays_usable(asgi_server: str) -> None:
    demo_study_seed()
    client = httpx2.Client(base_url=asgi_server)
    interview_id = enter_study(client, "demo")
    with connect(
        f"{asgi_server.replace('http', 'ws')}/ws/interviews/{interview_id}/",
        additional_headers={"Cookie": cookie_header(client), "Origin": asgi_server},
    ) as ws:
        for bad in ("hello\x00there", "bell\x07", "escape\x1b[31m"):
            ws.send(
                json.dumps({"type": "user_message", "client_id": str(uuid.uuid4()), "text": bad})
            )
            error = json.loads(ws.recv(timeout=10))
            assert error["type"] == "error"
            assert error["code"] == "invalid_frame"
            assert "control character" in error["message"]
        text = "A story:\n\tmy friend asked me to lie."
        ws.send(json.dumps({"type": "user_message", "client_id": str(uuid.uuid4()), "text": text}))
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1] != {"type": "status", "state": "idle"}:
            frames.append(json.loads(ws.recv(timeout=20)))
        assert frames[0]["text"] == text
        assert [f["role"] for f in frames if f["type"] == "message"] == ["user", "assistant"]
    assert Message.objects.filter(interview_id=interview_id).count() == 2
