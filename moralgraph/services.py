"""Writes to the graph's tables: one transaction each, keyword-only arguments.

Canonicalisation lives in `moralgraph.canonicalisation` and generation (contexts, upgrade
stories) in `moralgraph.generation`; both are services too and are re-exported here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from moralgraph.errors import MoralGraphError
from moralgraph.graph import (
    SCORING_VERSION,
    Params,
    build,
    content_hash,
    diff,
    snapshot_document,
)
from moralgraph.models import (
    Context,
    GraphRebuildState,
    GraphSnapshot,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)
from moralgraph.selectors import VoteScope, values_for_snapshot, vote_table_load

logger = logging.getLogger(__name__)

# The Study, Question and Participant models, reached through our own relations: this app
# never imports `elicitation` (DESIGN §2, layers).
Study: Any = GraphSnapshot._meta.get_field("study").related_model
Participant: Any = UpgradeVote._meta.get_field("participant").related_model


def value_for_card(
    *,
    study_id: int,
    title: str,
    description: str,
    policies: list[str],
    card_id: int | None = None,
) -> int:
    """The canonical value a confirmed card belongs to (DESIGN §4.2): embedding candidates,
    then the LLM judge (or the offline conservative rule); every decision is recorded."""
    from moralgraph.canonicalisation import card_canonicalise

    return card_canonicalise(
        study_id=study_id, title=title, description=description, policies=policies, card_id=card_id
    ).value_id


@transaction.atomic
def context_ensure(
    *, study_id: int, text: str, question_ids: list[int], origin: str = Context.Origin.CURATED
) -> Context:
    """The study's context with this text, linked to these questions (created once)."""
    context, _ = Context.objects.get_or_create(
        study_id=study_id, text=text, defaults={"origin": origin}
    )
    context.questions.add(*question_ids)
    return context


# --- votes and selections -------------------------------------------------------------------


@transaction.atomic
def upgrade_vote_cast(
    *,
    participant_id: int,
    from_value_id: int,
    to_value_id: int,
    context_id: int,
    choice: str,
    reason: str = "",
    hypothesis_id: int | None = None,
    story: str = "",
) -> UpgradeVote:
    """Record (or change) a participant's judgement of from → to in a context. Voting again on
    the same pair and context updates the vote. The live graph is rebuilt after commit."""
    if choice not in UpgradeVote.Choice.values:
        raise MoralGraphError("bad_choice", f"Unknown choice {choice!r}.")
    if from_value_id == to_value_id:
        raise MoralGraphError("same_value", "A value cannot be an upgrade of itself.")
    study_id = (
        Participant.objects.filter(pk=participant_id).values_list("study_id", flat=True).first()
    )
    if study_id is None:
        raise MoralGraphError("unknown_participant", "No such participant.")
    context = Context.objects.filter(pk=context_id, study_id=study_id).first()
    if context is None:
        raise MoralGraphError("wrong_context", "That context does not belong to this study.")
    found = Value.objects.filter(pk__in=[from_value_id, to_value_id], study_id=study_id).count()
    if found != 2:
        raise MoralGraphError("wrong_value", "Those values do not belong to this study.")
    if hypothesis_id is not None:
        hypothesis = UpgradeHypothesis.objects.filter(pk=hypothesis_id, study_id=study_id).first()
        if hypothesis is None or (
            hypothesis.from_value_id,
            hypothesis.to_value_id,
            hypothesis.context_id,
        ) != (from_value_id, to_value_id, context_id):
            raise MoralGraphError(
                "wrong_hypothesis", "That story is not about this pair of values and context."
            )
        story = hypothesis.story
    now = timezone.now()
    vote, created = UpgradeVote.objects.select_for_update().update_or_create(
        participant_id=participant_id,
        from_value_id=from_value_id,
        to_value_id=to_value_id,
        context_id=context_id,
        defaults={
            "study_id": study_id,
            "hypothesis_id": hypothesis_id,
            "story": story,
            "choice": choice,
            "reason": reason.strip()[:4000],
            "updated_at": now,
        },
        create_defaults={
            "study_id": study_id,
            "hypothesis_id": hypothesis_id,
            "story": story,
            "choice": choice,
            "reason": reason.strip()[:4000],
            "created_at": now,
            "updated_at": now,
        },
    )
    snapshot_rebuild_request(study_id=study_id)
    return vote


