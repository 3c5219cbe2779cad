"""Writes for the steps after the card: which values are wise, upgrade stories, the survey."""

from __future__ import annotations

import random
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from elicitation import selectors
from elicitation.errors import ApplicationError
from elicitation.hygiene import text_require_clean
from elicitation.models import Participant, Study, SurveyResponse
from elicitation.schemas import MAX_SURVEY_COMMENT_CHARS, SURVEY_COMMENT_KEY, SURVEY_ITEMS
from elicitation.services.dashboard import dashboard_notify
from elicitation.services.participants import participant_stage_require
from moralgraph import selectors as graph_selectors
from moralgraph import services as graph_services

# The defaults of a study's `wise_values_shown` and `wise_values_required`; each study sets
# its own on the staff study page.
WISE_VALUES_SHOWN = 6
WISE_VALUES_REQUIRED = 2


@transaction.atomic
def wise_values_draw(*, participant: Participant) -> list[int]:
    """The values shown to the participant in "which of these are wise?", drawn once (up to
    the study's `wise_values_shown`, seeded by the participant) and recorded as impressions."""
    participant = (
        Participant.objects.select_for_update().select_related("study").get(pk=participant.pk)
    )
    participant_stage_require(participant, Participant.Stage.PICKS)
    if participant.wise_value_ids is not None:
        return list(participant.wise_value_ids)
    candidates = selectors.wise_value_candidates(participant=participant)
    random.Random(str(participant.public_id)).shuffle(candidates)
    shown = candidates[: participant.study.wise_values_shown]
    participant.wise_value_ids = shown
    participant.save(update_fields=["wise_value_ids"])
    if shown:
        card = selectors.participant_card(participant=participant)
        graph_services.selection_record(
            participant_id=participant.pk,
            draw_id=_wise_draw_id(participant),
            shown_value_ids=shown,
            picked_value_ids=[],
            question_id=card.question_id if card else None,
        )
    return shown


def _wise_draw_id(participant: Participant) -> str:
    return f"wise:{participant.public_id}"


def wise_values_required(*, study: Study, shown: int) -> int:
    """How many of the `shown` values the participant must pick: the study's number, or all
    of them when fewer were shown."""
    return min(study.wise_values_required, shown)


@transaction.atomic
def wise_values_pick(*, participant: Participant, picked_value_ids: list[int]) -> Participant:
    participant = (
        Participant.objects.select_for_update().select_related("study").get(pk=participant.pk)
    )
    participant_stage_require(participant, Participant.Stage.PICKS)
    if participant.wise_value_ids is None:
        raise ApplicationError("not_drawn", _("Please look at the values first."))
    shown = list(participant.wise_value_ids)
    picked = list(dict.fromkeys(picked_value_ids))
    if not set(picked) <= set(shown):
        raise ApplicationError("not_shown", _("You can only pick values that were shown to you."))
    required = wise_values_required(study=participant.study, shown=len(shown))
    if len(picked) < required:
        raise ApplicationError(
            "too_few_picks",
            ngettext(
                "Please pick at least %(count)d value that you find wise.",
                "Please pick at least %(count)d values that you find wise.",
                required,
            )
            % {"count": required},
        )
    if shown:
        card = selectors.participant_card(participant=participant)
        try:
            graph_services.selection_record(
                participant_id=participant.pk,
                draw_id=_wise_draw_id(participant),
                shown_value_ids=shown,
                picked_value_ids=picked,
                question_id=card.question_id if card else None,
            )
        except graph_services.MoralGraphError as exc:
            raise ApplicationError(exc.code, exc.message) from exc
    participant.stage = Participant.Stage.VOTES
    participant.save(update_fields=["stage"])
    dashboard_notify(study_id=participant.study_id, is_preview=participant.is_preview)
    return participant


