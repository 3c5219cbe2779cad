"""Withdrawal and erasure: a participant withdraws (finish page, or later with the code shown
there), or staff erase them on request; what they wrote follows them out of the graph."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction

from elicitation.models import Participant

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
