"""The snapshot document of a build: the study and its questions, the contexts with the
questions each belongs to, the values touched, and the winners' summary rows kept on the
snapshot's row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.graph import GraphResult, Params, snapshot_document
from moralgraph.models import Context
from moralgraph.selectors.votes import VoteScope, values_for_snapshot


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _study_summary(study_id: int) -> dict[str, Any]:
    study = studies.study_ref(study_id=study_id)
    if study is None:
        raise MoralGraphError("unknown_study", "No such study.")
    questions = [
        {"id": q.id, "title": q.title, "text": q.text}
        for q in studies.study_questions(study_id=study_id)
    ]
    return {"slug": study.slug, "title": study.title, "questions": questions}


def document_for_build(
    scope: VoteScope,
    contexts: list[Context],
    result: GraphResult,
    params: Params,
    digest: str,
    created: datetime,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The snapshot document (its id filled in when stored) and the winners' summary rows."""
    touched = np.unique(np.concatenate([result.edges.from_value, result.edges.to_value]))
    values = values_for_snapshot(value_ids=[int(v) for v in touched])
    titles = {v["id"]: v["title"] for v in values}
    questions = studies.context_question_ids(context_ids=[c.pk for c in contexts])
    document = snapshot_document(
        snapshot_id=0,  # replaced by the row's id when stored, inside the same transaction
        created_at=iso_utc(created),
        study=_study_summary(scope.study_id),
        contexts=[
            {"id": c.pk, "text": c.text, "question_ids": questions.get(c.pk, [])} for c in contexts
        ],
        values=values,
        result=result,
        params=params,
        filters=scope.as_filters(),
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
            "tied_value_ids": w["tied_value_ids"],
        }
        for w in document["winners"]
    ]
    return document, winners
