"""The graph's services and selectors: votes, selections, snapshots, the draw, rebuilds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.db import IntegrityError, transaction

from elicitation.models import Participant, Question, Study
from elicitation.services import demo_study_seed
from moralgraph import selectors, services
from moralgraph.errors import MoralGraphError
from moralgraph.graph import Params
from moralgraph.models import (
    Context,
    GraphRebuildState,
    GraphSnapshot,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)
from moralgraph.selectors import votes as vote_selectors
from moralgraph.services import snapshots

pytestmark = pytest.mark.django_db
FAST = Params(
    mode="context", bootstrap=0, grid_min_wiser=(), grid_min_likelihood=(), grid_max_entropy=()
)


@pytest.fixture
def study() -> Study:
    return Study.objects.create(slug="s", title="S")


@pytest.fixture
def context(study: Study) -> Context:
    question = Question.objects.create(study=study, title="Q", text="What now?")
    context_id = services.context_ensure(
        study_id=study.pk, text="When in doubt", question_ids=[question.pk]
    )
    return Context.objects.get(pk=context_id)


def values(study: Study, n: int) -> list[Value]:
    return [
        Value.objects.create(study=study, title=f"V{i}", description="d", policies=["P"])
        for i in range(n)
    ]


def participants(study: Study, n: int) -> list[Participant]:
    return [Participant.objects.create(study=study) for _ in range(n)]


@pytest.fixture
def no_enqueue() -> Iterator[mock.MagicMock]:
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send") as delay:
        yield delay


def test_re_voting_updates_the_one_vote(
    study: Study, context: Context, no_enqueue: mock.MagicMock
) -> None:
    a, b = values(study, 2)
    (p,) = participants(study, 1)
    first_id = services.upgrade_vote_cast(
        participant_id=p.pk,
        from_value_id=a.pk,
        to_value_id=b.pk,
        context_id=context.pk,
        choice="upgrade",
    )
    first = UpgradeVote.objects.get(pk=first_id)
    second_id = services.upgrade_vote_cast(
        participant_id=p.pk,
        from_value_id=a.pk,
        to_value_id=b.pk,
        context_id=context.pk,
        choice="not_sure",
        reason="  On reflection, unsure. ",
    )
    assert second_id == first_id
    vote = UpgradeVote.objects.get()
    assert (vote.choice, vote.reason, vote.study_id) == (
        "not_sure",
        "On reflection, unsure.",
        study.pk,
    )
    assert vote.created_at == first.created_at
    assert vote.updated_at > first.updated_at
    with pytest.raises(IntegrityError), transaction.atomic():
        UpgradeVote.objects.create(
            study=study, participant=p, from_value=a, to_value=b, context=context, choice="upgrade"
        )


def test_a_vote_is_validated(study: Study, context: Context, no_enqueue: mock.MagicMock) -> None:
    a, b = values(study, 2)
    (p,) = participants(study, 1)
    other = Study.objects.create(slug="o", title="O")
    (foreign,) = values(other, 1)
    hypothesis = UpgradeHypothesis.objects.create(
        study=study, from_value=a, to_value=b, context=context, story="Once I…", run_id="r"
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({"choice": "maybe"}, "bad_choice"),
        ({"to_value_id": a.pk}, "same_value"),
        ({"to_value_id": foreign.pk}, "wrong_value"),
        (
            {"hypothesis_id": hypothesis.pk, "from_value_id": b.pk, "to_value_id": a.pk},
            "wrong_hypothesis",
        ),
    ]
    for change, code in cases:
        arguments = {
            "participant_id": p.pk,
            "from_value_id": a.pk,
            "to_value_id": b.pk,
            "context_id": context.pk,
            "choice": "upgrade",
            **change,
        }
        with pytest.raises(MoralGraphError) as failure:
            services.upgrade_vote_cast(**arguments)
        assert failure.value.code == code
    vote_id = services.upgrade_vote_cast(
        participant_id=p.pk,
        from_value_id=a.pk,
        to_value_id=b.pk,
        context_id=context.pk,
        choice="upgrade",
        hypothesis_id=hypothesis.pk,
    )
    assert (
        UpgradeVote.objects.get(pk=vote_id).story == "Once I…"
    )  # the story shown is copied onto the vote


def test_selections_upsert_per_draw(study: Study) -> None:
    a, b, c = values(study, 3)
    (p,) = participants(study, 1)
    services.selection_record(
        participant_id=p.pk,
        draw_id="d1",
        shown_value_ids=[a.pk, b.pk, c.pk],
        picked_value_ids=[a.pk],
    )
    shown = services.selection_record(
        participant_id=p.pk,
        draw_id="d1",
        shown_value_ids=[a.pk, b.pk, c.pk],
        picked_value_ids=[b.pk],
    )
    assert shown == 3
    rows = Selection.objects.filter(participant=p, draw_id="d1").order_by("id")
    assert [(r.value_id, r.is_picked) for r in rows] == [(a.pk, False), (b.pk, True), (c.pk, False)]
    with pytest.raises(MoralGraphError):
        services.selection_record(
            participant_id=p.pk, draw_id="d2", shown_value_ids=[a.pk], picked_value_ids=[b.pk]
        )


def cast(p: Participant, a: Value, b: Value, context: Context, choice: str = "upgrade") -> None:
    services.upgrade_vote_cast(
        participant_id=p.pk,
        from_value_id=a.pk,
        to_value_id=b.pk,
        context_id=context.pk,
        choice=choice,
    )


def test_snapshots_are_idempotent_by_content_hash(
    study: Study, context: Context, no_enqueue: mock.MagicMock
) -> None:
    a, b, c = values(study, 3)
    people = participants(study, 4)
    for p in people[:3]:
        cast(p, a, b, context)
    first = snapshots.snapshot_build(study_id=study.pk, params=FAST)
    assert first.document["snapshot_id"] == first.pk
    assert first.winners[0]["value_id"] == b.pk
    assert first.winners[0]["title"] == "V1"
    again = snapshots.snapshot_build(study_id=study.pk, params=FAST)
    assert again.pk == first.pk
    assert GraphSnapshot.objects.count() == 1
    with pytest.raises(ValueError, match="immutable"):
        first.save()  # immutable
    cast(people[3], b, c, context)
    changed = snapshots.snapshot_build(study_id=study.pk, params=FAST)
    assert changed.pk != first.pk
    assert changed.content_hash != first.content_hash
    other_params = snapshots.snapshot_build(
        study_id=study.pk, params=Params(mode="reference", bootstrap=0)
    )
    assert other_params.pk not in (first.pk, changed.pk)
    # The excluded participant's vote is left out: the same votes as the first snapshot.
    excluded = snapshots.snapshot_build(
        study_id=study.pk, params=FAST, excluded_participant_ids=[people[3].pk]
    )
    assert excluded.pk == first.pk
    changes = snapshots.snapshot_diff(snapshot_a_id=first.pk, snapshot_b_id=changed.pk)
    assert changes["to_snapshot"] == changed.pk


def test_copy_and_orm_loaders_agree(
    study: Study, context: Context, no_enqueue: mock.MagicMock
) -> None:
    vs = values(study, 4)
    for i, p in enumerate(participants(study, 6)):
        cast(p, vs[i % 4], vs[(i + 1) % 4], context, ["upgrade", "no_upgrade", "not_sure"][i % 3])
    scope = vote_selectors.VoteScope(study_id=study.pk)
    fast, _ = vote_selectors.vote_table_load(scope, method="copy")
    slow, _ = vote_selectors.vote_table_load(scope, method="orm")
    assert sorted(fast.rows()) == sorted(slow.rows())
    assert len(fast) == 6


def test_a_burst_of_votes_coalesces_into_few_rebuilds(
    study: Study, context: Context, django_capture_on_commit_callbacks: Any
) -> None:
    a, b = values(study, 2)
    people = participants(study, 30)
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            for p in people[:10]:
                cast(p, a, b, context)
        # The first vote requested a rebuild; the rest found it pending (a mark in Redis) and
        # wrote nothing more: one request, one task.
        assert delay.call_count == 1
        state = GraphRebuildState.objects.get(study=study)
        assert (state.requested_seq, state.is_queued) == (1, True)

        # A second worker finds the rebuild running and leaves at once.
        real_build = snapshots.snapshot_build
        seen: list[int | None] = []

        def build_while_voting(**kwargs: object) -> GraphSnapshot:
            if not seen:
                # the concurrent task
                seen.append(1 if snapshots.snapshot_rebuild_run(study_id=study.pk) else None)
                with django_capture_on_commit_callbacks(execute=True):
                    for p in people[10:20]:  # votes arriving during the build
                        cast(p, a, b, context)
            return real_build(**kwargs)  # type: ignore[arg-type]

        with mock.patch.object(
            snapshots, "snapshot_build", side_effect=build_while_voting
        ) as builds:
            snapshot = snapshots.snapshot_rebuild_run(study_id=study.pk)
        assert seen == [None]
        assert builds.call_count == 2  # one for the first burst, one for the votes during it
        # The votes during the build were counted in Redis, not requested one by one: the
        # building worker saw the count move and built once more itself, no task needed.
        assert delay.call_count == 1
    assert snapshot is not None
    assert snapshot.vote_count == 20
    state = GraphRebuildState.objects.get(study=study)
    assert (state.built_seq, state.requested_seq, state.running_since) == (2, 2, None)
    assert state.last_snapshot_id == snapshot.pk
    # The queued task, when it runs, rebuilds nothing new (same content hash).
    assert snapshots.snapshot_rebuild_run(study_id=study.pk) == snapshot
    assert GraphSnapshot.objects.filter(study=study).count() == 1


def test_the_draw_weights_and_preference(study: Study, no_enqueue: mock.MagicMock) -> None:
    contexts = [
        Context.objects.get(
            pk=services.context_ensure(study_id=study.pk, text=f"When case {i}", question_ids=[])
        )
        for i in range(3)
    ]
    vs = values(study, 12)
    hypotheses = [
        UpgradeHypothesis.objects.create(
            study=study,
            from_value=vs[i],
            to_value=vs[i + 1],
            context=contexts[i % 3],
            story=f"story {i}",
            run_id="r",
        )
        for i in range(11)
    ]
    voters = participants(study, 6)
    for n, voter in enumerate(voters):  # hypothesis 0 is popular, 1 is one-sided, others sparse
        cast(voter, vs[0], vs[1], contexts[0], "upgrade" if n % 2 else "no_upgrade")
        if n < 3:
            cast(voter, vs[1], vs[2], contexts[1], "upgrade")
    (reader,) = participants(study, 1)
    strategies: Counter[str] = Counter()
    for seed in range(300):
        drawn = selectors.hypotheses_draw(
            participant_id=reader.pk, study_id=study.pk, count=1, seed=seed
        )
        strategies[drawn[0].strategy] += 1
    assert abs(strategies["popular"] / 300 - 0.3) < 0.1
    assert abs(strategies["convergent"] / 300 - 0.3) < 0.1
    assert abs(strategies["sparse"] / 300 - 0.4) < 0.1

    # Never a hypothesis the participant already judged; the whole draw has distinct ones.
    drawn = selectors.hypotheses_draw(
        participant_id=voters[0].pk, study_id=study.pk, count=20, seed=1
    )
    assert not {hypotheses[0].pk, hypotheses[1].pk} & {h.id for h in drawn}
    assert len({h.id for h in drawn}) == len(drawn) == 9

    # Preference: hypotheses whose from-value the participant picked as wise come up more.
    services.selection_record(
        participant_id=reader.pk,
        draw_id="d",
        shown_value_ids=[vs[9].pk, vs[3].pk],
        picked_value_ids=[vs[9].pk],
    )
    preferred = sum(
        selectors.hypotheses_draw(participant_id=reader.pk, study_id=study.pk, count=1, seed=s)[
            0
        ].id
        == hypotheses[9].pk
        for s in range(300)
    )
    unpreferred = sum(
        selectors.hypotheses_draw(participant_id=reader.pk, study_id=study.pk, count=1, seed=s)[
            0
        ].id
        == hypotheses[8].pk
        for s in range(300)
    )
    assert preferred > 2 * unpreferred


def test_the_demo_seed_brings_values_and_stories(no_enqueue: mock.MagicMock) -> None:
    study = demo_study_seed()
    counts = (
        Value.objects.filter(study=study).count(),
        UpgradeHypothesis.objects.filter(study=study).count(),
    )
    assert counts[0] >= 8
    assert counts[1] >= 8
    demo_study_seed()
    assert (
        Value.objects.filter(study=study).count(),
        UpgradeHypothesis.objects.filter(study=study).count(),
    ) == counts
    contexts_used = set(
        UpgradeHypothesis.objects.filter(study=study).values_list("context__text", flat=True)
    )
    assert len(contexts_used) >= 6
