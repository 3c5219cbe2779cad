"""Writes to a study's invite codes: made in bulk, and freed again when a failure burned one."""

from __future__ import annotations

import secrets

from django.db import transaction

from elicitation.errors import ApplicationError
from elicitation.models import InviteCode, Study
from elicitation.selectors.participants import invite_code_is_burned

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: codes are read aloud, copied from paper and typed on phones.
INVITE_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
INVITE_CODE_LENGTH = 8
MAX_INVITE_CODES_PER_BATCH = 1000


def _new_code() -> str:
    return "".join(secrets.choice(INVITE_CODE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


@transaction.atomic
def invite_codes_generate(*, study_id: int, count: int) -> list[InviteCode]:
    """`count` new codes for the study, unique within it (codes are matched in any case)."""
    if not 1 <= count <= MAX_INVITE_CODES_PER_BATCH:
        raise ApplicationError(
            "bad_count", f"Make between 1 and {MAX_INVITE_CODES_PER_BATCH} codes at a time."
        )
    study = Study.objects.select_for_update().get(pk=study_id)  # one batch at a time
    taken = {code.upper() for code in study.invite_codes.values_list("code", flat=True)}
    fresh: list[str] = []
    while len(fresh) < count:
        code = _new_code()
        if code not in taken:
            taken.add(code)
            fresh.append(code)
    return InviteCode.objects.bulk_create(InviteCode(study=study, code=code) for code in fresh)


@transaction.atomic
def invite_code_free(*, study_id: int, code_id: int, is_confirmed: bool = False) -> InviteCode:
    """Make a used code usable again. A code burned by a failure is freed, and the empty
    participant it made is removed so it counts against no quota; a code whose participant
    went further is only freed when staff confirm, and that participant's answers stay."""
    code = (
        InviteCode.objects.select_for_update(of=("self",))
        .select_related("participant")
        .filter(study_id=study_id, pk=code_id)
        .first()
    )
    if code is None:
        raise ApplicationError("invite_not_found", "No such invite code in this study.")
    if code.used_at is None:
        raise ApplicationError("invite_unused", f"The code {code.code} has not been used.")
    is_burned = invite_code_is_burned(code)
    if not is_burned and not is_confirmed:
        raise ApplicationError(
            "confirm_required",
            f"The participant who used {code.code} went past consent; confirm to free it.",
        )
    participant = code.participant
    code.used_at = None
    code.participant = None
    code.save(update_fields=["used_at", "participant"])
    if is_burned and participant is not None:
        participant.delete()
    return code