@transaction.atomic
def selection_record(
    *,
    participant_id: int,
    draw_id: str,
    shown_value_ids: list[int],
    picked_value_ids: list[int],
    question_id: int | None = None,
) -> list[Selection]:
    """A draw of values shown to a participant and which of them they picked as wise. Sending
    the same draw again updates the picks (an upsert per shown value)."""
    study_id = (
        Participant.objects.filter(pk=participant_id).values_list("study_id", flat=True).first()
    )
    if study_id is None:
        raise MoralGraphError("unknown_participant", "No such participant.")
    shown = list(dict.fromkeys(shown_value_ids))
    if not set(picked_value_ids) <= set(shown):
        raise MoralGraphError("not_shown", "Only values that were shown can be picked.")
    if Value.objects.filter(pk__in=shown, study_id=study_id).count() != len(shown):
        raise MoralGraphError("wrong_value", "Those values do not belong to this study.")
    picked = set(picked_value_ids)
    now = timezone.now()
    rows = [
        Selection(
            study_id=study_id,
            participant_id=participant_id,
            value_id=value_id,
            question_id=question_id,
            draw_id=draw_id,
            is_picked=value_id in picked,
            created_at=now,
        )
        for value_id in shown
    ]
    Selection.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["participant", "draw_id", "value"],
        update_fields=["is_picked"],
    )
    return list(
        Selection.objects.filter(participant_id=participant_id, draw_id=draw_id).order_by("id")
    )


# --- snapshots ------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _study_summary(study_id: int) -> dict[str, Any]:
    study = Study.objects.get(pk=study_id)
    questions = [
        {"id": q.pk, "title": q.title, "text": q.text}
        for q in study.questions.order_by("order", "id")
    ]
    return {"slug": study.slug, "title": study.title, "questions": questions}


def snapshot_build(
    *,
    study_id: int,
    params: Params,
    before: datetime | None = None,
    question_ids: list[int] | None = None,
    excluded_participant_ids: list[int] | None = None,
    timings: dict[str, float] | None = None,
) -> GraphSnapshot:
    """Score the votes in scope and store the result as an immutable snapshot.

    Idempotent: when the study already has a snapshot with the same content hash (the same
    votes, parameters and scoring version), that snapshot is returned and nothing is written.
    """
    import time

    clock = time.perf_counter
    spent = timings if timings is not None else {}
    scope = VoteScope(
        study_id=study_id,
        before=before,
        question_ids=tuple(question_ids or ()),
        excluded_participant_ids=tuple(excluded_participant_ids or ()),
    )
    with transaction.atomic():
        start = clock()
        votes, contexts = vote_table_load(scope)
        digest = content_hash(votes, params)
        spent["load_s"] = clock() - start
        existing = GraphSnapshot.objects.filter(study_id=study_id, content_hash=digest).first()
        if existing is not None:
            return existing
        start = clock()
        result = build(votes, params)
        spent["build_s"] = clock() - start
        start = clock()
        touched = np.unique(np.concatenate([result.edges.from_value, result.edges.to_value]))
        values = values_for_snapshot(value_ids=[int(v) for v in touched])
        titles = {v["id"]: v["title"] for v in values}
        created = timezone.now()
        filters = scope.as_filters()
        document = snapshot_document(
            snapshot_id=0,  # replaced by the row's id below, inside this transaction
            created_at=_iso(created),
            study=_study_summary(study_id),
            contexts=[{"id": c.pk, "text": c.text} for c in contexts],
            values=values,
            result=result,
            params=params,
            filters=filters,
            stats={
                "participants": result.participants,
                "votes": result.votes,
                "kept_edges": int(result.edges.kept.sum()),
            },
            content_hash=digest,
        )
        winners = [
            {
                "context": w["context"],
                "context_id": w["context_id"],
                "value_id": w["value_id"],
                "title": titles.get(w["value_id"], ""),
                "score": w["score"],
                "support": w["support"],
                "win_probability": w["win_probability"],
            }
            for w in document["winners"]
        ]
        spent["document_s"] = clock() - start
        start = clock()
        try:
            with transaction.atomic():
                snapshot = GraphSnapshot(
                    study_id=study_id,
                    parameters=params.as_dict(),
                    filters=filters,
                    document_zlib=b"",
                    content_hash=digest,
                    scoring_version=SCORING_VERSION,
                    winners=winners,
                    vote_count=result.votes,
                    participant_count=result.participants,
                    created_at=created,
                )
                snapshot.save()
                document["snapshot_id"] = snapshot.pk
                # One write of the document, with its own id; nothing outside this transaction
                # ever sees the row without it.
                packed = GraphSnapshot.pack(document)
                GraphSnapshot.objects.filter(pk=snapshot.pk).update(document_zlib=packed)
                snapshot.document_zlib = packed
                snapshot._document = document
        except IntegrityError:
            # Another process stored the same content meanwhile: theirs is ours.
            return GraphSnapshot.objects.get(study_id=study_id, content_hash=digest)
        spent["store_s"] = clock() - start
    return snapshot


