"""Writes for the legitimacy checks on the finish page: "is this a fair position for your
value?" and "is this the same value as yours?" (the reference study's graphPositionVerification
and deduplicationVerification). One answer per participant and value: answering again updates
it, so a double submit stores one row."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from elicitation import selectors
from elicitation.errors import ApplicationError
from elicitation.hygiene import text_require_clean
from elicitation.models import DedupVerification, Participant, PositionVerification
from elicitation.services.participants import participant_stage_require

MAX_POSITION_COMMENT_CHARS = 2000


def _finished_participant(participant: Participant) -> Participant:
    """The participant's row, locked (their answers are written one at a time), once they
    have finished the journey."""
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    participant_stage_require(locked, Participant.Stage.FINISHED)
    return locked


@transaction.atomic
def position_verify(
    *, participant: Participant, is_fair: bool, comment: str = ""
) -> PositionVerification:
    """Record whether the participant finds their value's position in the graph fair."""
    text_require_clean(comment)
    participant = _finished_participant(participant)
    card = selectors.participant_card(participant=participant)
    if card is None or card.value_id is None:
        raise ApplicationError(
            "no_value",
            gettext("Your value is not in the graph yet, so there is no position to judge."),
        )
    verification, _ = PositionVerification.objects.update_or_create(
        participant=participant,
        value_id=card.value_id,
        defaults={"is_fair": is_fair, "comment": comment.strip()[:MAX_POSITION_COMMENT_CHARS]},
    )
    return verification


@transaction.atomic
def dedup_verify(*, participant: Participant, option: str) -> DedupVerification:
    """Record whether the value the participant's card was merged into is the same value."""
    if option not in DedupVerification.Option.values:
        raise ApplicationError(
            "bad_option", gettext("Please choose “the same” or “a different” value.")
        )
    participant = _finished_participant(participant)
    check = selectors.dedup_check(participant=participant)
    if check is None:
        raise ApplicationError(
            "no_dedup_check",
            gettext("Your card was not combined with another value: nothing to check."),
        )
    verification, _ = DedupVerification.objects.update_or_create(
        participant=participant,
        card_id=check.card_id,
        value_id=check.value.id,
        defaults={"option": option},
    )
    return verification
