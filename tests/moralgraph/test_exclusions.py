"""A quarantined participant's votes: stored, but no snapshot counts them (on the binary COPY
path and the ORM path alike), the snapshot's filters say so, the live graph before the change
is kept from compaction, and the sweep notices a quarantine whose rebuild was lost."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest

from elicitation.models import Participant
from moralgraph import services
from moralgraph.errors import MoralGraphError
from moralgraph.exports.files import scope_of
from moralgraph.models import (
    GraphSnapshot,
    ParticipantExclusion,
    UpgradeVote,
    Value,
)
from moralgraph.selectors import integrity
from moralgraph.selectors.votes import LoadMethod, VoteScope, vote_rows_for_export, vote_table_load
from moralgraph.services import snapshots
from tests.factories import FAST_PARAMS, make_question, make_study, rebuild_requests

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent() -> Iterator[mock.MagicMock]:
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send") as send:
        yield send


def _study_with_votes() -> tuple[int, list[int]]:
    """Three participants, each voting a → b and b → c: the study's id and the participants."""
    study = make_study()
    question = make_question(study)
    context_id = services.context_ensure(study_id=study.pk, text="Ctx", question_ids=[question.pk])
    a, b, c = (
        Value.objects.create(study=study, title=t, description="d", policies=["P"]).pk
        for t in "abc"
    )
    people = [Participant.objects.create(study=study).pk for _ in range(3)]
    for pk in people:
        for from_id, to_id in ((a, b), (b, c)):
            services.upgrade_vote_cast(
                participant_id=pk,
                from_value_id=from_id,
                to_value_id=to_id,
                context_id=context_id,
                choice="upgrade",
            )
    return study.pk, people


def test_excluded_participants_are_left_out_of_scoring_on_both_load_paths(sent: object) -> None:
    study_id, people = _study_with_votes()
    services.participant_exclusion_set(
        study_id=study_id, participant_id=people[0], excluded=True, reason="bot"
    )
    snapshot = snapshots.snapshot_build(study_id=study_id, params=FAST_PARAMS)
    assert (snapshot.vote_count, snapshot.participant_count) == (4, 2)
    assert snapshot.filters["excluded_participants"] == [people[0]]
    scope = scope_of(study_id, snapshot.filters)
    methods: tuple[LoadMethod, ...] = ("copy", "orm")
    for method in methods:
        table, _ = vote_table_load(scope, method=method)
        assert sorted(set(table.participant.tolist())) == people[1:]
    assert len(vote_rows_for_export(scope=scope)) == 4
    assert UpgradeVote.objects.filter(participant_id=people[0]).count() == 2
    full, _ = vote_table_load(VoteScope(study_id=study_id))
    assert len(full.participant) == 6, "an unfiltered scope still sees every stored vote"


def test_setting_an_exclusion_twice_changes_nothing_and_is_for_the_study_only(
    sent: mock.MagicMock,
) -> None:
    study_id, people = _study_with_votes()

    start = rebuild_requests(study_id)
    first = services.participant_exclusion_set(
        study_id=study_id, participant_id=people[0], excluded=True, reason="bot"
    )
    assert rebuild_requests(study_id) == start + 1, "a change asks for a rebuild"
    again = services.participant_exclusion_set(
        study_id=study_id, participant_id=people[0], excluded=True, reason="bot"
    )
    assert rebuild_requests(study_id) == start + 1, "no change, no rebuild"
    assert first.is_changed
    assert not again.is_changed
    assert first.snapshot_before_id is None, "no snapshot yet"
    with pytest.raises(MoralGraphError):
        services.participant_exclusion_set(
            study_id=make_study().pk, participant_id=people[1], excluded=True, reason=""
        )
    assert integrity.quarantined_participant_ids(study_id=study_id) == [people[0]]


def test_the_live_graph_before_a_change_is_kept_once_and_the_sweep_sees_the_change(
    sent: object,
) -> None:
    study_id, people = _study_with_votes()
    live = snapshots.snapshot_rebuild_run(study_id=study_id)
    assert live is not None
    assert live.is_live
    assert not integrity.exclusions_out_of_step(study_id=study_id)

    change = services.participant_exclusion_set(
        study_id=study_id, participant_id=people[0], excluded=True, reason="bot"
    )
    assert change.snapshot_before_id is not None
    kept = GraphSnapshot.objects.get(pk=change.snapshot_before_id)
    assert (kept.is_live, kept.name, kept.content_hash) == (False, "", live.content_hash)
    assert kept.document["snapshot_id"] == kept.pk
    assert kept.created_at == live.created_at
    assert integrity.exclusions_out_of_step(study_id=study_id)

    rebuilt = snapshots.snapshot_rebuild_run(study_id=study_id)
    assert rebuilt is not None
    assert rebuilt.vote_count == 4
    assert not integrity.exclusions_out_of_step(study_id=study_id)
    assert GraphSnapshot.objects.filter(pk=kept.pk).exists()

    # Several changes before the next rebuild: the live graph they all start from is kept
    # once, and each action names that copy.
    services.participant_exclusion_set(
        study_id=study_id, participant_id=people[0], excluded=False, reason=""
    )
    services.participant_exclusion_set(
        study_id=study_id, participant_id=people[1], excluded=True, reason=""
    )
    back = services.participant_exclusion_set(
        study_id=study_id, participant_id=people[1], excluded=False, reason=""
    )
    assert not ParticipantExclusion.objects.exists()
    assert (
        back.snapshot_before_id
        == services.participant_exclusion_set(
            study_id=study_id, participant_id=people[2], excluded=True, reason=""
        ).snapshot_before_id
    )
    assert GraphSnapshot.objects.filter(is_live=False, content_hash=live.content_hash).count() == 1
