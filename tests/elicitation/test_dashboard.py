"""The staff dashboard: its figures on a crafted study, the page, and the socket that pushes the
figures again after every committed change (channels' WebsocketCommunicator against the real
Redis channel layer)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.test import Client, override_settings
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from elicitation import selectors, services
from elicitation.models import Interview, Message, Participant, Study, ValuesCard
from elicitation.routing import websocket_urlpatterns
from elicitation.selectors import FlaggedParticipant
from elicitation.services.dashboard import SEND_TIMEOUT_S
from tests.factories import (
    make_admin,
    make_participant,
    make_question,
    make_researcher,
    make_study,
    make_user,
)
from tests.support.journey import cookie_header, csrf_token


def _interview(participant: Participant, question: Any, *, model: bool) -> Interview:
    # With a model server configured, a study on the OpenAI backend interviews with the model.
    with override_settings(LLM_BASE_URL="http://127.0.0.1:9/v1" if model else ""):
        return services.interview_start(participant=participant, question=question)


def _talk(interview: Interview, answers: list[int]) -> None:
    """The participant says something; the interviewer answers once per entry, with that many
    tokens."""
    for tokens in answers:
        services.interview_message_add_user(
            interview_id=interview.pk, client_id=uuid.uuid4(), text="I think so."
        )
        services.interview_answer_store(interview_id=interview.pk, text="Why?", tokens=tokens)


def _card(participant: Participant, screening: str) -> None:
    ValuesCard.objects.create(
        participant=participant,
        title="Care",
        description="Attending to what matters.",
        submitted_at=timezone.now(),
        screening=screening,
    )


def _figures_by_stage(figures: dict[str, Any]) -> dict[str, int]:
    return {step["stage"]: step["count"] for step in figures["funnel"]}


@pytest.mark.django_db
def test_figures_of_a_crafted_study(monkeypatch: pytest.MonkeyPatch) -> None:
    study = make_study(interviewer_backend=Study.InterviewerBackend.OPENAI)
    question = make_question(study)
    talking, quiet, stale = (make_participant(study) for _ in range(3))
    # Talking: a model interview with two answers (1,200 and 300 tokens), a card held.
    _talk(_interview(talking, question, model=True), [1200, 300])
    _card(talking, ValuesCard.Screening.HELD)
    # Quiet: an offline interview whose answer is being written now; a card being screened.
    offline = _interview(quiet, question, model=False)
    _talk(offline, [40])  # the offline interviewer spends no model tokens: not counted
    assert services.interview_answer_claim(interview_id=offline.pk)
    _card(quiet, ValuesCard.Screening.PENDING)
    # Stale: a model interview silent for an hour; quarantined.
    old = _interview(stale, question, model=True)
    _talk(old, [0])
    Message.objects.filter(interview=old).update(created_at=timezone.now() - timedelta(hours=1))
    Participant.objects.filter(pk=stale.pk).update(quarantined_at=timezone.now())
    # A preview walk with everything, counted nowhere.
    preview = services.participant_preview_start(study_id=study.pk, user_id=make_admin().pk)
    _talk(_interview(preview, question, model=True), [5000])
    _card(preview, ValuesCard.Screening.HELD)
    Participant.objects.filter(pk=preview.pk).update(quarantined_at=timezone.now())
    # Another study's participant is not this study's.
    other = make_study()
    _talk(_interview(make_participant(other), make_question(other), model=True), [70])
    # The flags (elicitation.selectors.integrity) name the talking participant, the
    # quarantined one and the preview; only the first is waiting for staff.
    flags = [
        FlaggedParticipant(p.pk, p.public_id, ("speed",), quarantined=p.pk == stale.pk)
        for p in (talking, stale, preview)
    ]
    monkeypatch.setattr(
        "elicitation.selectors.dashboard.flagged_participants", lambda *, study_id: flags
    )

    figures = selectors.study_dashboard(study_id=study.pk)

    assert _figures_by_stage(figures) == {
        "entered": 3,
        "consented": 3,
        "card_confirmed": 2,
        "picks": 0,
        "votes": 0,
        "survey": 0,
        "finished": 0,
        "withdrawn": 0,
    }
    assert [step["label"] for step in figures["funnel"]][:2] == ["Entered", "Consented"]
    assert [step["percent"] for step in figures["funnel"]][:3] == [100, 100, 67]
    assert figures["interviews_in_progress"] == 2  # talking and quiet, not stale
    assert figures["answers_streaming"] == 1
    assert figures["model_calls"] == 3  # two answers to talking, one to stale; not offline
    assert figures["tokens"] == 1500
    assert figures["estimated_cost"] is None  # MGE_MODEL_COST_PER_1K_TOKENS unset
    assert figures["cards_held"] == 1
    assert figures["cards_pending"] == 1
    assert figures["participants_flagged"] == 1
    assert figures["participants_quarantined"] == 1

    with override_settings(MGE_MODEL_COST_PER_1K_TOKENS=0.01):
        assert selectors.study_dashboard(study_id=study.pk)["estimated_cost"] == "0.02"


@pytest.mark.django_db
def test_the_page_shows_the_figures_to_the_study_researcher() -> None:
    study = make_study()
    make_participant(study)
    client = Client()
    client.force_login(make_researcher(study))
    page = client.get(f"/staff/{study.slug}/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<strong data-funnel="entered">1</strong>' in html
    assert 'data-socket-path="/ws/staff/' + study.slug + '/dashboard/"' in html
    assert "MGE_MODEL_COST_PER_1K_TOKENS" in html
    assert 'aria-live="polite"' in html


# --- the socket ------------------------------------------------------------------------------


def _communicator(slug: str, user: Any) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/staff/{slug}/dashboard/"
    )
    communicator.scope["user"] = user
    return communicator


def _entered(frame: dict[str, Any]) -> int:
    assert frame["type"] == "figures"
    return _figures_by_stage(frame["figures"])["entered"]


def test_the_suite_uses_the_redis_channel_layer() -> None:
    backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    assert backend.endswith("RedisChannelLayer")


@pytest.mark.parametrize("who", ["anonymous", "participant", "other_researcher", "staff"])
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
def test_the_socket_refuses_anyone_but_the_study_staff(who: str) -> None:
    study = make_study()
    user = {
        "anonymous": lambda: AnonymousUser(),
        "participant": lambda: make_user(),
        "other_researcher": lambda: make_researcher(make_study()),
        "staff": lambda: make_user(is_staff=True),  # staff, but a member of no study
    }[who]()

    async def scenario() -> tuple[bool, Any]:
        communicator = _communicator(study.slug, user)
        connected, code = await communicator.connect()
        await communicator.wait()
        return connected, code

    assert asyncio.run(scenario()) == (False, 4403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
def test_the_socket_refuses_an_unknown_study() -> None:
    admin = make_admin()

    async def scenario() -> tuple[bool, Any]:
        return await _communicator("no-such-study", admin).connect()

    assert asyncio.run(scenario()) == (False, 4403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
def test_figures_on_connect_and_after_a_committed_change() -> None:
    study = make_study()
    researcher = make_researcher(study)
    other = make_study()
    make_participant(study)

    async def scenario() -> list[int]:
        communicator = _communicator(study.slug, researcher)
        connected, _ = await communicator.connect()
        assert connected
        seen = [_entered(await communicator.receive_json_from(timeout=10))]
        # A participant enters (its own committed transaction), in a worker thread as a view
        # would run it.
        await database_sync_to_async(make_participant)(study)
        seen.append(_entered(await communicator.receive_json_from(timeout=10)))
        # A preview walk tells nobody; a change in another study neither.
        await database_sync_to_async(services.participant_preview_start)(
            study_id=study.pk, user_id=researcher.pk
        )
        await database_sync_to_async(make_participant)(other)
        assert await communicator.receive_nothing(timeout=1)
        await communicator.disconnect()
        return seen

    assert asyncio.run(scenario()) == [1, 2]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
def test_a_burst_of_changes_is_pushed_a_few_times_not_once_each() -> None:
    study = make_study()
    admin = make_admin()
    burst = 8

    def enter_many() -> None:
        for _ in range(burst):
            make_participant(study)  # each in its own committed transaction

    async def scenario() -> list[int]:
        communicator = _communicator(study.slug, admin)
        assert (await communicator.connect())[0]
        assert _entered(await communicator.receive_json_from(timeout=10)) == 0
        await database_sync_to_async(enter_many)()
        pushes: list[int] = []
        while not pushes or pushes[-1] < burst:
            pushes.append(_entered(await communicator.receive_json_from(timeout=10)))
        await communicator.disconnect()
        return pushes

    pushes = asyncio.run(scenario())
    assert pushes[-1] == burst
    assert len(pushes) < burst / 2, pushes


@pytest.mark.parametrize("outage", ["refused", "hung"])
@pytest.mark.django_db(transaction=True)
def test_a_channel_layer_outage_does_not_break_the_write(
    outage: str, caplog: pytest.LogCaptureFixture
) -> None:
    study = make_study()
    with socket.socket() as hung:
        # "hung": a Redis that takes the connection and never answers (the socket's backlog
        # accepts it; nobody reads). "refused": nothing listens.
        hung.bind(("127.0.0.1", 0))
        if outage == "hung":
            hung.listen()
        port = hung.getsockname()[1]
        layer = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [{"address": f"redis://127.0.0.1:{port}/0"}]},
            }
        }
        started = time.monotonic()
        with override_settings(CHANNEL_LAYERS=layer), caplog.at_level(logging.WARNING):
            participant = make_participant(study)
        took = time.monotonic() - started
    assert Participant.objects.filter(pk=participant.pk).exists()
    assert f"dashboard event for study {study.pk} not sent" in caplog.text
    assert took < SEND_TIMEOUT_S + 3


@pytest.mark.django_db(transaction=True)
def test_through_the_server_a_logged_in_researcher_listens_and_a_stranger_is_refused(
    asgi_server: str,
) -> None:
    """The route sits behind the server's session authentication and origin check."""
    study = make_study()
    researcher = make_researcher(study)
    researcher.set_password("a-long-passphrase-123")
    researcher.save()
    client = httpx2.Client(base_url=asgi_server)
    login = client.get("/admin/login/")
    client.post(
        "/admin/login/",
        data={
            "csrfmiddlewaretoken": csrf_token(login.text),
            "username": researcher.username,
            "password": "a-long-passphrase-123",
        },
    )
    url = f"{asgi_server.replace('http', 'ws')}/ws/staff/{study.slug}/dashboard/"
    with connect(
        url, additional_headers={"Cookie": cookie_header(client), "Origin": asgi_server}
    ) as ws:
        frame = json.loads(ws.recv(timeout=10))
    assert frame["type"] == "figures"
    assert frame["figures"]["study_id"] == study.pk

    with (
        pytest.raises((InvalidStatus, ConnectionClosed)) as refused,
        connect(url, additional_headers={"Origin": asgi_server}) as stranger,
    ):
        stranger.recv(timeout=10)
    assert "4403" in str(refused.value) or "403" in str(refused.value)
