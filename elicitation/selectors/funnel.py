"""The study's funnel: how many participants reached each step of the journey. One definition
for the report (`manage.py study_report`), the staff report page and the live dashboard.

A participant counts at every step they reached; preview walks never count. Withdrawn
participants keep their row (with nothing they wrote), so they still count at the steps they
reached and are also counted under `withdrawn`.
"""

from __future__ import annotations

from django.db.models import Count, Q

from elicitation.models import Participant

FUNNEL_STAGES: tuple[str, ...] = (
    "entered",
    "consented",
    "card_confirmed",
    "picks",
    "votes",
    "survey",
    "finished",
    "withdrawn",
)

FUNNEL_LABELS: dict[str, str] = {
    "entered": "Entered",
    "consented": "Consented",
    "card_confirmed": "Card confirmed",
    "picks": "Picked wise values",
    "votes": "Judged stories",
    "survey": "Answered the survey",
    "finished": "Finished",
    "withdrawn": "Withdrawn",
}

_Stage = Participant.Stage
# Stages from which the step's work is done (the journey only moves forward).
_AFTER_INTERVIEW = (_Stage.PICKS, _Stage.VOTES, _Stage.SURVEY, _Stage.FINISHED)
_AFTER_PICKS = (_Stage.VOTES, _Stage.SURVEY, _Stage.FINISHED)
_AFTER_VOTES = (_Stage.SURVEY, _Stage.FINISHED)


def study_funnel(*, study_id: int) -> dict[str, int]:
    """{stage: participants} in FUNNEL_STAGES order, for real (non-preview) participants."""
    counts = Participant.objects.filter(study_id=study_id, is_preview=False).aggregate(
        entered=Count("pk", distinct=True),
        consented=Count("pk", filter=Q(consented_at__isnull=False), distinct=True),
        # A card, or (withdrawn, their card erased) a journey that went past the interview.
        card_confirmed=Count(
            "pk",
            filter=Q(cards__isnull=False)
            | Q(withdrawn_at__isnull=False, stage__in=_AFTER_INTERVIEW),
            distinct=True,
        ),
        picks=Count("pk", filter=Q(stage__in=_AFTER_PICKS), distinct=True),
        votes=Count("pk", filter=Q(stage__in=_AFTER_VOTES), distinct=True),
        survey=Count(
            "pk",
            filter=Q(survey_responses__isnull=False) | Q(stage=_Stage.FINISHED),
            distinct=True,
        ),
        finished=Count("pk", filter=Q(finished_at__isnull=False), distinct=True),
        withdrawn=Count("pk", filter=Q(withdrawn_at__isnull=False), distinct=True),
    )
    return {stage: int(counts[stage] or 0) for stage in FUNNEL_STAGES}
