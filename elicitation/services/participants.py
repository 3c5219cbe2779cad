"""Writes for entering a study: consent and the questions about the participant."""

from __future__ import annotations

import hashlib
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from elicitation.client_signals import keyed_hash
from elicitation.errors import ApplicationError
from elicitation.hygiene import text_require_clean
from elicitation.models import InviteCode, Participant, Study
from elicitation.services.dashboard import dashboard_notify


def hash_external_id(*, study: Study, external_id: str) -> str:
    return hashlib.sha256(f"{study.pk}:{external_id}".encode()).hexdigest()


def participant_study_require_open(participant: Participant) -> None:
    """Refuse any journey write while the participant's study is a draft or closed (a staff
    member's preview excepted: it walks a study in any state), and for a participant who has
    withdrawn or been erased (their session may still be open somewhere)."""
    if Participant.objects.filter(pk=participant.pk, withdrawn_at__isnull=False).exists():
        raise ApplicationError("withdrawn", _("This participation was withdrawn."))
    if participant.is_preview:
        return
    if not Study.objects.filter(pk=participant.study_id, status=Study.Status.OPEN).exists():
        raise ApplicationError("study_closed", _("This study is not open for participation."))


def participant_stage_require(participant: Participant, *stages: str) -> None:
    """Refuse a step the participant is not at, or any step while the study is not open:
    every journey write checks this first, so a second tab or a replayed form can neither
    skip a step nor go back to one, and nothing is written to a closed study."""
    participant_study_require_open(participant)
    if participant.stage not in stages:
        raise ApplicationError(
            "wrong_step", _("That step is not open to you now; continue where you left off.")
        )


def _unused_invite_code(*, study: Study, invite_code: str) -> InviteCode:
    """The study's invite code (any case), locked until the participant who uses it exists."""
    code = (
        InviteCode.objects.select_for_update()
        .filter(study=study, code__iexact=invite_code.strip())
        .first()
        if invite_code.strip()
        else None
    )
    if code is None:
        raise ApplicationError("invite_invalid", _("That invite code is not valid for this study."))
    if code.used_at is not None:
        raise ApplicationError("invite_used", _("That invite code has already been used."))
    return code


@transaction.atomic
def participant_consent(
    *,
    study: Study,
    external_id: str = "",
    invite_code: str = "",
    panel_study_id: str = "",
    panel_session_id: str = "",
    browser_hash: str = "",
    network_hash: str = "",
) -> Participant:
    """A participant agrees to the study's consent text and enters it: by the link, with an
    unused invite code, or once per panel id, as the study's participation mode says. The
    panel's study and session ids are kept as given; its participant id only hashed."""
    text_require_clean(external_id, invite_code, panel_study_id, panel_session_id)
    study = Study.objects.select_for_update().get(pk=study.pk)  # serialises the quota
    if not study.is_open:
        raise ApplicationError("study_closed", _("This study is not open for participation."))
    taken = study.participants.filter(is_preview=False).count()
    if study.quota is not None and taken >= study.quota:
        raise ApplicationError(
            "study_full", _("This study has reached its number of participants.")
        )
    mode = study.participation_mode
    external_id = external_id.strip()
    code: InviteCode | None = None
    if mode == Study.ParticipationMode.PANEL and not external_id:
        raise ApplicationError(
            "panel_id_missing",
            _(
                "This study is entered from the link your panel gave you; that link carries "
                "your participant id. Please open it again from the panel."
            ),
        )
    if mode == Study.ParticipationMode.INVITE_CODES:
        code = _unused_invite_code(study=study, invite_code=invite_code)
    external_hash = (
        hash_external_id(study=study, external_id=external_id)
        if external_id and mode == Study.ParticipationMode.PANEL
        else ""
    )
    if (
        external_hash
        and Participant.objects.filter(study=study, external_id_hash=external_hash).exists()
    ):
        raise ApplicationError("already_entered", _("This panel id has already taken part."))
    participant = Participant.objects.create(
        study=study,
        external_id_hash=external_hash,
        consented_at=timezone.now(),
        consent_version=study.consent_version,
        panel_study_id=panel_study_id.strip()[:120] if external_hash else "",
        panel_session_id=panel_session_id.strip()[:120] if external_hash else "",
        # Manipulation signals (elicitation.client_signals): keyed hashes, never raw values.
        browser_hash=browser_hash[:64],
        network_hash=network_hash[:64],
    )
    if code is not None:
        code.used_at = timezone.now()
        code.participant = participant
        code.save(update_fields=["used_at", "participant"])
    dashboard_notify(study_id=study.pk)
    return participant


# Resume codes: eight characters without 0/O or 1/I (read aloud or copied by hand), shown as
# two groups of four. 32**8 codes, and guesses are rate-limited (`ratelimits`, "resumes").
RESUME_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RESUME_CODE_LENGTH = 8


def resume_code_normalise(code: str) -> str:
    """The code as stored: upper case, without spaces, dashes or anything else typed around it."""
    return "".join(ch for ch in code.upper() if ch in RESUME_CODE_ALPHABET)[:RESUME_CODE_LENGTH]


def resume_code_hash(*, study_id: int, code: str) -> str:
    """The keyed hash a resume code is stored and looked up under (never the code itself)."""
    return keyed_hash(f"resume-code:{study_id}", resume_code_normalise(code))


def participant_resume_code_issue(*, participant: Participant) -> str:
    """A new resume code for the participant, as shown ("ABCD-EFGH"); only its hash is kept,
    so it replaces any code issued before. Not for a preview or a withdrawn participation."""
    if participant.is_preview or participant.withdrawn_at is not None:
        raise ApplicationError("no_resume_code", _("This participation has no resume code."))
    for _attempt in range(5):
        code = "".join(secrets.choice(RESUME_CODE_ALPHABET) for _i in range(RESUME_CODE_LENGTH))
        try:
            with transaction.atomic():
                Participant.objects.filter(pk=participant.pk).update(
                    resume_code_hash=resume_code_hash(study_id=participant.study_id, code=code)
                )
        except IntegrityError:  # the same code in this study: draw again
            continue
        return f"{code[:4]}-{code[4:]}"
    raise RuntimeError("could not draw a unique resume code")
