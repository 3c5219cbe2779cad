"""Resume codes: the pages after consent show one, and another browser that enters it carries on
with the same participation; only a keyed hash is stored, guesses are limited, and a wrong,
withdrawn or other study's code gets one answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from elicitation import services
from elicitation.errors import ApplicationError
from elicitation.models import Participant, Study
from elicitation.services import RESUME_CODE_ALPHABET
from tests.factories import make_question, make_study

pytestmark = pytest.mark.django_db

CODE = re.compile(r'<strong class="code" id="resume-code">([A-Z0-9]{4}-[A-Z0-9]{4})</strong>')


@pytest.fixture(autouse=True)
def _fresh_counts() -> None:
    cache.clear()  # the rate limits count in the cache (Redis in the suite)


def _enter(study: Study) -> tuple[Client, Participant]:
    client = Client()
    assert client.post(f"/s/{study.slug}/", {"consent": "yes"}).status_code == 302
    return client, Participant.objects.get(pk=client.session["participant_ids"][-1])


def _shown_code(response: Any) -> str:
    match = CODE.search(response.content.decode())
    assert match, "no resume code on the page"
    return match.group(1)


def test_the_code_shown_after_consent_continues_in_another_browser() -> None:
    study = make_study()
    make_question(study)
    first, participant = _enter(study)
    page = first.get(f"/s/{study.slug}/questions/")
    code = _shown_code(page)
    assert set(code.replace("-", "")) <= set(RESUME_CODE_ALPHABET)
    assert f"/s/{study.slug}/resume/" in page.content.decode()
    # The same code on every page of this browser, and only its keyed hash in the database.
    assert _shown_code(first.get(f"/s/{study.slug}/questions/")) == code
    participant.refresh_from_db()
    assert participant.resume_code_hash == services.resume_code_hash(study_id=study.pk, code=code)
    assert code.replace("-", "") not in participant.resume_code_hash
    assert len(participant.resume_code_hash) == 64

    # The start page offers the way in; the code typed loosely still works.
    second = Client()
    assert f"/s/{study.slug}/resume/" in second.get(f"/s/{study.slug}/").content.decode()
    assert second.get(f"/s/{study.slug}/resume/").status_code == 200
    typed = f"  {code.lower().replace('-', ' ')} "
    resumed = second.post(f"/s/{study.slug}/resume/", {"code": typed})
    assert resumed.status_code == 302
    assert resumed["Location"] == f"/s/{study.slug}/questions/"
    assert second.session["participant_ids"] == [participant.pk]
    # The second browser carries on as the same participant, showing the same code.
    assert _shown_code(second.get(f"/s/{study.slug}/questions/")) == code
    question = study.questions.get()
    started = second.post(f"/s/{study.slug}/questions/", {"question": question.pk})
    assert started.status_code == 302
    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.INTERVIEW
    # ... and the first browser is still in too, where the participant now is.
    assert first.get(f"/s/{study.slug}/questions/")["Location"].startswith("/interviews/")
    assert Participant.objects.filter(study=study).count() == 1


def test_wrong_withdrawn_and_other_studies_codes_get_one_answer() -> None:
    study, other = make_study(), make_study()
    make_question(study)
    make_question(other)
    client, participant = _enter(study)
    code = _shown_code(client.get(f"/s/{study.slug}/questions/"))
    _other_client, _ = _enter(other)

    stranger = Client()
    answers = [
        stranger.post(f"/s/{other.slug}/resume/", {"code": code}),
        stranger.post(f"/s/{study.slug}/resume/", {"code": "ABCD-EFGH"}),
        stranger.post(f"/s/{study.slug}/resume/", {"code": ""}),
    ]
    participant.withdrawn_at = participant.consented_at
    participant.save(update_fields=["withdrawn_at"])
    answers.append(stranger.post(f"/s/{study.slug}/resume/", {"code": code}))
    for response in answers:
        assert response.status_code == 400
        assert "That resume code does not match a participation in this study." in (
            response.content.decode()
        )
    assert "participant_ids" not in stranger.session


def test_resuming_replaces_this_browsers_own_participation_in_the_study() -> None:
    study = make_study()
    make_question(study)
    first, participant = _enter(study)
    code = _shown_code(first.get(f"/s/{study.slug}/questions/"))
    second, fresh = _enter(study)
    assert second.post(f"/s/{study.slug}/resume/", {"code": code}).status_code == 302
    assert second.session["participant_ids"] == [participant.pk]
    assert fresh.pk != participant.pk


def test_guesses_are_rate_limited(settings: Any) -> None:
    # A visitor without a participation has no session yet: their address is counted.
    settings.MGE_RATE_EXEMPT_IPS = []
    settings.MGE_RATE_RESUMES_PER_IP = "3/600"
    study = make_study()
    client = Client()
    statuses = [
        client.post(f"/s/{study.slug}/resume/", {"code": f"AAAA-AAA{n}"}).status_code
        for n in range(2, 7)
    ]
    assert statuses[:3] == [400, 400, 400]
    assert statuses[3:] == [429, 429]
    refused = client.post(f"/s/{study.slug}/resume/", {"code": "AAAA-AAA2"})
    assert "Too many resume codes tried in a short time." in refused.content.decode()
    assert int(refused["Retry-After"]) > 0


def test_a_staff_preview_has_no_resume_code() -> None:
    study = make_study()
    participant = Participant.objects.create(study=study, is_preview=True)
    with pytest.raises(ApplicationError):
        services.participant_resume_code_issue(participant=participant)
    participant.refresh_from_db()
    assert participant.resume_code_hash == ""
