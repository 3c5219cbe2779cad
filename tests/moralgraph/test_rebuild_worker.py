"""Live rebuilds through the real worker: a vote cast through the service reaches a committed
snapshot via Redis and a Celery worker process, and a burst of votes coalesces."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from elicitation.models import Participant, Question, Study
from moralgraph import services
from moralgraph.models import Context, GraphRebuildState, GraphSnapshot, UpgradeVote, Value
from tests.support.processes import ManagedProcess, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def setup_study(slug: str, values: int) -> tuple[Study, Context, list[Value]]:
    study = Study.objects.create(slug=slug, title=slug)
    question = Question.objects.create(study=study, title="Q", text="What now?")
    context = Context.objects.get(
        pk=services.context_ensure(
            study_id=study.pk, text="When in doubt", question_ids=[question.pk]
        )
    )
    made = [
        Value.objects.create(study=study, title=f"V{i}", description="d", policies=["P"])
        for i in range(values)
    ]
    return study, context, made


def cast(study: Study, context: Context, a: Value, b: Value, choice: str = "upgrade") -> None:
    participant = Participant.objects.create(study=study)
    services.upgrade_vote_cast(
        participant_id=participant.pk,
        from_value_id=a.pk,
        to_value_id=b.pk,
        context_id=context.pk,
        choice=choice,
    )


def latest(study: Study) -> GraphSnapshot | None:
    return GraphSnapshot.objects.filter(study=study).order_by("-created_at", "-id").first()


def test_a_vote_is_reflected_in_a_snapshot_by_the_worker(celery_worker: ManagedProcess) -> None:
    study, context, (a, b) = setup_study("live-one", 2)
    cast(study, context, a, b)  # autocommit: the task goes out as the vote commits

    def reflected() -> GraphSnapshot | None:
        celery_worker.assert_running()
        snapshot = latest(study)
        return snapshot if snapshot is not None and snapshot.vote_count == 1 else None

    snapshot = wait_until(reflected, timeout=30, what="a snapshot with the vote")
    assert isinstance(snapshot, GraphSnapshot)
    (edge,) = [e for e in snapshot.document["edges"] if (e["from"], e["to"]) == (a.pk, b.pk)]
    assert edge["counts"]["markedWiser"] == 1
    assert edge["contexts"] == ["When in doubt"]
    # The snapshot is stored a moment before the worker records it in the rebuild state.

    def recorded() -> GraphRebuildState | None:
        state = GraphRebuildState.objects.get(study=study)
        return state if state.last_snapshot_id == snapshot.pk else None

    state = wait_until(recorded, timeout=30, what="the rebuild state naming the snapshot")
    assert isinstance(state, GraphRebuildState)
    assert state.running_since is None
    assert "Task moralgraph.tasks.snapshot_rebuild[" in celery_worker.log()

    # Changing the vote is reflected too (the vote is updated, not added).
    voter = UpgradeVote.objects.get(study=study).participant_id
    services.upgrade_vote_cast(
        participant_id=voter,
        from_value_id=a.pk,
        to_value_id=b.pk,
        context_id=context.pk,
        choice="no_upgrade",
    )

    def changed() -> bool:
        snapshot = latest(study)
        if snapshot is None:
            return False
        (edge,) = [e for e in snapshot.document["edges"] if (e["from"], e["to"]) == (a.pk, b.pk)]
        return bool(edge["counts"]["markedNotWiser"] == 1 and edge["counts"]["markedWiser"] == 0)

    wait_until(changed, timeout=30, what="a snapshot with the changed vote")


def test_a_burst_of_votes_yields_few_rebuilds(celery_worker: ManagedProcess) -> None:
    study, context, values = setup_study("live-burst", 6)
    votes = 60
    for i in range(votes):
        a, b = values[i % 5], values[i % 5 + 1]
        cast(study, context, a, b, choice=("upgrade", "upgrade", "not_sure")[i % 3])

    def all_in() -> bool:
        celery_worker.assert_running()
        snapshot = latest(study)
        state = GraphRebuildState.objects.get(study=study)
        return bool(
            snapshot is not None
            and snapshot.vote_count == votes
            and not state.is_queued
            and state.running_since is None
            # The claim is released before the superseded live snapshots are deleted: wait
            # for the deletion too (its count is asserted below).
            and GraphSnapshot.objects.filter(study=study).count() == 1
        )

    wait_until(all_in, timeout=60, what="a snapshot with every vote of the burst")
    state = GraphRebuildState.objects.get(study=study)
    # The burst's votes share their requests (a mark in Redis: only a vote that finds no
    # rebuild pending writes the state row), and everything requested is built.
    assert 1 <= state.requested_seq < votes // 2, f"{state.requested_seq} requests"
    assert state.built_seq == state.requested_seq
    print(f"{votes} votes: {state.rebuilds} rebuilds")  # shown with -s
    # Superseded live snapshots are deleted as each new one is stored: one is left.
    assert GraphSnapshot.objects.filter(study=study).count() == 1
    assert state.rebuilds <= votes // 4, f"{state.rebuilds} rebuilds for {votes} votes"


def test_a_named_build_runs_on_the_worker(
    celery_worker: ManagedProcess, django_user_model: Any
) -> None:
    study, context, (a, b) = setup_study("named-build", 2)
    cast(study, context, a, b)
    cast(study, context, a, b)
    staff = Client()
    staff.force_login(
        django_user_model.objects.create_user(username="r", is_staff=True, is_superuser=True)
    )
    form = {
        "name": "pilot",
        "mode": "reference",
        "min_wiser": "1",
        "min_likelihood": "0.3",
        "max_entropy": "1.8",
        "bootstrap": "5",
        "before": "",
    }
    response = staff.post(reverse("research:snapshot_build_named", args=["named-build"]), form)
    assert response.status_code == 302

    def built() -> GraphSnapshot | None:
        celery_worker.assert_running()
        return GraphSnapshot.objects.filter(study=study, name="pilot").first()

    snapshot = wait_until(built, timeout=30, what="the named snapshot")
    assert isinstance(snapshot, GraphSnapshot)
    assert snapshot.vote_count == 2
    assert (snapshot.parameters["min_wiser"], snapshot.parameters["bootstrap"]) == (1, 5)
    assert snapshot.filters == {}
    assert "Task moralgraph.tasks.snapshot_build_named[" in celery_worker.log()
    page = staff.get(response["Location"]).content.decode()
    assert "Snapshot “pilot” is ready" in page