def snapshot_diff(*, snapshot_a_id: int, snapshot_b_id: int) -> dict[str, Any]:
    """What changed between two snapshots of the same study (a read, kept beside the writes
    because researchers reach it from the same pages)."""
    a = GraphSnapshot.objects.filter(pk=snapshot_a_id).first()
    b = GraphSnapshot.objects.filter(pk=snapshot_b_id).first()
    if a is None or b is None:
        raise MoralGraphError("unknown_snapshot", "No such snapshot.")
    if a.study_id != b.study_id:
        raise MoralGraphError("other_study", "Those snapshots belong to different studies.")
    return diff(a.document, b.document)


# --- live rebuilds, coalesced ---------------------------------------------------------------

REBUILD_LEASE = timedelta(minutes=10)
MAX_REBUILD_ROUNDS = 5


def live_params() -> Params:
    """The parameters of the live graph (settings MORALGRAPH_LIVE_PARAMS may override)."""
    overrides: dict[str, Any] = getattr(settings, "MORALGRAPH_LIVE_PARAMS", {}) or {}
    return Params.from_dict({"mode": "context", "bootstrap": 100, **overrides})


def snapshot_rebuild_request(*, study_id: int) -> bool:
    """Mark the study's graph out of date; enqueue a rebuild after commit unless one is
    already queued. Returns whether a task was enqueued. Runs in the caller's transaction."""
    GraphRebuildState.objects.get_or_create(study_id=study_id)
    GraphRebuildState.objects.filter(study_id=study_id).update(
        requested_seq=F("requested_seq") + 1, updated_at=timezone.now()
    )
    claimed = GraphRebuildState.objects.filter(study_id=study_id, is_queued=False).update(
        is_queued=True
    )
    if claimed:
        from moralgraph import tasks

        transaction.on_commit(lambda: tasks.snapshot_rebuild.delay(study_id))
    return bool(claimed)


@transaction.atomic
def snapshot_rebuild_force(*, study_id: int) -> None:
    """A researcher asks for a rebuild: like a vote's request, but the task is sent even when
    one is marked queued, in case that one was lost (a flushed broker). The worker's
    compare-and-set claim coalesces the two."""
    if not snapshot_rebuild_request(study_id=study_id):
        from moralgraph import tasks

        transaction.on_commit(lambda: tasks.snapshot_rebuild.delay(study_id))


