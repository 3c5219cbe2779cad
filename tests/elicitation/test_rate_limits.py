"""Rate limits on what participants send (elicitation/ratelimits.py), counted in the suite's
real Redis: a burst of sign-ups from one address, a flood of votes from one participant and a
flood of interview messages are refused after their limits, with a clear message and when to
try again, while everything accepted before stays stored exactly once.

Each test comes from its own random documentation address, so counts left in Redis by another
test or an earlier run never meet it; the windows' clock is held still across a burst, so a
burst never straddles two windows."""

from __future__ import annotations

import ipaddress
import json
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import redis
from django.conf import settings
from django.test import Client
from websockets.sync.client import connect

from elicitation import ratelimits, services
from elicitation.models import Message, Participant, Study
from elicitation.services import demo_study_seed
from moralgraph.models import UpgradeVote
from tests.factories import make_question, make_study
from tests.support.journey import cookie_header, enter_study
from tests.support.processes import start_asgi_server


def _address() -> str:
    """A fresh address in 2001:db8::/32, the documentation prefix."""
    net = ipaddress.ip_network("2001:db8::/32")
    return str(net[random.getrandbits(96)])


@pytest.fixture
def still_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    now = time.time()
    monkeypatch.setattr(ratelimits, "clock", lambda: now)
    return now


def _assert_too_many(response: Any) -> None:
    assert response.status_code == 429
    page = response.content.decode()
    assert "<h1>Too many requests</h1>" in page
    assert "Please wait" in page
    assert "everything you sent before is saved" in page
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.django_db
@pytest.mark.usefixtures("still_clock")
def test_a_burst_of_sign_ups_from_one_address_is_refused_after_the_limit() -> None:
    study = make_study()
    make_question(study)
    address = _address()
    limit, _ = ratelimits.parse_rate(settings.MGE_RATE_SIGNUPS_PER_IP) or (0, 0)
    assert limit == 50
    statuses = []
    for _ in range(100):  # a script: a fresh client (no cookies) each time
        response = Client(REMOTE_ADDR=address).post(f"/s/{study.slug}/", {"consent": "yes"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            _assert_too_many(response)
    assert statuses == [302] * limit + [429] * (100 - limit)
    assert Participant.objects.filter(study=study).count() == limit
    # Someone else, from another address, still enters.
    other = Client(REMOTE_ADDR=_address()).post(f"/s/{study.slug}/", {"consent": "yes"})
    assert other.status_code == 302
    assert Participant.objects.filter(study=study).count() == limit + 1
    # The counters are keyed by a hash: no address is written to Redis.
    keys = redis.Redis.from_url(settings.REDIS_URL).keys("*rl:signups*")
    assert keys
    assert not [key for key in keys if address.encode() in key]


@pytest.mark.django_db
@pytest.mark.usefixtures("still_clock")
def test_a_flood_of_votes_is_refused_and_the_vote_is_stored_once() -> None:
    study = demo_study_seed()
    client = Client(REMOTE_ADDR=_address())
    assert client.post(f"/s/{study.slug}/", {"consent": "yes"}).status_code == 302
    participant = Participant.objects.get(pk=client.session["participant_ids"][-1])
    question = study.questions.first()
    assert question is not None
    response = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})
    interview_id = int(response["Location"].strip("/").split("/")[-1])
    card = {
        "title": "Honest care for a friend",
        "description": "Helping a friend without deceiving anyone on her behalf.",
        "policies": [
            "WORRIES my friend has not said out loud",
            "WAYS to refuse the lie while staying on her side",
            "PEOPLE who would be hurt by the deception",
        ],
    }
    # The card through the services the socket uses (no model needed).
    _, proposal = services.interview_answer_store(interview_id=interview_id, text="A.", card=card)
    assert proposal is not None
    services.values_card_submit(interview_id=interview_id, proposal_id=proposal.proposal_id)
    client.get(f"/s/{study.slug}/wise-values/")
    participant.refresh_from_db()
    picks = list(participant.wise_value_ids or [])[:2]
    # The wise-values answer counts against the same limit as the stories.
    assert client.post(f"/s/{study.slug}/wise-values/", {"value": picks}).status_code == 302
    client.get(f"/s/{study.slug}/stories/")
    participant.refresh_from_db()
    first = (participant.upgrade_hypothesis_ids or [])[0]
    limit, _ = ratelimits.parse_rate(settings.MGE_RATE_VOTES_PER_PARTICIPANT) or (0, 0)
    statuses = []
    for _ in range(100):
        response = client.post(
            f"/s/{study.slug}/stories/", {"hypothesis": first, "choice": "upgrade"}
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            _assert_too_many(response)
    assert 429 not in statuses[: limit - 1]
    assert statuses[limit - 1 :] == [429] * (100 - limit + 1)
    assert UpgradeVote.objects.filter(participant_id=participant.pk).count() == 1
    # Pages are still shown (only what is sent is limited).
    assert client.get(f"/s/{study.slug}/stories/").status_code == 200


@pytest.mark.django_db
@pytest.mark.usefixtures("still_clock")
def test_one_session_signing_up_again_and_again_is_refused_even_from_the_host() -> None:
    """The host's own address has no per-address count (MGE_RATE_EXEMPT_IPS); a browser
    session entering study after study still meets its own limit."""
    assert "127.0.0.1" in settings.MGE_RATE_EXEMPT_IPS
    limit, _ = ratelimits.parse_rate(settings.MGE_RATE_SIGNUPS_PER_SESSION) or (0, 0)
    studies = [make_study() for _ in range(limit + 2)]
    client = Client(REMOTE_ADDR="127.0.0.1")
    statuses = [client.post(f"/s/{s.slug}/", {"consent": "yes"}).status_code for s in studies]
    # The first entry makes the session; the next `limit` are counted against it.
    assert statuses == [302] * (limit + 1) + [429]
    assert len(client.session["participant_ids"]) == limit + 1
    # Fresh sessions from the host are not held back by it.
    assert Client().post(f"/s/{studies[-1].slug}/", {"consent": "yes"}).status_code == 302


def test_rates_read_from_settings(caplog: pytest.LogCaptureFixture) -> None:
    assert ratelimits.parse_rate("30/60") == (30, 60)
    assert ratelimits.parse_rate("30") == (30, 60)
    assert ratelimits.parse_rate("0/60") is None
    assert ratelimits.parse_rate("") is None
    assert "not COUNT/SECONDS" not in caplog.text  # empty turns a limit off, quietly
    assert ratelimits.parse_rate("many") is None
    assert "not COUNT/SECONDS" in caplog.text


@pytest.mark.django_db
def test_an_unreachable_cache_lets_requests_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimits.cache, "add", down)
    study = make_study()
    address = _address()
    for _ in range(60):
        assert (
            Client(REMOTE_ADDR=address).post(f"/s/{study.slug}/", {"consent": "yes"}).status_code
            == 302
        )