@transaction.atomic
def upgrade_hypotheses_assign(*, participant: Participant) -> Participant:
    """Draw, once, the upgrade stories the participant judges (`study.upgrade_votes` of them
    from the graph engine, fewer when fewer exist). Returns the participant as stored, their
    drawn stories in `upgrade_hypothesis_ids`."""
    participant = (
        Participant.objects.select_for_update().select_related("study").get(pk=participant.pk)
    )
    participant_stage_require(participant, Participant.Stage.VOTES)
    if participant.upgrade_hypothesis_ids is not None:
        return participant
    drawn = graph_selectors.hypotheses_draw(
        participant_id=participant.pk,
        study_id=participant.study_id,
        count=participant.study.upgrade_votes,
    )
    participant.upgrade_hypothesis_ids = [h.id for h in drawn]
    participant.save(update_fields=["upgrade_hypothesis_ids"])
    return participant


@transaction.atomic
def upgrade_vote_submit(
    *, participant: Participant, hypothesis_id: int, choice: str, reason: str = ""
) -> int:
    """The participant's judgement of one story drawn for them; a story never drawn for
    them is refused. After the last one they go on to the survey. Returns the vote's id."""
    text_require_clean(reason)
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    participant_stage_require(participant, Participant.Stage.VOTES)
    drawn = list(participant.upgrade_hypothesis_ids or [])
    if hypothesis_id not in drawn:
        raise ApplicationError("not_drawn", _("That story was not shown to you."))
    if choice not in graph_selectors.VOTE_CHOICES:
        raise ApplicationError("bad_choice", _("Please choose Yes, No or Not sure."))
    story = graph_selectors.story_screen(study_id=participant.study_id, hypothesis_id=hypothesis_id)
    if story is None:
        raise ApplicationError("not_drawn", _("That story was not shown to you."))
    try:
        vote_id = graph_services.upgrade_vote_cast(
            participant_id=participant.pk,
            from_value_id=story.from_value.id,
            to_value_id=story.to_value.id,
            context_id=story.context_id,
            choice=choice,
            reason=reason,
            hypothesis_id=story.hypothesis_id,
        )
    except graph_services.MoralGraphError as exc:
        raise ApplicationError(exc.code, exc.message) from exc
    if selectors.upgrade_screen_next(participant=participant) is None:
        participant.stage = Participant.Stage.SURVEY
        participant.save(update_fields=["stage"])
        dashboard_notify(study_id=participant.study_id, is_preview=participant.is_preview)
    return vote_id


@transaction.atomic
def upgrade_votes_continue(*, participant: Participant) -> Participant:
    """Go on when there was nothing (left) to judge."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    participant_stage_require(participant, Participant.Stage.VOTES)
    if participant.upgrade_hypothesis_ids is None:
        raise ApplicationError("not_drawn", _("Please look at the stories first."))
    if selectors.upgrade_screen_next(participant=participant) is not None:
        raise ApplicationError("votes_pending", _("Please judge the remaining stories first."))
    participant.stage = Participant.Stage.SURVEY
    participant.save(update_fields=["stage"])
    dashboard_notify(study_id=participant.study_id, is_preview=participant.is_preview)
    return participant


@transaction.atomic
def survey_submit(
    *, participant: Participant, answers: dict[str, int], comment: str = ""
) -> Participant:
    """The five 1–5 items (all required) and an optional comment; the journey ends here,
    with a completion code for panels."""
    text_require_clean(comment)
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    participant_stage_require(participant, Participant.Stage.SURVEY)
    for item in SURVEY_ITEMS:
        answer = answers.get(item.key)
        if answer is None or not 1 <= answer <= 5:
            raise ApplicationError(
                "answer_required", _("Please answer every statement, from 1 to 5.")
            )
    for item in SURVEY_ITEMS:
        SurveyResponse.objects.update_or_create(
            participant=participant, item=item.key, defaults={"answer": answers[item.key]}
        )
    comment = comment.strip()[:MAX_SURVEY_COMMENT_CHARS]
    if comment:
        SurveyResponse.objects.update_or_create(
            participant=participant, item=SURVEY_COMMENT_KEY, defaults={"text": comment}
        )
    participant.stage = Participant.Stage.FINISHED
    participant.finished_at = timezone.now()
    participant.completion_code = participant.completion_code or secrets.token_hex(4).upper()
    participant.save(update_fields=["stage", "finished_at", "completion_code"])
    dashboard_notify(study_id=participant.study_id, is_preview=participant.is_preview)
    return participant