def _rebuild_claim(study_id: int) -> int | None:
    """Compare-and-set: take the study's rebuild unless another worker holds a live lease.
    Returns the request sequence number being built."""
    now = timezone.now()
    with transaction.atomic():
        state = GraphRebuildState.objects.select_for_update().filter(study_id=study_id).first()
        if state is None:
            return None
        if state.running_since is not None and state.running_since > now - REBUILD_LEASE:
            return None
        state.running_since = now
        state.is_queued = False
        state.claimed_seq = state.requested_seq
        state.save(update_fields=["running_since", "is_queued", "claimed_seq"])
        return state.claimed_seq


def snapshot_rebuild_run(*, study_id: int) -> GraphSnapshot | None:
    """Build the live snapshot if the study's graph is out of date (the task's body).

    A burst of votes yields one or two builds: a worker that finds another one building
    returns at once, and the building worker repeats until nothing newer was requested.
    Safe to run twice: an unchanged graph returns the existing snapshot (content hash).
    """
    snapshot: GraphSnapshot | None = None
    seq = _rebuild_claim(study_id)
    if seq is None:
        return None
    try:
        for _round in range(MAX_REBUILD_ROUNDS):
            snapshot = snapshot_build(study_id=study_id, params=live_params())
            with transaction.atomic():
                GraphRebuildState.objects.filter(study_id=study_id).update(
                    built_seq=seq,
                    last_snapshot=snapshot,
                    rebuilds=F("rebuilds") + 1,
                    updated_at=timezone.now(),
                )
                # Release only if nothing newer came in while we were building.
                released = GraphRebuildState.objects.filter(
                    study_id=study_id, requested_seq=seq
                ).update(running_since=None)
                if released:
                    return snapshot
                state = GraphRebuildState.objects.select_for_update().get(study_id=study_id)
                seq = state.claimed_seq = state.requested_seq
                state.is_queued = False
                state.running_since = timezone.now()
                state.save(update_fields=["claimed_seq", "is_queued", "running_since"])
    except BaseException:
        GraphRebuildState.objects.filter(study_id=study_id).update(running_since=None)
        raise
    # Too many rounds in a row: hand the rest to a fresh task rather than hog the worker.
    with transaction.atomic():
        GraphRebuildState.objects.filter(study_id=study_id).update(running_since=None)
        snapshot_rebuild_request(study_id=study_id)
    return snapshot


# --- the demo study -------------------------------------------------------------------------


@transaction.atomic
def demo_graph_seed(*, study_id: int) -> dict[str, int]:
    """The demo study's values and upgrade stories (written for the demo); idempotent."""
    from moralgraph.demo_data import DEMO_HYPOTHESES, DEMO_RUN_ID, DEMO_VALUES

    values: dict[str, Value] = {}
    for spec in DEMO_VALUES:
        value, _ = Value.objects.update_or_create(
            study_id=study_id,
            source_id=f"demo:{spec['key']}",
            defaults={
                "title": spec["title"],
                "description": spec["description"],
                "policies": list(spec["policies"]),
            },
        )
        values[str(spec["key"])] = value
    contexts = {c.text: c for c in Context.objects.filter(study_id=study_id)}
    stored = 0
    for hypothesis in DEMO_HYPOTHESES:
        context = contexts.get(str(hypothesis["context"]))
        if context is None:
            raise MoralGraphError(
                "unknown_context", f"The demo has no context {hypothesis['context']!r}."
            )
        UpgradeHypothesis.objects.update_or_create(
            from_value=values[str(hypothesis["from"])],
            to_value=values[str(hypothesis["to"])],
            context=context,
            run_id=DEMO_RUN_ID,
            defaults={
                "study_id": study_id,
                "story": hypothesis["story"],
                "generator_model": "written for the demo",
            },
        )
        stored += 1
    return {"values": len(values), "hypotheses": stored}
