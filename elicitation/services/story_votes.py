"""The vote path: one participant's judgement of one upgrade story, as the story page's script
sends it (`POST /s/<slug>/stories/vote`).

It does what `journey.upgrade_vote_submit` does for the plain form, in as few statements as
the checks allow, because every participant of a study casts several of these in a row:
the participant's row (with their study's status) read and locked in one query, the vote
written in one statement by the graph's `upgrade_vote_record` (which reads the story's pair
and context itself), one count of the stories judged, and the move to the survey after the
last. The live graph's rebuild is requested after commit and coalesced across votes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from elicitation.errors import ApplicationError
from elicitation.hygiene import text_require_clean
from elicitation.models import Participant, Study
from elicitation.services.dashboard import dashboard_notify
from moralgraph import selectors as graph_selectors
from moralgraph import services as graph_services

MAX_REASON_CHARS = 4000


@dataclass(frozen=True)
class StoryVoteOutcome:
    vote_id: int
    participant_id: int
    judged: int  # stories judged so far, this one included
    total: int  # stories drawn for the participant

    @property
    def done(self) -> bool:
        return self.judged >= self.total


class StoryVoteRefused(ApplicationError):
    """A vote refused because of where the participant is, not what they sent: the page
    should send them on (`participant_id` names whom, when known)."""

    def __init__(self, code: str, message: str, participant_id: int | None = None) -> None:
        super().__init__(code, message)
        self.participant_id = participant_id


# The session's participant in the study, with what the checks need, locked until commit (a
# withdrawal or an erasure waits for the vote, or the vote for it). In SQL rather than the ORM:
# this runs for every vote, and building the ORM's query cost more than running it.
_PARTICIPANT_SQL = """
SELECT p.id, p.study_id, p.stage, p.upgrade_hypothesis_ids, p.is_preview, s.status = %(open)s
FROM {participant} p JOIN {study} s ON s.id = p.study_id
WHERE p.id = ANY(%(ids)s) AND s.slug = %(slug)s
ORDER BY p.id DESC
LIMIT 1
FOR NO KEY UPDATE OF p
"""


def _participant_locked(slug: str, participant_ids: list[int]) -> tuple[Any, ...] | None:
    if not participant_ids:
        return None
    if connection.vendor != "postgresql":
        return (
            Participant.objects.select_for_update()
            .filter(pk__in=participant_ids, study__slug=slug)
            .order_by("-pk")
            .values_list("pk", "study_id", "stage", "upgrade_hypothesis_ids", "is_preview")
            .annotate(is_open=Q(study__status=Study.Status.OPEN))
            .first()
        )
    sql = _PARTICIPANT_SQL.format(
        participant=Participant._meta.db_table, study=Study._meta.db_table
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": participant_ids, "slug": slug, "open": Study.Status.OPEN})
        row = cursor.fetchone()
    if row is None:
        return None
    drawn = row[3]
    if isinstance(drawn, str):  # a JSON column read without the ORM's decoder
        drawn = json.loads(drawn)
    return (*row[:3], drawn, *row[4:])


@transaction.atomic
def story_vote_cast(
    *,
    study_slug: str,
    participant_ids: list[int],
    hypothesis_id: int,
    choice: str,
    reason: str = "",
) -> StoryVoteOutcome:
    """Record the session's participant's judgement of a story drawn for them. Refused: no
    participant of this study in the session, a study not open (unless previewing), a
    participant not at the stories step, a story not drawn for them, an unknown choice,
    control characters in the reason. Judging the same story again changes the judgement."""
    if choice not in graph_selectors.VOTE_CHOICES:
        raise ApplicationError("bad_choice", _("Please choose Yes, No or Not sure."))
    if len(reason) > MAX_REASON_CHARS:
        raise ApplicationError(
            "reason_too_long",
            _("Please keep the reason under %(count)d characters.") % {"count": MAX_REASON_CHARS},
        )
    text_require_clean(reason)
    row = _participant_locked(study_slug, participant_ids)
    if row is None:
        raise StoryVoteRefused("not_entered", _("Please start the study first."))
    participant_id, study_id, stage, drawn_ids, is_preview, is_open = row
    if not (is_open or is_preview):
        raise StoryVoteRefused("study_closed", _("This study is not open."), participant_id)
    if stage != Participant.Stage.VOTES:
        raise StoryVoteRefused(
            "wrong_step", _("This step is over; the page will take you on."), participant_id
        )
    drawn = [int(i) for i in drawn_ids or []]
    if hypothesis_id not in drawn:
        raise ApplicationError("not_drawn", _("That story was not shown to you."))
    recorded = graph_services.upgrade_vote_record(
        participant_id=participant_id,
        study_id=study_id,
        hypothesis_id=hypothesis_id,
        choice=choice,
        reason=reason,
        among=drawn,
    )
    if recorded is None:
        raise ApplicationError("not_drawn", _("That story was not shown to you."))
    judged = recorded.judged
    if judged >= len(drawn):
        Participant.objects.filter(pk=participant_id, stage=Participant.Stage.VOTES).update(
            stage=Participant.Stage.SURVEY
        )
        dashboard_notify(study_id=study_id, is_preview=is_preview)
    return StoryVoteOutcome(
        vote_id=recorded.vote_id, participant_id=participant_id, judged=judged, total=len(drawn)
    )
