"""The graph side of a withdrawal (moralgraph.services.participant_graph_erase): the
participant's votes and selections go, the values named go with the stories and votes about
them, the snapshots that counted them are marked superseded (never rewritten), and a rebuild
is requested as after a vote."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from elicitation.models import Participant
from moralgraph import services
from moralgraph.errors import MoralGraphError
from moralgraph.models import (
    GraphSnapshot,
    Selection,
    SnapshotSupersession,
    UpgradeVote,
    Value,
)
from moralgraph.services import snapshots
from tests.factories import (
    FAST_PARAMS,
    make_question,
    make_small_graph,
    make_study,
    rebuild_requests,
)

pytestmark = pytest.mark.django_db


def _graph() -> tuple[int, int, int, GraphSnapshot, Participant, Value]:
    """A small graph plus one more participant who voted for a value of their own."""
    study = make_study()
    context_id, first_id, _ = make_small_graph(study, make_question(study))
    own = Value.objects.create(study=study, title="Tidewater patience", description="d")
    leaver = Participant.objects.create(study=study)
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
        services.upgrade_vote_cast(
            participant_id=leaver.pk,
            from_value_id=first_id,
            to_value_id=own.pk,
            context_id=context_id,
            choice="upgrade",
        )
        services.selection_record(
            participant_id=leaver.pk, draw_id="d", shown_value_ids=[own.pk], picked_value_ids=[]
        )
    snapshot = snapshots.snapshot_build(study_id=study.pk, params=FAST_PARAMS, name="with them")
    return study.pk, context_id, first_id, snapshot, leaver, own


def test_erase_removes_votes_selections_and_their_value_and_supersedes() -> None:
    study_id, _, first_id, snapshot, leaver, own = _graph()
    requested = rebuild_requests(study_id)
    since = timezone.now() - timedelta(minutes=5)

    erased = services.participant_graph_erase(
        study_id=study_id, participant_id=leaver.pk, value_ids=[own.pk], since=since
    )

    assert (erased.votes_deleted, erased.selections_deleted, erased.values_deleted) == (1, 1, 1)
    assert not UpgradeVote.objects.filter(participant=leaver).exists()
    assert not Selection.objects.filter(participant=leaver).exists()
    assert not Value.objects.filter(pk=own.pk).exists()
    assert Value.objects.filter(pk=first_id).exists()
    assert snapshot.pk in erased.superseded_snapshot_ids
    assert SnapshotSupersession.objects.get(snapshot=snapshot).participants_removed == 1
    assert rebuild_requests(study_id) == requested + 1
    # The snapshot itself is untouched: immutable.
    assert "Tidewater patience" in str(GraphSnapshot.objects.get(pk=snapshot.pk).document)

    rebuilt = snapshots.snapshot_build(study_id=study_id, params=FAST_PARAMS)
    assert rebuilt.participant_count == 3
    assert rebuilt.vote_count == 3
    assert "Tidewater patience" not in str(rebuilt.document)


def test_a_second_run_finds_nothing_left() -> None:
    study_id, _, _, snapshot, leaver, own = _graph()
    services.participant_graph_erase(
        study_id=study_id, participant_id=leaver.pk, value_ids=[own.pk], since=None
    )
    requested = rebuild_requests(study_id)

    again = services.participant_graph_erase(
        study_id=study_id, participant_id=leaver.pk, value_ids=[own.pk], since=None
    )

    assert (again.votes_deleted, again.values_deleted, again.superseded_snapshot_ids) == (0, 0, ())
    assert rebuild_requests(study_id) == requested
    assert SnapshotSupersession.objects.get(snapshot=snapshot).participants_removed == 1


def test_a_snapshot_counting_two_who_left_says_so() -> None:
    study_id, _, _, snapshot, leaver, _ = _graph()
    other = UpgradeVote.objects.exclude(participant=leaver).values_list("participant", flat=True)
    for participant_id in (leaver.pk, other[0]):
        services.participant_graph_erase(
            study_id=study_id, participant_id=participant_id, value_ids=[], since=None
        )

    assert SnapshotSupersession.objects.get(snapshot=snapshot).participants_removed == 2


def test_a_participant_of_another_study_is_refused() -> None:
    study_id, _, _, _, leaver, own = _graph()
    with pytest.raises(MoralGraphError):
        services.participant_graph_erase(
            study_id=make_study().pk, participant_id=leaver.pk, value_ids=[own.pk], since=None
        )
    assert UpgradeVote.objects.filter(participant=leaver).exists()
    assert study_id
