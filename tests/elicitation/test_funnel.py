"""The study funnel: each participant counts at every step they reached, by what they left
behind; previews count nowhere, and a withdrawn participant (their words erased) still counts
at the steps they reached and under "withdrawn"."""

from __future__ import annotations

import pytest
from django.utils import timezone

from elicitation import selectors, services
from elicitation.models import Interview, Participant, ValuesCard
from tests.factories import make_admin, make_participant, make_question, make_study

pytestmark = pytest.mark.django_db

Stage = Participant.Stage


def _with_card(participant: Participant, stage: str) -> None:
    question = make_question(participant.study)
    interview = Interview.objects.create(
        participant=participant, question=question, backend="offline"
    )
    ValuesCard.objects.create(
        interview=interview,
        participant=participant,
        question=question,
        title="Honest care",
        description="d",
        policies=["A", "B", "C"],
        submitted_at=timezone.now(),
    )
    Participant.objects.filter(pk=participant.pk).update(stage=stage)


def test_each_step_counts_who_reached_it() -> None:
    study = make_study()
    make_participant(study)  # consented, went no further
    _with_card(make_participant(study), Stage.PICKS)
    _with_card(make_participant(study), Stage.SURVEY)
    finished = make_participant(study)
    _with_card(finished, Stage.FINISHED)
    Participant.objects.filter(pk=finished.pk).update(finished_at=timezone.now())
    # At the interview's limit without a card: on to the survey, but no card was confirmed.
    no_card = make_participant(study)
    Participant.objects.filter(pk=no_card.pk).update(stage=Stage.SURVEY)
    # Withdrawn after their picks: their card is gone, the steps they reached still count.
    gone = make_participant(study)
    Participant.objects.filter(pk=gone.pk).update(stage=Stage.VOTES, withdrawn_at=timezone.now())
    # A staff preview with everything counts nowhere.
    preview = services.participant_preview_start(study_id=study.pk, user_id=make_admin().pk)
    _with_card(preview, Stage.FINISHED)

    assert selectors.study_funnel(study_id=study.pk) == {
        "entered": 6,
        "consented": 6,
        "card_confirmed": 4,
        "picks": 4,
        "votes": 3,
        "survey": 1,
        "finished": 1,
        "withdrawn": 1,
    }
