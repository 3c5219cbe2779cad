"""A burst of votes shares one rebuild request (a mark in Redis), and no vote is left out of
the live graph by it: a vote counted while a build runs gets one more build."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
import redis
from django.conf import settings
from django.db.models import F
from django.test import override_settings

from elicitation.models import Participant
from moralgraph.models import GraphRebuildState, UpgradeHypothesis, UpgradeVote
from moralgraph.services import rebuild_marks, snapshots, votes
from tests.factories import make_question, make_small_graph, make_study

pytestmark = pytest.mark.django_db(transaction=True)


def _stories(study: Any, count: int) -> list[UpgradeHypothesis]:
    context_id, first_value, _ = make_small_graph(study, make_question(study))
    other = UpgradeVote.objects.filter(study=study).values_list("to_value_id", flat=True)[0]
    return [
        UpgradeHypothesis.objects.create(
            study=study,
            from_value_id=first_value,
            to_value_id=other,
            context_id=context_id,
            story=f"Story {i}",
            run_id="test",
        )
        for i in range(count)
    ]


def _clear_mark(study: Any) -> None:
    """As after the last build: the graph made of the factory's votes is built."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(rebuild_marks._key(rebuild_marks.PENDING_KEY, study.pk))
    GraphRebuildState.objects.filter(study=study).update(
        is_queued=False, built_seq=F("requested_seq")
    )


def test_a_burst_of_votes_writes_the_rebuild_state_once() -> None:
    assert settings.REDIS_URL, "the suite runs with Redis"
    study = make_study()
    (story,) = _stories(study, 1)
    before = GraphRebuildState.objects.get(study=study).requested_seq
    _clear_mark(study)
    epoch = rebuild_marks.epoch_read(study_id=study.pk)
    assert epoch is not None
    with mock.patch.object(snapshots, "rebuild_task_send") as send:
        for _ in range(20):
            recorded = votes.upgrade_vote_record(
                participant_id=Participant.objects.create(study=study).pk,
                study_id=study.pk,
                hypothesis_id=story.pk,
                choice="upgrade",
            )
            assert recorded is not None
            assert recorded.created
    state = GraphRebuildState.objects.get(study=study)
    assert state.requested_seq == before + 1, "one request for the burst"
    assert send.call_count == 1, "one task for the burst"
    assert rebuild_marks.epoch_read(study_id=study.pk) == epoch + 20, "every vote counted"
    assert UpgradeVote.objects.filter(hypothesis=story).count() == 20


def _vote(study: Any, story: UpgradeHypothesis) -> None:
    votes.upgrade_vote_record(
        participant_id=Participant.objects.create(study=study).pk,
        study_id=study.pk,
        hypothesis_id=story.pk,
        choice="upgrade",
    )


def test_votes_counted_while_a_build_runs_get_one_more_round() -> None:
    study = make_study()
    (story,) = _stories(study, 1)
    _clear_mark(study)
    build = snapshots.snapshot_build
    arrivals = iter([True])  # one vote commits after the first build read the votes

    def build_while_a_vote_arrives(**kwargs: Any) -> Any:
        snapshot = build(**kwargs)
        if next(arrivals, False):
            _vote(study, story)  # coalesced: the mark is still set by the vote being built
        return snapshot

    sent: list[int] = []
    with (
        mock.patch.object(snapshots, "rebuild_task_send", side_effect=sent.append),
        mock.patch.object(
            snapshots, "snapshot_build", side_effect=build_while_a_vote_arrives
        ) as builds,
    ):
        _vote(study, story)
        assert sent == [study.pk], "the first vote requests the rebuild"
        live = snapshots.snapshot_rebuild_run(study_id=study.pk)
    assert builds.call_count == 2, "the building worker saw the count move and built again"
    assert sent == [study.pk], "no task more"
    assert live is not None
    assert live.vote_count == UpgradeVote.objects.filter(study=study).count()
    # The mark is cleared: the next vote requests a rebuild of its own.
    assert rebuild_marks.vote_mark(study_id=study.pk) is True


def test_a_vote_counted_as_the_worker_finishes_gets_a_task() -> None:
    """The narrow gap: a vote counted after the last round's check, whose mark was still
    set, is seen when the worker clears the mark, and handed to a fresh task."""
    study = make_study()
    (story,) = _stories(study, 1)
    _clear_mark(study)
    clear = rebuild_marks.pending_clear
    arrivals = iter([True])

    def vote_then_clear(**kwargs: Any) -> bool:
        if next(arrivals, False):
            _vote(study, story)
        return clear(**kwargs)

    sent: list[int] = []
    with (
        mock.patch.object(snapshots, "rebuild_task_send", side_effect=sent.append),
        mock.patch.object(rebuild_marks, "pending_clear", side_effect=vote_then_clear),
    ):
        _vote(study, story)
        first = snapshots.snapshot_rebuild_run(study_id=study.pk)
        assert sent == [study.pk, study.pk], "the late vote's rebuild was sent after the run"
        second = snapshots.snapshot_rebuild_run(study_id=study.pk)
    assert first is not None
    assert second is not None
    assert second.vote_count == first.vote_count + 1
    assert second.vote_count == UpgradeVote.objects.filter(study=study).count()


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_without_redis_every_vote_still_requests_its_rebuild() -> None:
    rebuild_marks._client.cache_clear()
    study = make_study()
    (story,) = _stories(study, 1)
    before = GraphRebuildState.objects.get(study=study).requested_seq
    try:
        with mock.patch.object(snapshots, "rebuild_task_send"):
            for _ in range(3):
                votes.upgrade_vote_record(
                    participant_id=Participant.objects.create(study=study).pk,
                    study_id=study.pk,
                    hypothesis_id=story.pk,
                    choice="no_upgrade",
                )
    finally:
        rebuild_marks._client.cache_clear()
    assert GraphRebuildState.objects.get(study=study).requested_seq == before + 3
    assert UpgradeVote.objects.filter(hypothesis=story).count() == 3


def test_rounds_of_a_live_rebuild_are_paced() -> None:
    """Under a stream of votes the worker waits out MGE_LIVE_REBUILD_SECONDS between rounds
    rather than scoring every vote back to back."""
    study = make_study()
    (story,) = _stories(study, 1)
    _clear_mark(study)
    build = snapshots.snapshot_build
    arrivals = iter([True])

    def build_while_a_vote_arrives(**kwargs: Any) -> Any:
        snapshot = build(**kwargs)
        if next(arrivals, False):
            _vote(study, story)
        return snapshot

    with (
        override_settings(MGE_LIVE_REBUILD_SECONDS=30.0),
        mock.patch.object(snapshots, "rebuild_task_send"),
        mock.patch.object(snapshots, "snapshot_build", side_effect=build_while_a_vote_arrives),
        mock.patch.object(snapshots.time, "sleep") as sleep,
    ):
        _vote(study, story)
        live = snapshots.snapshot_rebuild_run(study_id=study.pk)
    assert live is not None
    assert live.vote_count == UpgradeVote.objects.filter(study=study).count()
    assert sleep.call_count == 1, "one wait, before the second round"
    assert 0 < sleep.call_args.args[0] <= 30.0
