"""Reads of participants: this browser's participant, where they belong now, their card."""

from __future__ import annotations

from django.urls import reverse

from elicitation.models import Interview, Participant, Study, ValuesCard


def participant_for_session(*, study: Study, participant_ids: list[int]) -> Participant | None:
    """This browser session's participant in the study, if it has entered it."""
    return (
        Participant.objects.select_related("study")
        .filter(pk__in=participant_ids, study=study)
        .order_by("-pk")
        .first()
    )


def participant_active_interview(*, participant: Participant) -> Interview | None:
    return participant.interviews.filter(status=Interview.Status.ACTIVE).order_by("-pk").first()


def journey_url(*, participant: Participant) -> str:
    """Where the participant belongs now: every journey page sends people elsewhere here."""
    stage = participant.stage
    slug = participant.study.slug
    Stage = Participant.Stage
    if stage == Stage.CONSENTED and participant.study.demographic_questions:
        return reverse("elicitation:demographics", kwargs={"slug": slug})
    if stage in (Stage.CONSENTED, Stage.DEMOGRAPHICS):
        return reverse("elicitation:question_choose", kwargs={"slug": slug})
    if stage == Stage.INTERVIEW:
        interview = participant_active_interview(participant=participant)
        if interview is None:
            return reverse("elicitation:question_choose", kwargs={"slug": slug})
        return reverse("elicitation:interview", kwargs={"interview_id": interview.pk})
    names = {
        Stage.PICKS: "elicitation:wise_values",
        Stage.VOTES: "elicitation:upgrade_votes",
        Stage.SURVEY: "elicitation:survey",
        Stage.FINISHED: "elicitation:finish",
    }
    return reverse(names[Stage(stage)], kwargs={"slug": slug})


def participant_card(*, participant: Participant) -> ValuesCard | None:
    return participant.cards.order_by("-submitted_at").first()
