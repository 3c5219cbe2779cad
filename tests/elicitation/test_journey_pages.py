"""The journey's pages over HTTP (Django's test client): entry modes, demographics, the
order of steps and the information boundaries, and the refusals a participant can meet."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from elicitation import services
from elicitation.models import InviteCode, Participant, Study, SurveyResponse
from elicitation.schemas import SURVEY_ITEMS
from elicitation.services import demo_study_seed
from moralgraph.models import UpgradeHypothesis, UpgradeVote
from tests.factories import make_question, make_study

pytestmark = pytest.mark.django_db

CARD = {
    "title": "Honest care for a friend",
    "description": "Helping a friend without deceiving anyone on her behalf.",
    "policies": [
        "WORRIES my friend has not said out loud",
        "WAYS to refuse the lie while staying on her side",
        "PEOPLE who would be hurt by the deception",
    ],
}


def _enter(client: Client, study: Study, query: str = "", **form: str) -> Any:
    return client.post(f"/s/{study.slug}/{query}", {"consent": "yes", **form})


def _participant(client: Client) -> Participant:
    ids = client.session["participant_ids"]
    return Participant.objects.get(pk=ids[-1])


def _to_picks(client: Client, study: Study) -> Participant:
    """Enter, interview and confirm a card, through the services the socket uses."""
    question = study.questions.first() or make_question(study)
    _enter(client, study)
    response = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})
    interview_id = int(response["Location"].strip("/").split("/")[-1])
    _, proposal = services.interview_answer_store(
        interview_id=interview_id, text="A card.", card=CARD
    )
    assert proposal is not None
    services.values_card_submit(interview_id=interview_id, proposal_id=proposal.proposal_id)
    return _participant(client)


def test_invite_codes_enter_once() -> None:
    study = make_study(participation_mode=Study.ParticipationMode.INVITE_CODES)
    InviteCode.objects.create(study=study, code="ABC123")
    first = Client()
    assert "Your invite code" in first.get(f"/s/{study.slug}/").content.decode()
    refused = _enter(first, study, invite_code="NOPE")
    assert refused.status_code == 400
    assert "That invite code is not valid for this study." in refused.content.decode()
    assert _enter(first, study, invite_code=" abc123 ").status_code == 302
    code = InviteCode.objects.get()
    assert code.used_at is not None
    assert code.participant == _participant(first)

    second = _enter(Client(), study, invite_code="ABC123")
    assert second.status_code == 400
    assert "already been used" in second.content.decode()
    assert Participant.objects.filter(study=study).count() == 1


def test_a_panel_id_enters_once_and_gets_a_completion_code() -> None:
    study = make_study(
        participation_mode=Study.ParticipationMode.PANEL,
        completion_redirect_url="https://panel.example/done?study=7",
    )
    client = Client()
    missing = client.get(f"/s/{study.slug}/")
    assert missing.status_code == 400
    assert "open it again from the panel" in missing.content.decode()
    assert _enter(client, study, "?PROLIFIC_PID=pp-1").status_code == 302
    participant = _participant(client)
    assert participant.external_id_hash
    assert "pp-1" not in participant.external_id_hash
    again = _enter(Client(), study, "?PROLIFIC_PID=pp-1")
    assert again.status_code == 400
    assert "already taken part" in again.content.decode()

    Participant.objects.filter(pk=participant.pk).update(stage=Participant.Stage.SURVEY)
    answers = {item.key: "3" for item in SURVEY_ITEMS}
    assert client.post(f"/s/{study.slug}/survey/", answers)["Location"] == f"/s/{study.slug}/done/"
    participant.refresh_from_db()
    assert len(participant.completion_code) == 8
    done = client.get(f"/s/{study.slug}/done/").content.decode()
    assert participant.completion_code in done
    assert f"https://panel.example/done?study=7&amp;cc={participant.completion_code}" in done


def test_demographics_come_before_the_question() -> None:
    study = make_study(
        demographic_questions=[
            {
                "key": "age",
                "label": "Your age",
                "kind": "choice",
                "choices": ["18–29", "30–49", "50+"],
                "is_required": True,
            },
            {"key": "country", "label": "Country", "kind": "text"},
        ]
    )
    make_question(study)
    client = Client()
    assert _enter(client, study)["Location"] == f"/s/{study.slug}/about-you/"
    assert client.get(f"/s/{study.slug}/questions/")["Location"] == f"/s/{study.slug}/about-you/"
    refused = client.post(f"/s/{study.slug}/about-you/", {"country": "Norway"})
    assert refused.status_code == 400
    assert "Please answer “Your age”." in refused.content.decode()
    bad = client.post(f"/s/{study.slug}/about-you/", {"age": "12"})
    assert bad.status_code == 400
    ok = client.post(f"/s/{study.slug}/about-you/", {"age": "30–49", "country": " Norway "})
    assert ok["Location"] == f"/s/{study.slug}/questions/"
    participant = _participant(client)
    assert participant.demographics == {"age": "30–49", "country": "Norway"}
    assert participant.stage == Participant.Stage.DEMOGRAPHICS


def test_no_step_before_its_time_and_only_ones_own_interview() -> None:
    study = make_study()
    question = make_question(study)
    client = Client()
    assert client.get(f"/s/{study.slug}/wise-values/")["Location"] == f"/s/{study.slug}/"
    _enter(client, study)
    interview_url = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})[
        "Location"
    ]
    # Other people's values and the graph stay out of reach until one's own card is in.
    for page in ("wise-values", "stories", "survey", "done"):
        assert client.get(f"/s/{study.slug}/{page}/")["Location"] == interview_url
    stranger = Client()
    _enter(stranger, study)
    assert stranger.get(interview_url).status_code == 404


def test_a_vote_on_a_story_never_drawn_is_refused() -> None:
    study = demo_study_seed()
    client = Client()
    participant = _to_picks(client, study)
    shown = client.get(f"/s/{study.slug}/wise-values/")
    assert shown.status_code == 200
    participant.refresh_from_db()
    picks = list(participant.wise_value_ids or [])[:2]
    client.post(f"/s/{study.slug}/wise-values/", {"value": picks})
    page = client.get(f"/s/{study.slug}/stories/")
    assert "Story 1 of 3" in page.content.decode()
    participant.refresh_from_db()
    drawn: list[int] = list(participant.upgrade_hypothesis_ids or [])
    other = UpgradeHypothesis.objects.filter(study=study).exclude(pk__in=drawn).first()
    assert other is not None
    refused = client.post(
        f"/s/{study.slug}/stories/",
        {"hypothesis": other.pk, "choice": "upgrade", "reason": "sneaky"},
    )
    assert refused.status_code == 400
    assert "That story was not shown to you." in refused.content.decode()
    assert not UpgradeVote.objects.filter(participant=participant).exists()
    # The form still works: each drawn story is accepted in turn, then the survey follows.
    for position, hypothesis_id in enumerate(drawn, start=1):
        screen = client.get(f"/s/{study.slug}/stories/").content.decode()
        assert f"Story {position} of 3" in screen
        accepted = client.post(
            f"/s/{study.slug}/stories/", {"hypothesis": hypothesis_id, "choice": "not_sure"}
        )
        assert accepted["Location"] == f"/s/{study.slug}/stories/"
    votes = UpgradeVote.objects.filter(participant=participant).order_by("id")
    assert [vote.hypothesis_id for vote in votes] == drawn
    assert client.get(f"/s/{study.slug}/stories/")["Location"] == f"/s/{study.slug}/survey/"
    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.SURVEY


def test_picks_need_two_and_fewer_values_are_explained() -> None:
    study = make_study()
    client = Client()
    participant = _to_picks(client, study)
    page = client.get(f"/s/{study.slug}/wise-values/").content.decode()
    assert "No one else has written a value for this question yet" in page
    assert client.post(f"/s/{study.slug}/wise-values/")["Location"] == f"/s/{study.slug}/stories/"
    stories = client.get(f"/s/{study.slug}/stories/").content.decode()
    assert "not enough stories" in stories
    assert client.post(f"/s/{study.slug}/stories/", {"continue": "1"}).status_code == 302
    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.SURVEY

    demo = demo_study_seed()
    other = Client()
    _to_picks(other, demo)
    too_few = other.post(f"/s/{demo.slug}/wise-values/", {"value": []})
    assert too_few.status_code == 400
    assert "at least 2 values" in too_few.content.decode()


def test_a_study_sets_how_many_values_are_shown_and_picked() -> None:
    demo = demo_study_seed()
    demo.wise_values_shown, demo.wise_values_required = 3, 1
    demo.save(update_fields=["wise_values_shown", "wise_values_required"])
    client = Client()
    participant = _to_picks(client, demo)
    page = client.get(f"/s/{demo.slug}/wise-values/").content.decode()
    participant.refresh_from_db()
    shown = list(participant.wise_value_ids or [])
    # The demo has four values for this question: three are shown, none hidden by a notice.
    assert len(shown) == 3
    assert page.count('name="value"') == 3
    assert "at least 1." in page
    assert "fewer than" not in page
    too_few = client.post(f"/s/{demo.slug}/wise-values/", {"value": []})
    assert too_few.status_code == 400
    assert "Please pick at least 1 value that you find wise." in too_few.content.decode()
    one = client.post(f"/s/{demo.slug}/wise-values/", {"value": shown[:1]})
    assert one["Location"] == f"/s/{demo.slug}/stories/"
    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.VOTES

    # Asked for more than there are, the next participant sees those there are, told why.
    demo.wise_values_shown = 5
    demo.save(update_fields=["wise_values_shown"])
    other = Client()
    _to_picks(other, demo)
    short = other.get(f"/s/{demo.slug}/wise-values/").content.decode()
    available = short.count('name="value"')
    assert 1 < available < 5
    assert f"Only {available} values from other people are available" in short
    assert "so you see fewer than five." in short


def test_the_survey_needs_every_answer() -> None:
    study = make_study()
    client = Client()
    _enter(client, study)
    participant = _participant(client)
    Participant.objects.filter(pk=participant.pk).update(stage=Participant.Stage.SURVEY)
    partial = client.post(f"/s/{study.slug}/survey/", {"felt_represented": "5"})
    assert partial.status_code == 400
    assert "Please answer every statement" in partial.content.decode()
    assert not SurveyResponse.objects.filter(participant=participant).exists()


def test_leaving_without_a_card_only_at_the_limit() -> None:
    study = make_study(max_turns=1)
    question = make_question(study)
    client = Client()
    _enter(client, study)
    interview_url = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})[
        "Location"
    ]
    assert client.post(f"{interview_url}leave/")["Location"] == interview_url
    participant = _participant(client)
    interview = participant.interviews.get()
    interview.turn_count = 1
    interview.save()
    assert client.post(f"{interview_url}leave/")["Location"] == f"/s/{study.slug}/survey/"
    interview.refresh_from_db()
    assert interview.status == interview.Status.ABANDONED
