"""The story page's vote address (`POST /s/<slug>/stories/vote`): what the page's script sends
for each judgement, checked as strictly as the form, one row per judgement."""

from __future__ import annotations

import json
import random
import re
import time
from typing import Any

import pytest
from django.test import Client, override_settings

from elicitation import ratelimits
from elicitation.models import Participant, Study
from elicitation.services import demo_study_seed
from moralgraph.models import UpgradeHypothesis, UpgradeVote
from tests.factories import make_study

pytestmark = pytest.mark.django_db


def _voter(study: Study, stories: int = 3) -> tuple[Client, Participant, list[int]]:
    """A participant at the stories step with `stories` drawn, and a browser holding them
    (CSRF checked, as a browser's requests are)."""
    drawn = list(UpgradeHypothesis.objects.filter(study=study).values_list("pk", flat=True))
    assert len(drawn) >= stories, "the demo study has stories to draw"
    participant = Participant.objects.create(
        study=study, stage=Participant.Stage.VOTES, upgrade_hypothesis_ids=drawn[:stories]
    )
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session["participant_ids"] = [participant.pk]
    session.save()
    return client, participant, drawn[:stories]


def _token(client: Client, study: Study) -> str:
    page = client.get(f"/s/{study.slug}/stories/").content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, "the stories page carries a CSRF token"
    return found.group(1)


def _vote(client: Client, study: Study, token: str | None, **body: Any) -> Any:
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(
        f"/s/{study.slug}/stories/vote",
        json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def test_each_judgement_is_stored_once_and_the_last_leads_to_the_survey() -> None:
    study = demo_study_seed()
    client, participant, drawn = _voter(study)
    token = _token(client, study)
    first = _vote(client, study, token, hypothesis=drawn[0], choice="upgrade", reason="Kinder.")
    assert first.status_code == 200, first.content
    assert first.json() | {"vote": 0} == {
        "saved": True,
        "vote": 0,
        "judged": 1,
        "total": 3,
        "next": None,
    }
    # Judging the same story again (a double submit, a changed mind) changes the one row.
    again = _vote(client, study, token, hypothesis=drawn[0], choice="not_sure")
    assert again.json()["judged"] == 1
    vote = UpgradeVote.objects.get(participant=participant)
    assert (vote.hypothesis_id, vote.choice, vote.reason) == (drawn[0], "not_sure", "")
    hypothesis = UpgradeHypothesis.objects.get(pk=drawn[0])
    assert (vote.from_value_id, vote.to_value_id, vote.context_id, vote.story) == (
        hypothesis.from_value_id,
        hypothesis.to_value_id,
        hypothesis.context_id,
        hypothesis.story,
    )
    assert (
        _vote(client, study, token, hypothesis=drawn[1], choice="no_upgrade").json()["next"] is None
    )
    last = _vote(client, study, token, hypothesis=str(drawn[2]), choice="upgrade").json()
    assert last == last | {"judged": 3, "total": 3, "next": f"/s/{study.slug}/survey/"}
    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.SURVEY
    assert UpgradeVote.objects.filter(participant=participant).count() == 3
    # The step is over: a late vote is answered with where to go, and stores nothing.
    late = _vote(client, study, token, hypothesis=drawn[0], choice="upgrade")
    assert late.status_code == 409
    assert late.json()["next"] == f"/s/{study.slug}/survey/"
    assert UpgradeVote.objects.get(hypothesis_id=drawn[0]).choice == "not_sure"


def test_bad_votes_get_a_clear_error_and_store_nothing() -> None:
    study = demo_study_seed()
    client, participant, drawn = _voter(study, stories=2)
    token = _token(client, study)
    other = UpgradeHypothesis.objects.filter(study=study).exclude(pk__in=drawn).first()
    assert other is not None
    url = f"/s/{study.slug}/stories/vote"
    cases = {
        "never drawn": _vote(client, study, token, hypothesis=other.pk, choice="upgrade"),
        "unknown choice": _vote(client, study, token, hypothesis=drawn[0], choice="maybe"),
        "id not a number": _vote(client, study, token, hypothesis="²", choice="upgrade"),
        "id missing": _vote(client, study, token, choice="upgrade"),
        "NUL in the reason": _vote(
            client, study, token, hypothesis=drawn[0], choice="upgrade", reason="a\x00b"
        ),
        "reason too long": _vote(
            client, study, token, hypothesis=drawn[0], choice="upgrade", reason="x" * 4001
        ),
        "not JSON": client.post(
            url, "{nope", content_type="application/json", headers={"X-CSRFToken": token}
        ),
        "a JSON list": client.post(
            url, "[1, 2]", content_type="application/json", headers={"X-CSRFToken": token}
        ),
    }
    for case, response in cases.items():
        assert response.status_code == 400, case
        body = response.json()
        assert body["error"], case
        assert body["message"], case
    assert cases["never drawn"].json()["message"] == "That story was not shown to you."
    assert cases["NUL in the reason"].json()["error"] == "control_character"
    too_big = client.post(
        url,
        json.dumps({"hypothesis": drawn[0], "choice": "upgrade", "reason": "x" * 20000}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert too_big.status_code == 413
    assert not UpgradeVote.objects.filter(participant=participant).exists()
    # The form encoding works too (the page's form, posted by a script).
    form = client.post(
        url, {"hypothesis": drawn[0], "choice": "upgrade"}, headers={"X-CSRFToken": token}
    )
    assert form.json()["judged"] == 1


def test_votes_need_the_page_token_a_participant_and_an_open_study() -> None:
    study = demo_study_seed()
    client, participant, drawn = _voter(study)
    forged = _vote(client, study, None, hypothesis=drawn[0], choice="upgrade")
    assert forged.status_code == 403, "no CSRF token, no vote"
    stranger = Client()
    nobody = stranger.post(
        f"/s/{study.slug}/stories/vote",
        {"hypothesis": drawn[0], "choice": "upgrade"},
    )
    assert nobody.status_code == 409
    assert nobody.json()["next"] == f"/s/{study.slug}/"
    elsewhere = make_study()
    token = _token(client, study)
    wrong_study = _vote(client, elsewhere, token, hypothesis=drawn[0], choice="upgrade")
    assert wrong_study.status_code == 409, "the session holds no participant of that study"
    study.status = Study.Status.CLOSED
    study.save(update_fields=["status"])
    closed = _vote(client, study, token, hypothesis=drawn[0], choice="upgrade")
    assert closed.status_code == 409
    assert closed.json()["error"] == "study_closed"
    assert not UpgradeVote.objects.exists()


@override_settings(MGE_RATE_VOTES_PER_PARTICIPANT="2/60", MGE_RATE_VOTES_PER_SESSION="")
def test_votes_past_the_limit_are_refused_with_a_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # A window of its own: counts of earlier runs (participant ids repeat) stay out of it.
    now = time.time() + random.randrange(1, 10**6) * 60
    monkeypatch.setattr(ratelimits, "clock", lambda: now)
    study = demo_study_seed()
    client, participant, drawn = _voter(study)
    token = _token(client, study)
    for hypothesis in drawn[:2]:
        assert (
            _vote(client, study, token, hypothesis=hypothesis, choice="upgrade").status_code == 200
        )
    refused = _vote(client, study, token, hypothesis=drawn[2], choice="upgrade")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "everything you sent before is saved" in refused.json()["message"]
    assert UpgradeVote.objects.filter(participant=participant).count() == 2
