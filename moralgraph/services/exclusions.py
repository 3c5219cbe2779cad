"""Leaving a participant's votes out of the graph (staff quarantined them as likely
manipulation), or counting them again. The votes stay stored either way; the live graph is
rebuilt, and the snapshot it had before is kept so the difference can be shown."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.models import GraphSnapshot, ParticipantExclusion
from moralgraph.selectors.snapshots import snapshot_live_get
from moralgraph.services.snapshots import snapshot_rebuild_request


@dataclass(frozen=True)
class ExclusionChange:
    """Whether anything changed, and the snapshot the graph was before the change (kept:
    None when the study had no snapshot yet)."""

    is_changed: bool
    snapshot_before_id: int | None


def live_snapshot_keep(*, study_id: int) -> int | None:
    """The study's live snapshot as it is now, kept from the live history's compaction: the
    rebuild deletes superseded live snapshots, so an unnamed, non-live copy of the same
    content is stored (once per content) and its id returned. A live graph that is already
    not a live row (built from the command line) is returned as it is."""
    live = snapshot_live_get(study_id=study_id)
    if live is None:
        return None
    if not live.is_live:
        return live.pk
    kept = GraphSnapshot.objects.filter(
        study_id=study_id, content_hash=live.content_hash, is_live=False, name=""
    ).first()
    if kept is not None:
        return kept.pk
    try:
        with transaction.atomic():
            copy = GraphSnapshot(
                study_id=study_id,
                parameters=live.parameters,
                filters=live.filters,
                document_zlib=b"",
                content_hash=live.content_hash,
                scoring_version=live.scoring_version,
                winners=live.winners,
                vote_count=live.vote_count,
                participant_count=live.participant_count,
                # When the graph was built, not when it was kept: history stays in order.
                created_at=live.created_at,
                is_live=False,
                name="",
            )
            copy.save()
            document = {**live.document, "snapshot_id": copy.pk}
            GraphSnapshot.objects.filter(pk=copy.pk).update(
                document_zlib=GraphSnapshot.pack(document)
            )
    except IntegrityError:
        # Kept by another request meanwhile.
        return (
            GraphSnapshot.objects.filter(
                study_id=study_id, content_hash=live.content_hash, is_live=False, name=""
            )
            .values_list("pk", flat=True)
            .get()
        )
    return copy.pk


@transaction.atomic
def participant_exclusion_set(
    *, study_id: int, participant_id: int, excluded: bool, reason: str = ""
) -> ExclusionChange:
    """Leave the participant's votes out of every snapshot built from now on (`excluded`), or
    count them again; the live graph is rebuilt after commit. Idempotent: setting what is
    already so changes nothing and requests no rebuild."""
    if studies.participant_study_id(participant_id=participant_id) != study_id:
        raise MoralGraphError("unknown_participant", "No such participant in this study.")
    current = (
        ParticipantExclusion.objects.select_for_update()
        .filter(participant_id=participant_id)
        .first()
    )
    if excluded == (current is not None):
        return ExclusionChange(is_changed=False, snapshot_before_id=None)
    before_id = live_snapshot_keep(study_id=study_id)
    if excluded:
        ParticipantExclusion.objects.create(
            study_id=study_id, participant_id=participant_id, reason=reason
        )
    else:
        ParticipantExclusion.objects.filter(participant_id=participant_id).delete()
    snapshot_rebuild_request(study_id=study_id)
    return ExclusionChange(is_changed=True, snapshot_before_id=before_id)
