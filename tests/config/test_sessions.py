"""Sessions live in PostgreSQL with Redis in front as a cache: while Redis is down, a
participant's pages still work from the database (config/sessions.py). With Django's own
`cached_db` engine the first page after the outage began answered 500."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from elicitation.models import Participant
from tests.factories import make_question, make_study
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db


def _redis_down() -> dict[str, dict[str, object]]:
    """The cache settings, pointed at a port where no Redis listens."""
    dead = dict(settings.CACHES["default"])
    dead["LOCATION"] = f"redis://127.0.0.1:{free_port()}/0"
    return {"default": dead}


def test_a_participant_keeps_going_while_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    assert settings.SESSION_ENGINE == "config.sessions", "the suite runs with Redis"
    study = make_study()
    question = make_question(study)
    client = Client()
    entered = client.post(f"/s/{study.slug}/", {"consent": "yes"})
    assert entered.status_code == 302
    participant_id = client.session["participant_ids"][-1]

    with override_settings(CACHES=_redis_down()), caplog.at_level(logging.WARNING):
        # The session comes from the database: the participant is still themselves.
        page = client.get(f"/s/{study.slug}/questions/")
        assert page.status_code == 200, page.content[:300]
        assert question.title in page.content.decode()
        # A step that writes to the session (the interview it starts) is kept, in PostgreSQL.
        started = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})
        assert started.status_code == 302
        assert started["Location"].startswith("/interviews/")
        interview = client.get(started["Location"])
        assert interview.status_code == 200
    assert "session cache unreachable" in caplog.text

    # Redis is back: the same browser goes on as the same participant.
    assert Participant.objects.get(pk=participant_id).stage == Participant.Stage.INTERVIEW
    again = client.get(f"/s/{study.slug}/questions/")
    assert again["Location"] == started["Location"]
    assert Session.objects.filter(session_key=client.session.session_key).exists()