# --- interview messages over the socket -----------------------------------------------------

MESSAGES_LIMIT = 3


@pytest.fixture(scope="module")
def limited_server(subprocess_env: dict[str, str]) -> Iterator[str]:
    """An ASGI server that takes three messages per participant a day."""
    proc, base_url = start_asgi_server(
        {**subprocess_env, "MGE_RATE_MESSAGES_PER_PARTICIPANT": f"{MESSAGES_LIMIT}/86400"}
    )
    yield base_url
    proc.stop()


def _until(ws: Any, predicate: Any) -> list[dict[str, Any]]:
    frames = []
    for _ in range(500):
        frame = json.loads(ws.recv(timeout=20))
        frames.append(frame)
        if predicate(frame):
            return frames
    raise AssertionError(f"no matching frame in {frames}")


@pytest.mark.django_db(transaction=True)
def test_a_flood_of_messages_gets_an_error_frame_and_nothing_more_is_stored(
    limited_server: str,
) -> None:
    study = make_study(interviewer_backend=Study.InterviewerBackend.OFFLINE)
    make_question(study)
    client = httpx2.Client(base_url=limited_server)
    interview_id = enter_study(client, study.slug)
    sent = [uuid.uuid4() for _ in range(MESSAGES_LIMIT + 2)]
    with connect(
        f"{limited_server.replace('http', 'ws')}/ws/interviews/{interview_id}/",
        additional_headers={"Cookie": cookie_header(client), "Origin": limited_server},
    ) as ws:
        idle = {"type": "status", "state": "idle"}
        for position, client_id in enumerate(sent):
            ws.send(
                json.dumps(
                    {
                        "type": "user_message",
                        "client_id": str(client_id),
                        "text": f"Line {position}",
                    }
                )
            )
            if position < MESSAGES_LIMIT:
                _until(ws, lambda f: f == idle)
            else:
                error = _until(ws, lambda f: f["type"] == "error")[-1]
                assert error["code"] == "rate_limited"
                assert "Too many messages" in error["message"]
                assert "Please wait" in error["message"]
        # The socket stays open and answers.
        ws.send(json.dumps({"type": "resume", "after_seq": 0}))
        _until(ws, lambda f: f == idle)
    stored = Message.objects.filter(interview_id=interview_id, role=Message.Role.USER)
    assert sorted(str(m.client_id) for m in stored) == sorted(str(c) for c in sent[:MESSAGES_LIMIT])
