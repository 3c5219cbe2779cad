"""Changing a story's judgement after the stories step: from the survey, a participant may go
back to the stories they judged and change their choice or reason before they finish.

Only a judgement already made can be changed: the same vote row is updated (its `updated_at`
moves), no second vote is ever written, and the live graph's rebuild is requested after
commit exactly as for a first vote. Once the participant has finished, or while the study is
not open, nothing can be changed.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from elicitation.errors import ApplicationError
from elicitation.hygiene import text_require_clean
from elicitation.models import Participant
from elicitation.services.participants import participant_stage_require
from elicitation.services.story_votes import MAX_REASON_CHARS
from moralgraph import selectors as graph_selectors
from moralgraph import services as graph_services
from moralgraph.selectors import StoryJudgement


@transaction.atomic
def upgrade_vote_revise(
    *, participant: Participant, hypothesis_id: int, choice: str, reason: str = ""
) -> StoryJudgement:
    """Change the participant's judgement of a story drawn for them that they judged. Refused
    (nothing stored): a participant not at the survey step (a finished one included), a
    study not open (unless previewing), a withdrawn participant, a story never drawn for
    them or not judged by them, an unknown choice, a reason too long or with control
    characters. Returns the judgement as now stored."""
    if choice not in graph_selectors.VOTE_CHOICES:
        raise ApplicationError("bad_choice", _("Please choose Yes, No or Not sure."))
    if len(reason) > MAX_REASON_CHARS:
        raise ApplicationError(
            "reason_too_long",
            _("Please keep the reason under %(count)d characters.") % {"count": MAX_REASON_CHARS},
        )
    text_require_clean(reason)
    # Locked until commit, as every vote path locks it: a withdrawal, an erasure or the
    # survey's submit waits for the change, or the change for them.
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    participant_stage_require(participant, Participant.Stage.SURVEY)
    drawn = [int(i) for i in participant.upgrade_hypothesis_ids or []]
    if hypothesis_id not in drawn:
        raise ApplicationError("not_drawn", _("That story was not shown to you."))
    judged = graph_selectors.hypotheses_judged(
        participant_id=participant.pk, hypothesis_ids=[hypothesis_id]
    )
    if hypothesis_id not in judged:
        raise ApplicationError(
            "not_judged", _("You have not judged that story, so there is nothing to change.")
        )
    recorded = graph_services.upgrade_vote_record(
        participant_id=participant.pk,
        study_id=participant.study_id,
        hypothesis_id=hypothesis_id,
        choice=choice,
        reason=reason,
        among=drawn,
    )
    if recorded is None or recorded.created:
        # The story left the study, or its vote was not where it was read: roll back rather
        # than store a second vote.
        raise ApplicationError("story_gone", _("That story can no longer be changed."))
    stored = graph_selectors.story_judgements(
        participant_id=participant.pk, hypothesis_ids=[hypothesis_id]
    )
    return stored[hypothesis_id]
