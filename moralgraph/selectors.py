"""Reads of the graph's tables. They return plain data or model instances; nothing writes.

`vote_table_load` is the hot path of every snapshot: on PostgreSQL it streams the votes in
scope with a binary `COPY … TO STDOUT` straight into numpy columns (about ten times faster
than materialising ORM rows); elsewhere it falls back to `values_list`.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

from moralgraph import jobs
from moralgraph.graph import VoteTable
from moralgraph.models import (
    Context,
    GraphRebuildState,
    GraphSnapshot,
    InferenceJob,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)

LoadMethod = Literal["auto", "copy", "orm"]
_CHOICE_CODE = {"upgrade": 0, "no_upgrade": 1, "not_sure": 2}
# Binary COPY framing: 11-byte signature, 4-byte flags, 4-byte header-extension length.
_COPY_HEADER = 19
_COPY_TRAILER = 2
_COPY_FIELDS = 5
_COPY_ROW = np.dtype(
    [("n", ">i2")]
    + [item for i in range(_COPY_FIELDS) for item in ((f"l{i}", ">i4"), (f"v{i}", ">i8"))]
)


@dataclass(frozen=True)
class VoteScope:
    """Which votes of a study a snapshot covers (DESIGN §3, GraphSnapshot filters)."""

    study_id: int
    before: datetime | None = None
    question_ids: tuple[int, ...] = ()
    excluded_participant_ids: tuple[int, ...] = ()

    def as_filters(self) -> dict[str, Any]:
        """The snapshot's `filters` object (only the filters in use)."""
        filters: dict[str, Any] = {}
        if self.before is not None:
            filters["created_before"] = self.before.isoformat().replace("+00:00", "Z")
        if self.question_ids:
            filters["question_ids"] = sorted(self.question_ids)
        if self.excluded_participant_ids:
            filters["excluded_participants"] = sorted(self.excluded_participant_ids)
        return filters


def study_contexts(*, study_id: int) -> list[Context]:
    return list(Context.objects.filter(study_id=study_id).order_by("id"))


def votes_in_scope(scope: VoteScope) -> QuerySet[UpgradeVote]:
    votes = UpgradeVote.objects.filter(study_id=scope.study_id)
    if scope.before is not None:
        votes = votes.filter(created_at__lt=scope.before)
    if scope.question_ids:
        votes = votes.filter(
            context__in=Context.objects.filter(
                study_id=scope.study_id, questions__in=scope.question_ids
            ).values("id")
        )
    if scope.excluded_participant_ids:
        votes = votes.exclude(participant_id__in=scope.excluded_participant_ids)
    return votes


def _copy_columns(scope: VoteScope) -> tuple[np.ndarray[Any, np.dtype[Any]], ...]:
    """The five vote columns of the scope via binary COPY (PostgreSQL only)."""
    votes = votes_in_scope(scope).values_list(
        "participant_id", "from_value_id", "to_value_id", "context_id", "choice"
    )
    sql, params = votes.query.sql_with_params()
    # The select list is ours, so it can be rewritten to five non-null int8 columns.
    table = UpgradeVote._meta.db_table
    select = (
        f'SELECT "{table}"."participant_id"::int8, "{table}"."from_value_id"::int8, '
        f'"{table}"."to_value_id"::int8, "{table}"."context_id"::int8, '
        f"(CASE \"{table}\".\"choice\" WHEN 'upgrade' THEN 0 WHEN 'no_upgrade' THEN 1 "
        "ELSE 2 END)::int8 "
    )
    from_at = sql.index(" FROM ")
    query = select + sql[from_at + 1 :]
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor underneath Django's wrapper
        with raw.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
            for block in copy:
                chunks.append(bytes(block))
    data = b"".join(chunks)
    count = (len(data) - _COPY_HEADER - _COPY_TRAILER) // _COPY_ROW.itemsize
    rows = np.frombuffer(data, dtype=_COPY_ROW, count=count, offset=_COPY_HEADER)
    return tuple(rows[f"v{i}"].astype(np.int64) for i in range(_COPY_FIELDS))


def _orm_columns(scope: VoteScope) -> tuple[np.ndarray[Any, np.dtype[Any]], ...]:
    rows = list(
        votes_in_scope(scope).values_list(
            "participant_id", "from_value_id", "to_value_id", "context_id", "choice"
        )
    )
    if not rows:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(_COPY_FIELDS))
    participant, from_value, to_value, context, choice = zip(*rows, strict=True)
    return (
        np.fromiter(participant, dtype=np.int64, count=len(rows)),
        np.fromiter(from_value, dtype=np.int64, count=len(rows)),
        np.fromiter(to_value, dtype=np.int64, count=len(rows)),
        np.fromiter(context, dtype=np.int64, count=len(rows)),
        np.fromiter((_CHOICE_CODE[c] for c in choice), dtype=np.int64, count=len(rows)),
    )


