"""Withdrawal and erasure: a participant withdraws (finish page, or later with the code shown
there), or staff erase them on request; what they wrote follows them out of the graph."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone

from elicitation.errors import ApplicationError
from elicitation.models import (
    DedupVerification,
    Interview,
    InviteCode,
    ModerationAction,
    Participant,
    PositionVerification,
    SurveyResponse,
    ValuesCard,
)
from elicitation.selectors.withdrawal import withdrawal_code_normalise
from elicitation.services.dashboard import dashboard_notify
from moralgraph import services as graph_services
from moralgraph.services import GraphErasure

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or copied by hand


def _new_code() -> str:
    return "W-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def participant_withdrawal_code(*, participant: Participant) -> str:
    """The participant's withdrawal code, made the first time it is asked for."""
    if participant.withdrawal_code:
        return participant.withdrawal_code
    for _ in range(5):
        code = _new_code()
        try:
            with transaction.atomic():
                updated = Participant.objects.filter(pk=participant.pk, withdrawal_code="").update(
                    withdrawal_code=code
                )
        except IntegrityError:  # the same code in this study: draw again
            continue
        if not updated:  # another request made it first
            participant.refresh_from_db(fields=["withdrawal_code"])
            return participant.withdrawal_code
        participant.withdrawal_code = code
        return code
    raise RuntimeError("could not draw a unique withdrawal code")


@dataclass(frozen=True)
class WithdrawalOutcome:
    """`is_new`: False when the participant had already withdrawn or been erased (nothing
    more was done). `graph`: what leaving the graph removed, when something was."""

    participant_id: int
    is_new: bool
    graph: GraphErasure | None = None


UNKNOWN_CODE = "That withdrawal code does not match any participation in this study."


def participant_withdraw(*, study_id: int, code: str) -> WithdrawalOutcome:
    """The participant with this withdrawal code withdraws: everything they wrote is erased
    and their votes leave the graph. Idempotent; an unknown code raises `unknown_code`."""
    normalised = withdrawal_code_normalise(code)
    participant_id = (
        Participant.objects.filter(study_id=study_id, withdrawal_code=normalised)
        .exclude(withdrawal_code="")
        .values_list("pk", flat=True)
        .first()
    )
    if not normalised or participant_id is None:
        raise ApplicationError("unknown_code", UNKNOWN_CODE)
    return _erase(
        study_id=study_id,
        participant_id=participant_id,
        action=ModerationAction.Action.WITHDRAWN,
        actor_id=None,
        reason="",
    )


def participant_erase(
    *, study_id: int, participant_id: int, actor_id: int | None, reason: str
) -> WithdrawalOutcome:
    """Staff erase a participant on request (found by their withdrawal code or public id):
    the same erasure as a withdrawal, logged with who and why."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError("reason_required", "Say why: the request this erasure answers.")
    if not Participant.objects.filter(pk=participant_id, study_id=study_id).exists():
        raise ApplicationError("unknown_participant", "No such participant in this study.")
    return _erase(
        study_id=study_id,
        participant_id=participant_id,
        action=ModerationAction.Action.ERASED,
        actor_id=actor_id,
        reason=reason[:2000],
    )


@dataclass(frozen=True)
class _Plan:
    card_ids: list[int]
    value_ids: list[int]
    since: datetime | None


def _plan(participant_id: int) -> _Plan:
    """Which of the graph's rows are theirs alone: the values no one else's card supports,
    and when they first contributed (snapshots from then on may have counted them)."""
    cards = ValuesCard.objects.filter(participant_id=participant_id)
    card_ids = sorted(cards.values_list("pk", flat=True))
    mine = set(cards.filter(value__isnull=False).values_list("value_id", flat=True))
    shared = set(
        ValuesCard.objects.filter(value_id__in=mine)
        .exclude(participant_id=participant_id)
        .values_list("value_id", flat=True)
    )
    since = cards.aggregate(first=Min("submitted_at"))["first"]
    return _Plan(card_ids=card_ids, value_ids=sorted(mine - shared), since=since)


@transaction.atomic
def _erase(
    *, study_id: int, participant_id: int, action: str, actor_id: int | None, reason: str
) -> WithdrawalOutcome:
    participant = Participant.objects.select_for_update().get(pk=participant_id)
    if participant.withdrawn_at is not None:
        return WithdrawalOutcome(participant_id=participant_id, is_new=False)
    plan = _plan(participant_id)  # under the lock: no new card of theirs can slip in
    graph = graph_services.participant_graph_erase(
        study_id=study_id,
        participant_id=participant_id,
        value_ids=plan.value_ids,
        since=plan.since,
        card_ids=plan.card_ids,
    )
    ValuesCard.objects.filter(participant_id=participant_id).delete()
    Interview.objects.filter(participant_id=participant_id).delete()  # messages, proposals
    SurveyResponse.objects.filter(participant_id=participant_id).delete()
    PositionVerification.objects.filter(participant_id=participant_id).delete()
    DedupVerification.objects.filter(participant_id=participant_id).delete()
    InviteCode.objects.filter(participant_id=participant_id).update(participant=None)
    now = timezone.now()
    Participant.objects.filter(pk=participant_id).update(
        withdrawn_at=now,
        demographics={},
        external_id_hash="",
        panel_study_id="",
        panel_session_id="",
        source_id="",
        browser_hash="",
        network_hash="",
        user=None,
        wise_value_ids=None,
        upgrade_hypothesis_ids=None,
    )
    ModerationAction.objects.create(
        study_id=study_id,
        participant_id=participant_id,
        action=action,
        actor_id=actor_id,
        reason=reason,
        snapshot_id=graph.live_snapshot_id,
    )
    dashboard_notify(study_id=study_id)
    return WithdrawalOutcome(participant_id=participant_id, is_new=True, graph=graph)
