"""A withdrawn or erased participant leaves the graph: their votes and selections go, the
values only their cards supported go (with the stories and votes about them), and every
snapshot that counted them is marked superseded (snapshots themselves are immutable), so it
no longer serves their text and the inference outputs made from it can be listed as affected.
The live graph is then rebuilt, as after a vote. No model is called."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.models import (
    CanonicalisationDecision,
    GraphSnapshot,
    ParticipantExclusion,
    RatificationJudgement,
    Selection,
    SnapshotSupersession,
    UpgradeVote,
    Value,
)
from moralgraph.selectors.snapshots import snapshot_live_get
from moralgraph.services.snapshots import snapshot_rebuild_request

SUPERSEDED_REASON = "A participant whose votes or values it counted withdrew or was erased."


@dataclass(frozen=True)
class GraphErasure:
    """What leaving the graph removed, and the live snapshot when it happened."""

    votes_deleted: int
    selections_deleted: int
    values_deleted: int
    superseded_snapshot_ids: tuple[int, ...]
    live_snapshot_id: int | None


@transaction.atomic
def participant_graph_erase(
    *,
    study_id: int,
    participant_id: int,
    value_ids: Sequence[int],
    since: datetime | None,
    card_ids: Sequence[int] = (),
) -> GraphErasure:
    """Remove the participant from the study's graph. `value_ids`: the values only their cards
    supported (elicitation knows the cards); `since`: their first contribution (their first
    card), or None; `card_ids`: their cards, whose canonicalisation decisions (which keep a
    card's title) go too. Safe to run again: a second run finds nothing left to remove."""
    if studies.participant_study_id(participant_id=participant_id) != study_id:
        raise MoralGraphError("unknown_participant", "No such participant in this study.")
    live = snapshot_live_get(study_id=study_id)
    values = Value.objects.filter(study_id=study_id, pk__in=list(value_ids))
    doomed_values = set(values.values_list("pk", flat=True))
    votes = UpgradeVote.objects.filter(participant_id=participant_id)
    vote_times = sorted(votes.values_list("created_at", flat=True))
    is_preview = participant_id in studies.preview_participant_ids(study_id=study_id)
    superseded: list[int] = []
    if not is_preview:
        counted = _VotesCounted(participant_id, vote_times)
        starts = [t for t in (since, *vote_times[:1]) if t is not None]
        if starts and (vote_times or doomed_values):
            superseded = _supersede(study_id, min(starts), counted, doomed_values)
    votes_deleted, _ = votes.delete()
    selections_deleted, _ = Selection.objects.filter(participant_id=participant_id).delete()
    # Their say on the result in a ratification round goes too (it is reported, not scored).
    RatificationJudgement.objects.filter(participant_id=participant_id).delete()
    if card_ids:
        CanonicalisationDecision.objects.filter(study_id=study_id, card_id__in=card_ids).delete()
    if doomed_values:
        # A judge's reason about a candidate may quote the candidate's words.
        CanonicalisationDecision.objects.filter(candidate_id__in=doomed_values).update(reason="")
        values.delete()  # cascades: stories about them, and votes and selections of them
    if votes_deleted or doomed_values:
        snapshot_rebuild_request(study_id=study_id)
    return GraphErasure(
        votes_deleted=votes_deleted,
        selections_deleted=selections_deleted,
        values_deleted=len(doomed_values),
        superseded_snapshot_ids=tuple(superseded),
        live_snapshot_id=live.pk if live is not None else None,
    )


class _VotesCounted:
    """Whether a snapshot counted the participant's votes: one was cast before the snapshot
    (and before its cut-off), and the snapshot did not leave the participant out (its
    filters, or a quarantine in force when it was built)."""

    def __init__(self, participant_id: int, vote_times: list[datetime]) -> None:
        self.participant_id = participant_id
        self.first_vote = vote_times[0] if vote_times else None
        exclusion = ParticipantExclusion.objects.filter(participant_id=participant_id).first()
        self.excluded_since = exclusion.created_at if exclusion is not None else None

    def __call__(self, snapshot: GraphSnapshot) -> bool:
        if self.first_vote is None or self.first_vote > snapshot.created_at:
            return False
        filters = snapshot.filters or {}
        if self.participant_id in filters.get("excluded_participants", []):
            return False
        if self.excluded_since is not None and self.excluded_since <= snapshot.created_at:
            return False
        before = filters.get("created_before")
        cutoff = parse_datetime(before) if isinstance(before, str) else None
        return cutoff is None or self.first_vote < cutoff


def _supersede(
    study_id: int, start: datetime, counted: _VotesCounted, doomed_values: set[int]
) -> list[int]:
    """Mark every snapshot from `start` on that counted the participant: their votes, or one
    of the values that go (its text is in the document). Returns the snapshots' ids."""
    marked: list[int] = []
    candidates = GraphSnapshot.objects.filter(study_id=study_id, created_at__gte=start)
    for snapshot in candidates.order_by("created_at", "id"):
        if not (counted(snapshot) or _holds_value(snapshot, doomed_values)):
            continue
        mark, created = SnapshotSupersession.objects.get_or_create(
            snapshot=snapshot, defaults={"reason": SUPERSEDED_REASON, "created_at": timezone.now()}
        )
        if not created:
            SnapshotSupersession.objects.filter(pk=mark.pk).update(
                participants_removed=F("participants_removed") + 1
            )
        marked.append(snapshot.pk)
    return marked


def _holds_value(snapshot: GraphSnapshot, value_ids: set[int]) -> bool:
    if not value_ids:
        return False
    return any(v.get("id") in value_ids for v in snapshot.document.get("values", []))