def vote_table_load(
    scope: VoteScope, *, method: LoadMethod = "auto"
) -> tuple[VoteTable, list[Context]]:
    """The votes in scope as a `VoteTable` (participants and values by database id), and the
    study's contexts; `VoteTable.contexts` lists their texts in the same order."""
    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "orm"
    columns = _copy_columns(scope) if method == "copy" else _orm_columns(scope)
    participant, from_value, to_value, context_id, choice = columns
    contexts = study_contexts(study_id=scope.study_id)
    ids = np.asarray([c.pk for c in contexts], dtype=np.int64)  # ascending
    index = np.searchsorted(ids, context_id)
    if len(context_id) and (index.max() >= len(ids) or not np.array_equal(ids[index], context_id)):
        raise ValueError("a vote refers to a context of another study")
    table = VoteTable(
        participant=participant,
        from_value=from_value,
        to_value=to_value,
        context=index.astype(np.int32),
        choice=choice.astype(np.int8),
        contexts=[c.text for c in contexts],
    )
    return table, contexts


def values_for_snapshot(*, value_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The snapshot's value entries; numeric source ids become integers (the reference
    study's canonical card ids are integers)."""
    rows = (
        Value.objects.filter(pk__in=list(value_ids))
        .order_by("id")
        .values(
            "id",
            "source_id",
            "title",
            "description",
            "policies",
            "instructions_short",
            "instructions_detailed",
            "status",
        )
    )
    values: list[dict[str, Any]] = []
    for row in rows:
        entry: dict[str, Any] = dict(row)
        source = row["source_id"]
        entry["source_id"] = int(source) if source.isdigit() else (source or None)
        values.append(entry)
    return values


def snapshot_get(*, study_id: int, snapshot_id: int | None = None) -> GraphSnapshot | None:
    """A snapshot of the study by id, or its newest one."""
    snapshots = GraphSnapshot.objects.filter(study_id=study_id)
    if snapshot_id is not None:
        return snapshots.filter(pk=snapshot_id).first()
    return snapshots.order_by("-created_at", "-id").first()


def snapshot_document_get(snapshot: GraphSnapshot) -> dict[str, Any]:
    document: dict[str, Any] = snapshot.document
    return document


def vote_rows_for_export(*, scope: VoteScope) -> list[tuple[str, int, int, str, str, str]]:
    """votes.csv rows: the participant's pseudonymous public id, never an external id."""
    return [
        (str(public_id), from_id, to_id, context, choice, created.isoformat())
        for public_id, from_id, to_id, context, choice, created in votes_in_scope(scope)
        .order_by("id")
        .values_list(
            "participant__public_id",
            "from_value_id",
            "to_value_id",
            "context__text",
            "choice",
            "created_at",
        )
        .iterator(chunk_size=5000)
    ]


# --- the draw of upgrade hypotheses (DESIGN §4.3) ------------------------------------------

DRAW_WEIGHTS: dict[str, float] = {"popular": 0.3, "convergent": 0.3, "sparse": 0.4}
PICKED_PREFERENCE = (
    4.0  # a hypothesis whose from-value the participant picked weighs this much more
)


@dataclass(frozen=True)
class DrawnHypothesis:
    id: int
    from_value_id: int
    to_value_id: int
    context_id: int
    context: str
    story: str
    strategy: str  # "popular", "convergent" or "sparse"


def _pool(hypotheses: list[dict[str, Any]], strategy: str) -> list[dict[str, Any]]:
    """Hypotheses ordered best first for a strategy: popular = most votes; convergent = most
    one-sided votes so far (where a decision is forming); sparse = fewest votes."""
    if strategy == "popular":
        return sorted(hypotheses, key=lambda h: (-h["votes"], h["id"]))
    if strategy == "convergent":

        def agreement(h: dict[str, Any]) -> float:
            return h["upgrades"] / h["votes"] if h["votes"] else 0.0

        return sorted(
            [h for h in hypotheses if h["votes"]],
            key=lambda h: (-agreement(h), -h["votes"], h["id"]),
        )
    return sorted(hypotheses, key=lambda h: (h["votes"], h["id"]))


def hypotheses_draw(
    *, participant_id: int, study_id: int, count: int, seed: int | None = None
) -> list[DrawnHypothesis]:
    """Up to `count` hypotheses for a participant: each slot picks a strategy with weights
    popular 0.3 / convergent 0.3 / sparse 0.4, then a hypothesis from that strategy's order
    (weight decaying with rank), weighting up those whose from-value the participant picked. Hypotheses
    the participant already judged (same pair and context) are never drawn again."""
    rng = random.Random(seed if seed is not None else participant_id)
    judged = set(
        UpgradeVote.objects.filter(participant_id=participant_id).values_list(
            "from_value_id", "to_value_id", "context_id"
        )
    )
    picked = set(
        Selection.objects.filter(participant_id=participant_id, is_picked=True).values_list(
            "value_id", flat=True
        )
    )
    # Votes per pair and context, whether or not they came through this hypothesis.
    tallies = {
        (row["from_value_id"], row["to_value_id"], row["context_id"]): row
        for row in UpgradeVote.objects.filter(study_id=study_id)
        .values("from_value_id", "to_value_id", "context_id")
        .annotate(n=Count("id"), upgrades=Count("id", filter=Q(choice=UpgradeVote.Choice.UPGRADE)))
    }
    rows = (
        UpgradeHypothesis.objects.filter(study_id=study_id)
        .filter(from_value__status=Value.Status.ACTIVE, to_value__status=Value.Status.ACTIVE)
        .values("id", "from_value_id", "to_value_id", "context_id", "context__text", "story")
    )
    available: list[dict[str, Any]] = []
    seen_keys: set[tuple[int, int, int]] = set()
    for hypothesis in rows.order_by("id"):
        row: dict[str, Any] = dict(hypothesis)
        key = (row["from_value_id"], row["to_value_id"], row["context_id"])
        if key in judged or key in seen_keys:
            continue
        seen_keys.add(key)
        tally = tallies.get(key)
        row["votes"] = tally["n"] if tally else 0
        row["upgrades"] = tally["upgrades"] if tally else 0
        available.append(row)
    drawn: list[DrawnHypothesis] = []
    strategies = list(DRAW_WEIGHTS)
    weights = [DRAW_WEIGHTS[s] for s in strategies]
    while available and len(drawn) < count:
        strategy = rng.choices(strategies, weights=weights)[0]
        pool = _pool(available, strategy)
        if not pool:  # nothing voted on yet: convergence is undefined, fall back to sparse
            strategy, pool = "sparse", _pool(available, "sparse")
        # Rank within the strategy's order decays the weight; a picked from-value multiplies it.
        choice_weights = [
            (PICKED_PREFERENCE if h["from_value_id"] in picked else 1.0) / (1.0 + rank / 2.0)
            for rank, h in enumerate(pool)
        ]
        chosen = rng.choices(pool, weights=choice_weights)[0]
        available = [h for h in available if h["id"] != chosen["id"]]
        drawn.append(
            DrawnHypothesis(
                id=chosen["id"],
                from_value_id=chosen["from_value_id"],
                to_value_id=chosen["to_value_id"],
                context_id=chosen["context_id"],
                context=chosen["context__text"],
                story=chosen["story"],
                strategy=strategy,
            )
        )
    return drawn


# --- the researcher pages ------------------------------------------------------------------

# The Study model, reached through our own relation (this app never imports `elicitation`).
_Study: Any = GraphSnapshot._meta.get_field("study").related_model


@dataclass(frozen=True)
class StudyOverview:
    id: int
    slug: str
    title: str
    status: str
    visibility: str
    participants: int
    cards: int
    values: int
    votes: int
    snapshots: int
    latest_snapshot_at: datetime | None


def studies_overview() -> list[StudyOverview]:
    """Every study with its counts. One grouped query per relation, so the counts never
    multiply through a join of votes with cards."""
    studies = list(
        _Study.objects.order_by("-created_at", "-id").values(
            "id", "slug", "title", "status", "visibility"
        )
    )

    def counted(relation: str) -> dict[int, int]:
        return dict(
            _Study.objects.annotate(n=Count(relation)).values_list("id", "n").order_by("id")
        )

    participants = counted("participants")
    cards = counted("participants__cards")
    values = dict(
        Value.objects.values("study_id")
        .annotate(n=Count("id"))
        .values_list("study_id", "n")
        .order_by()
    )
    votes = dict(
        UpgradeVote.objects.values("study_id")
        .annotate(n=Count("id"))
        .values_list("study_id", "n")
        .order_by()
    )
    snapshots = {
        row["study_id"]: (row["n"], row["latest"])
        for row in GraphSnapshot.objects.values("study_id")
        .annotate(n=Count("id"), latest=Max("created_at"))
        .order_by()
    }
    return [
        StudyOverview(
            id=row["id"],
            slug=row["slug"],
            title=row["title"],
            status=row["status"],
            visibility=row["visibility"],
            participants=participants.get(row["id"], 0),
            cards=cards.get(row["id"], 0),
            values=values.get(row["id"], 0),
            votes=votes.get(row["id"], 0),
            snapshots=snapshots.get(row["id"], (0, None))[0],
            latest_snapshot_at=snapshots.get(row["id"], (0, None))[1],
        )
        for row in studies
    ]


def study_by_slug(*, slug: str) -> Any | None:
    """The study with this slug, or None."""
    return _Study.objects.filter(slug=slug).first()


def snapshot_history(*, study_id: int) -> list[GraphSnapshot]:
    """The study's snapshots, newest first, without their (large) documents."""
    return list(
        GraphSnapshot.objects.filter(study_id=study_id)
        .defer("document_zlib")
        .order_by("-created_at", "-id")
    )


def snapshot_predecessor(*, snapshot: GraphSnapshot) -> GraphSnapshot | None:
    """The study's snapshot written just before this one."""
    return (
        GraphSnapshot.objects.filter(study_id=snapshot.study_id)
        .filter(
            Q(created_at__lt=snapshot.created_at)
            | Q(created_at=snapshot.created_at, id__lt=snapshot.pk)
        )
        .order_by("-created_at", "-id")
        .first()
    )


def rebuild_state_get(*, study_id: int) -> GraphRebuildState | None:
    return GraphRebuildState.objects.filter(study_id=study_id).first()


# --- inference jobs ---------------------------------------------------------------------------

# What a job's folder may serve: its outputs (JSON, JSONL, the cards and reports), nothing else.
JOB_FILE_SUFFIXES = frozenset({".json", ".jsonl", ".md", ".txt"})


@dataclass(frozen=True)
class JobProgress:
    """How far a job is, from the manifest(s) the command keeps beside its output."""

    phase: str  # "scenarios", "examples", "answers", "targets", or "" before anything
    done: int
    planned: int
    tokens_used: int


@dataclass(frozen=True)
class JobFile:
    name: str  # relative to the job's output folder, with "/" separators
    size: int


def inference_jobs_for_snapshot(*, snapshot_id: int) -> list[InferenceJob]:
    return list(InferenceJob.objects.filter(snapshot_id=snapshot_id).order_by("-created_at", "-id"))


def inference_job_get(*, study_id: int, job_id: int) -> InferenceJob | None:
    """A job on one of the study's snapshots."""
    return (
        InferenceJob.objects.filter(pk=job_id, snapshot__study_id=study_id)
        .select_related("snapshot")
        .first()
    )


def _job_output(job: InferenceJob) -> Path | None:
    if not job.output_dir:
        return None
    return Path(job.output_dir) / jobs.OUTPUT_DIR


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        # Written atomically (a rename) by the command, so never seen half-written.
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest


def _manifest_tokens(manifest: dict[str, Any]) -> int:
    tokens = int(manifest.get("tokens_used", 0))
    if manifest.get("status") == "running":  # the finished runs, plus this one so far
        tokens += int(manifest.get("tokens_used_this_run", 0))
    return tokens


def inference_job_progress(job: InferenceJob) -> JobProgress:
    """done/planned of the job's current phase. A dataset or an evaluation generates its
    scenarios first (`out/scenarios/manifest.json`), then its examples (`out/manifest.json`);
    scenario generation counts batches per round."""
    if job.kind == InferenceJob.Kind.TARGETS:
        done = int(job.status == InferenceJob.Status.DONE)
        return JobProgress(phase="targets", done=done, planned=1, tokens_used=0)
    out = _job_output(job)
    if out is None:
        return JobProgress(phase="", done=0, planned=0, tokens_used=0)
    scenarios = _manifest(out / "scenarios" / "manifest.json")
    main = _manifest(out / "manifest.json")
    tokens = sum(_manifest_tokens(m) for m in (scenarios, main) if m is not None)
    current = main if main is not None else scenarios
    if current is None:
        return JobProgress(phase="", done=0, planned=0, tokens_used=0)
    if job.kind == InferenceJob.Kind.SCENARIOS or current is scenarios:
        phase = "scenarios"
    elif job.kind == InferenceJob.Kind.EVALUATE:
        phase = "answers"
    else:
        phase = "examples"
    return JobProgress(
        phase=phase,
        done=int(current.get("done", 0)),
        planned=int(current.get("planned", 0)),
        tokens_used=tokens,
    )


def inference_job_files(job: InferenceJob) -> list[JobFile]:
    """The output files a job has written so far (no hidden files, no links)."""
    out = _job_output(job)
    if out is None or not out.is_dir():
        return []
    found: list[JobFile] = []
    for folder, subfolders, names in os.walk(out):  # os.walk does not follow links
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith(".") or path.suffix not in JOB_FILE_SUFFIXES or path.is_symlink():
                continue
            with contextlib.suppress(OSError):
                found.append(JobFile(path.relative_to(out).as_posix(), path.stat().st_size))
    return found


def inference_job_file_path(job: InferenceJob, name: str) -> Path | None:
    """The file `name` of the job's output, only if it is one that `inference_job_files`
    lists: nothing outside the output folder (no `..`, no absolute path, no link)."""
    out = _job_output(job)
    if out is None or name not in {f.name for f in inference_job_files(job)}:
        return None
    root = out.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
