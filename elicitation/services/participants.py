"""Writes for entering a study: consent and the questions about the participant."""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils import timezone

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
        raise ApplicationError("withdrawn", "This participation was withdrawn.")
    if participant.is_preview:
        return
    if not Study.objects.filter(pk=participant.study_id, status=Study.Status.OPEN).exists():
        raise ApplicationError("study_closed", "This study is not open for participation.")


def participant_stage_require(participant: Participant, *stages: str) -> None:
    """Refuse a step the participant is not at, or any step while the study is not open:
    every journey write checks this first, so a second tab or a replayed form can neither
    skip a step nor go back to one, and nothing is written to a closed study."""
    participant_study_require_open(participant)
    if participant.stage not in stages:
        raise ApplicationError(
            "wrong_step", "That step is not open to you now; continue where you left off."
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
        raise ApplicationError("invite_invalid", "That invite code is not valid for this study.")
    if code.used_at is not None:
        raise ApplicationError("invite_used", "That invite code has already been used.")
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
        raise ApplicationError("study_closed", "This study is not open for participation.")
    taken = study.participants.filter(is_preview=False).count()
    if study.quota is not None and taken >= study.quota:
        raise ApplicationError("study_full", "This study has reached its number of participants.")
    mode = study.participation_mode
    external_id = external_id.strip()
    code: InviteCode | None = None
    if mode == Study.ParticipationMode.PANEL and not external_id:
        raise ApplicationError(
            "panel_id_missing",
            "This study is entered from the link your panel gave you; that link carries your "
            "participant id. Please open it again from the panel.",
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
        raise ApplicationError("already_entered", "This panel id has already taken part.")
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
