"""Going back from the survey to the stories (`/s/<slug>/stories/review/`): the survey's answers
so far wait for the return, each judged story is shown with its answer, and changing one
changes that vote (never a second one) until the participant finishes or the study closes."""

from __future__ import annotations

import random
import re
import time
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils.html import escape

from elicitation import ratelimits, services
from elicitation.errors import ApplicationError
from elicitation.models import Participant, Study
from elicitation.schemas import SURVEY_ITEMS
from elicitation.services import demo_study_seed
from moralgraph.models import GraphRebuildState, UpgradeHypothesis, UpgradeVote
from moralgraph.services.snapshots import REBUILD_TASK
from tests.support.celery_sent import tasks_sent

pytestmark = pytest.mark.django_db

CHOICES = ("upgrade", "no_upgrade", "not_sure")


def _at_survey(study: Study, stories: int = 3) -> tuple[Client, Participant, list[int]]:
    """A participant who judged `stories` stories (each with a reason) and so reached the
    survey, and a browser holding them (CSRF checked, as a browser's requests are)."""
    drawn = list(UpgradeHypothesis.objects.filter(study=study).values_list("pk", flat=True))
    assert len(drawn) > stories, "the demo study has stories to draw, and one to spare"
    participant = Participant.objects.create(
        study=study, stage=Participant.Stage.VOTES, upgrade_hypothesis_ids=drawn[:stories]
    )
    for position, hypothesis_id in enumerate(drawn[:stories]):
        services.upgrade_vote_submit(
            participant=participant,
            hypothesis_id=hypothesis_id,
            choice=CHOICES[position % 3],
            reason=f"Reason number {position}.",
        )
    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.SURVEY
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session["participant_ids"] = [participant.pk]
    session.save()
    return client, participant, drawn[:stories]


