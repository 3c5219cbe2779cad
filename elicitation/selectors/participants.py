"""Reads of participants: this browser's participant, where they belong now, their card, and
the invite codes they entered with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F
from django.urls import reverse

from elicitation.models import Interview, InviteCode, Participant, Study, ValuesCard


def participant_for_session(*, study: Study, participant_ids: list[int]) -> Participant | None:
    """This browser session's participant in the study, if it has entered it (and has not
    withdrawn since: a withdrawn participation is over in every browser)."""
    return (
        Participant.objects.select_related("study")
        .filter(pk__in=participant_ids, study=study, withdrawn_at__isnull=True)
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


def invite_code_is_burned(code: InviteCode) -> bool:
    """Used, but its participant never got past consent (or is gone): freeing it loses
    nothing, so staff need not confirm."""
    if code.used_at is None:
        return False
    participant = code.participant
    return participant is None or (
        participant.stage == Participant.Stage.CONSENTED and not participant.interviews.exists()
    )


@dataclass(frozen=True)
class InviteRow:
    id: int
    code: str
    used_at: datetime | None
    participant_public_id: str
    participant_stage: str
    is_burned: bool


def invite_code_rows(*, study: Study) -> list[InviteRow]:
    """The study's invite codes, unused first, each with who used it and when."""
    codes = (
        InviteCode.objects.filter(study=study)
        .select_related("participant")
        .order_by(F("used_at").desc(nulls_first=True), "code")
    )
    return [
        InviteRow(
            id=code.pk,
            code=code.code,
            used_at=code.used_at,
            participant_public_id=str(code.participant.public_id) if code.participant else "",
            participant_stage=code.participant.get_stage_display() if code.participant else "",
            is_burned=invite_code_is_burned(code),
        )
        for code in codes
    ]


def participant_for_resume_code(*, study: Study, code_hash: str) -> Participant | None:
    """The study's participation whose resume code has this hash (`services.resume_code_hash`),
    unless it was withdrawn or is a staff preview."""
    if not code_hash:
        return None
    return (
        Participant.objects.select_related("study")
        .filter(
            study=study, resume_code_hash=code_hash, withdrawn_at__isnull=True, is_preview=False
        )
        .first()
    )
