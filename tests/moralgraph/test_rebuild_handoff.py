"""A worker that has built its last round in a row hands the rest to a fresh task, and that
task must find the claim free: sent while the claim is still held, it returns at once and the
votes that arrived during the last round wait for the sweep (found by bench/votes.py: the live
graph stayed stale for a minute after a burst)."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from moralgraph.models import GraphRebuildState
from moralgraph.services import snapshots
from tests.factories import make_question, make_small_graph, make_study

pytestmark = pytest.mark.django_db(transaction=True)


def test_votes_during_the_last_round_are_built_by_the_task_handed_on() -> None:
    study = make_study()
    make_small_graph(study, make_question(study))
    sent: list[int] = []
    claim_free_when_sent: list[bool] = []

    def deliver(study_id: int) -> None:
        """A worker that picks the task up at once, as an idle one does."""
        sent.append(study_id)
        claim_free_when_sent.append(study_id not in snapshots.held())
        snapshots.snapshot_rebuild_run(study_id=study_id)

    build = snapshots.snapshot_build
    arrivals = iter([True])  # one vote arrives while the first (and last) round is building

    def build_while_a_vote_arrives(**kwargs: Any) -> Any:
        snapshot = build(**kwargs)
        if next(arrivals, False):
            snapshots.snapshot_rebuild_request(study_id=study.pk)
        return snapshot

    with (
        mock.patch.object(snapshots, "MAX_REBUILD_ROUNDS", 1),
        mock.patch.object(snapshots, "rebuild_task_send", side_effect=deliver),
        mock.patch.object(snapshots, "snapshot_build", side_effect=build_while_a_vote_arrives),
    ):
        snapshots.snapshot_rebuild_force(study_id=study.pk)

    state = GraphRebuildState.objects.get(study=study)
    assert sent, "no rebuild task was sent"
    assert claim_free_when_sent[-1], "the hand-off was sent while the claim was still held"
    assert state.built_seq == state.requested_seq
    assert state.running_since is None