def _token(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def _review(client: Client, study: Study) -> str:
    response = client.get(f"/s/{study.slug}/stories/review/")
    assert response.status_code == 200
    return str(response.content.decode())


def _change(client: Client, study: Study, token: str, **fields: Any) -> Any:
    return client.post(f"/s/{study.slug}/stories/review/", fields, headers={"X-CSRFToken": token})


def _section(page: str, hypothesis_id: int) -> str:
    found = re.search(rf'<section[^>]*id="story-{hypothesis_id}".*?</section>', page, re.S)
    assert found, f"story {hypothesis_id} is on the page"
    return found.group(0)


def _checked(section: str) -> list[str]:
    return re.findall(r'name="choice" value="([a-z_]+)"[^>]*\bchecked\b', section)


def _votes(participant: Participant) -> list[tuple[Any, ...]]:
    return list(
        UpgradeVote.objects.filter(participant=participant)
        .order_by("pk")
        .values_list("pk", "hypothesis_id", "choice", "reason", "updated_at")
    )


def test_going_back_keeps_the_survey_answers_typed_so_far() -> None:
    study = demo_study_seed()
    client, participant, _drawn = _at_survey(study)
    survey = client.get(f"/s/{study.slug}/survey/").content.decode()
    assert re.search(r'<button[^>]*name="back"[^>]*formnovalidate', survey), "a way back"
    first, second = SURVEY_ITEMS[0].key, SURVEY_ITEMS[1].key
    back = client.post(
        f"/s/{study.slug}/survey/",
        {first: "4", second: "2", "comment": "Half way <there>", "back": "1"},
        headers={"X-CSRFToken": _token(survey)},
    )
    assert back.status_code == 302
    assert back["Location"] == f"/s/{study.slug}/stories/review/"
    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.SURVEY, "nothing was submitted"
    assert not participant.survey_responses.exists()

    again = client.get(f"/s/{study.slug}/survey/").content.decode()
    assert re.search(rf'name="{first}" value="4"[^>]*checked', again)
    assert re.search(rf'name="{second}" value="2"[^>]*checked', again)
    assert not re.search(rf'name="{SURVEY_ITEMS[2].key}" value="\d"[^>]*checked', again)
    assert "Half way &lt;there&gt;</textarea>" in again

    answers = {item.key: "3" for item in SURVEY_ITEMS}
    done = client.post(f"/s/{study.slug}/survey/", answers, headers={"X-CSRFToken": _token(again)})
    assert done.status_code == 302
    assert done["Location"] == f"/s/{study.slug}/done/"
    assert f"survey_draft:{participant.pk}" not in client.session, "the draft is let go"


def test_no_way_back_for_someone_who_judged_no_story() -> None:
    study = demo_study_seed()
    participant = Participant.objects.create(
        study=study, stage=Participant.Stage.SURVEY, upgrade_hypothesis_ids=[]
    )
    client = Client()
    session = client.session
    session["participant_ids"] = [participant.pk]
    session.save()
    survey = client.get(f"/s/{study.slug}/survey/").content.decode()
    assert "A short survey" in survey
    assert 'name="back"' not in survey
    assert "nothing to change" in client.get(f"/s/{study.slug}/stories/review/").content.decode()


def test_the_review_shows_each_judged_story_with_its_answer() -> None:
    study = demo_study_seed()
    client, _participant, drawn = _at_survey(study)
    page = _review(client, study)
    for position, hypothesis_id in enumerate(drawn):
        section = _section(page, hypothesis_id)
        hypothesis = UpgradeHypothesis.objects.select_related("context").get(pk=hypothesis_id)
        assert escape(hypothesis.context.text) in section
        assert f"Story {position + 1} of 3" in section
        assert _checked(section) == [CHOICES[position % 3]]
        assert f">Reason number {position}.</textarea>" in section
    assert f'href="/s/{study.slug}/survey/"' in page, "a way back to the survey"


def test_a_change_updates_the_same_vote_and_asks_for_a_rebuild(
    django_capture_on_commit_callbacks: Any,
) -> None:
    study = demo_study_seed()
    client, participant, drawn = _at_survey(study)
    token = _token(_review(client, study))
    before = _votes(participant)
    requested = GraphRebuildState.objects.filter(study=study).values_list(
        "requested_seq", flat=True
    )
    seq = requested.first() or 0
    # The tasks are recorded until the captured after-commit callbacks have run.
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        changed = _change(
            client, study, token, hypothesis=drawn[1], choice="upgrade", reason="I see it now."
        )
    assert changed.status_code == 302
    assert changed["Location"] == (
        f"/s/{study.slug}/stories/review/?saved={drawn[1]}#story-{drawn[1]}"
    )
    after = _votes(participant)
    assert len(after) == len(before) == 3, "the same votes, none added"
    assert [row[0] for row in after] == [row[0] for row in before]
    old, new = before[1], after[1]
    assert new[1:4] == (drawn[1], "upgrade", "I see it now.")
    assert new[4] > old[4], "the change's time is recorded"
    assert after[0] == before[0], "the other stories are untouched"
    assert after[2] == before[2], "the other stories are untouched"
    assert (REBUILD_TASK, (study.pk,)) in sent, "the live graph is rebuilt, as for a vote"
    assert (requested.first() or 0) == seq + 1
    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.SURVEY

    page = client.get(changed["Location"]).content.decode()
    section = _section(page, drawn[1])
    assert "Your change is saved." in section
    assert _checked(section) == ["upgrade"]
    assert "Your change is saved." not in _section(page, drawn[0])
    forged = Client(enforce_csrf_checks=True)
    forged.cookies = client.cookies
    refused = forged.post(
        f"/s/{study.slug}/stories/review/", {"hypothesis": drawn[0], "choice": "upgrade"}
    )
    assert refused.status_code == 403, "no CSRF token, no change"
    assert _votes(participant) == after


def test_a_story_not_drawn_or_not_judged_or_a_bad_answer_is_refused() -> None:
    study = demo_study_seed()
    client, participant, drawn = _at_survey(study, stories=2)
    never_drawn = UpgradeHypothesis.objects.filter(study=study).exclude(pk__in=drawn).first()
    assert never_drawn is not None
    # A story drawn for them that they never judged (say it was added to their draw late).
    Participant.objects.filter(pk=participant.pk).update(
        upgrade_hypothesis_ids=[*drawn, never_drawn.pk]
    )
    other = (
        UpgradeHypothesis.objects.filter(study=study)
        .exclude(pk__in=[*drawn, never_drawn.pk])
        .first()
    )
    assert other is not None
    token = _token(_review(client, study))
    before = _votes(participant)
    cases: dict[str, dict[str, object]] = {
        "never drawn": {"hypothesis": other.pk, "choice": "upgrade"},
        "drawn, not judged": {"hypothesis": never_drawn.pk, "choice": "upgrade"},
        "id not a number": {"hypothesis": "x1", "choice": "upgrade"},
        "no id": {"choice": "upgrade"},
        "unknown choice": {"hypothesis": drawn[0], "choice": "maybe"},
        "reason too long": {"hypothesis": drawn[0], "choice": "upgrade", "reason": "x" * 4001},
        "NUL in the reason": {"hypothesis": drawn[0], "choice": "upgrade", "reason": "a\x00b"},
    }
    for case, fields in cases.items():
        response = _change(client, study, token, **fields)
        assert response.status_code == 400, case
        assert 'class="error" role="alert"' in response.content.decode(), case
    never = _change(client, study, token, hypothesis=other.pk, choice="upgrade")
    assert "That story was not shown to you." in never.content.decode()
    unjudged = _change(client, study, token, hypothesis=never_drawn.pk, choice="upgrade")
    assert "nothing to change" in unjudged.content.decode()
    # A refused change shows what was sent in its own story's form.
    bad = _change(client, study, token, hypothesis=drawn[0], choice="maybe", reason="Kept.")
    section = _section(bad.content.decode(), drawn[0])
    assert "Please choose Yes, No or Not sure." in section
    assert ">Kept.</textarea>" in section
    assert _votes(participant) == before, "nothing changed"
    assert UpgradeVote.objects.filter(participant=participant).count() == 2


def test_after_finishing_the_judgements_no_longer_change() -> None:
    study = demo_study_seed()
    client, participant, drawn = _at_survey(study)
    token = _token(_review(client, study))
    participant = services.survey_submit(
        participant=participant, answers={item.key: 4 for item in SURVEY_ITEMS}
    )
    before = _votes(participant)
    page = client.get(f"/s/{study.slug}/stories/review/")
    assert page.status_code == 302
    assert page["Location"] == f"/s/{study.slug}/done/"
    late = _change(client, study, token, hypothesis=drawn[0], choice="not_sure")
    assert late.status_code == 302
    assert late["Location"] == f"/s/{study.slug}/done/"
    with pytest.raises(ApplicationError) as refused:
        services.upgrade_vote_revise(
            participant=participant, hypothesis_id=drawn[0], choice="not_sure"
        )
    assert refused.value.code == "wrong_step"
    assert _votes(participant) == before


def test_a_closed_study_refuses_changes() -> None:
    study = demo_study_seed()
    client, participant, drawn = _at_survey(study)
    token = _token(_review(client, study))
    before = _votes(participant)
    study.status = Study.Status.CLOSED
    study.save(update_fields=["status"])
    closed = _change(client, study, token, hypothesis=drawn[0], choice="not_sure")
    assert closed.status_code == 302, "sent to the page that says the study is closed"
    assert closed["Location"] == f"/s/{study.slug}/"
    with pytest.raises(ApplicationError) as refused:
        services.upgrade_vote_revise(
            participant=participant, hypothesis_id=drawn[0], choice="not_sure"
        )
    assert refused.value.code == "study_closed"
    assert _votes(participant) == before


def test_before_the_survey_the_review_sends_the_participant_on() -> None:
    study = demo_study_seed()
    drawn = list(UpgradeHypothesis.objects.filter(study=study).values_list("pk", flat=True))
    participant = Participant.objects.create(
        study=study, stage=Participant.Stage.VOTES, upgrade_hypothesis_ids=drawn[:2]
    )
    services.upgrade_vote_submit(participant=participant, hypothesis_id=drawn[0], choice="upgrade")
    client = Client()
    session = client.session
    session["participant_ids"] = [participant.pk]
    session.save()
    response = client.get(f"/s/{study.slug}/stories/review/")
    assert response.status_code == 302
    assert response["Location"] == f"/s/{study.slug}/stories/"
    with pytest.raises(ApplicationError) as refused:
        services.upgrade_vote_revise(
            participant=participant, hypothesis_id=drawn[0], choice="not_sure"
        )
    assert refused.value.code == "wrong_step"
    assert UpgradeVote.objects.get(participant=participant).choice == "upgrade"


@override_settings(MGE_RATE_VOTES_PER_PARTICIPANT="1/60", MGE_RATE_VOTES_PER_SESSION="")
def test_changes_past_the_vote_limit_are_refused_with_a_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A window of its own: counts of earlier runs (participant ids repeat) stay out of it.
    now = time.time() + random.randrange(1, 10**6) * 60
    monkeypatch.setattr(ratelimits, "clock", lambda: now)
    study = demo_study_seed()
    client, participant, drawn = _at_survey(study)
    token = _token(_review(client, study))
    first = _change(client, study, token, hypothesis=drawn[0], choice="no_upgrade")
    assert first.status_code == 302
    refused = _change(client, study, token, hypothesis=drawn[1], choice="no_upgrade")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert (
        UpgradeVote.objects.get(participant=participant, hypothesis_id=drawn[1]).choice
        == (CHOICES[1])
    )
