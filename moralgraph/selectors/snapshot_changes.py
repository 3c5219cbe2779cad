"""What the live graph is now, and what changed in it since an earlier snapshot: the counts and
the winners, for pages outside the researcher's (the staff's quarantine log). The comparison
is the snapshot diff's own (`moralgraph.graph.diff`), as on the researcher's diff page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moralgraph.graph import diff
from moralgraph.models import GraphSnapshot
from moralgraph.selectors.snapshots import snapshot_live_get


@dataclass(frozen=True)
class WinnerChange:
    """A context whose winning value changed (titles; None: no winner on that side)."""

    context: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class SnapshotChange:
    """From an earlier snapshot to the study's live one."""

    before_id: int
    after_id: int
    votes_before: int
    votes_after: int
    participants_before: int
    participants_after: int
    winner_changes: tuple[WinnerChange, ...]
    # The same votes and parameters on both sides (the rebuild has not caught up yet, or
    # the change left the counted votes as they were).
    is_same_content: bool


def live_snapshot_id(*, study_id: int) -> int | None:
    """The id of the graph that follows the votes now, or None before the first build."""
    live = snapshot_live_get(study_id=study_id)
    return None if live is None else live.pk


def _titles(document: Mapping[str, Any]) -> dict[int, str]:
    return {int(v["id"]): str(v["title"]) for v in document["values"]}


def _title(titles: Mapping[int, str], value_ids: list[int]) -> str | None:
    """One value's title; "tie: A = B" for a tie; None for no winner."""
    if not value_ids:
        return None
    names = [titles.get(int(v), f"value {v}") for v in value_ids]
    return names[0] if len(names) == 1 else "tie: " + " = ".join(names)


def snapshot_changes_since(*, study_id: int, snapshot_ids: list[int]) -> dict[int, SnapshotChange]:
    """For each of the study's snapshots named (ones since deleted are left out), what changed
    from it to the live snapshot. The documents are read once each."""
    live = snapshot_live_get(study_id=study_id)
    if live is None:
        return {}
    earlier = {
        s.pk: s for s in GraphSnapshot.objects.filter(study_id=study_id, pk__in=snapshot_ids)
    }
    changes: dict[int, SnapshotChange] = {}
    for pk, before in earlier.items():
        change = diff(before.document, live.document)
        titles = {**_titles(before.document), **_titles(live.document)}
        changes[pk] = SnapshotChange(
            before_id=pk,
            after_id=live.pk,
            votes_before=before.vote_count,
            votes_after=live.vote_count,
            participants_before=before.participant_count,
            participants_after=live.participant_count,
            is_same_content=before.content_hash == live.content_hash,
            winner_changes=tuple(
                WinnerChange(
                    context=w["context"],
                    before=_title(titles, w["before_tied"]),
                    after=_title(titles, w["after_tied"]),
                )
                for w in change["winner_changes"]
            ),
        )
    return changes
