"""The snapshot document of a build: the study and its questions, the contexts with the
questions each belongs to, the values touched (each with its wording's language and its
current translations), and the winners' summary rows kept on the snapshot's row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.graph import GraphResult, Params, snapshot_document
from moralgraph.models import Context, Value, ValueTranslation
from moralgraph.selectors.translations import language_base, value_wording_hash
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


def with_languages(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The value entries with `language` (their wording's; "" when not recorded) and
    `translations`: language → {title, description, policies} of the translations made from
    the wording the entry carries (a translation of an earlier wording is left out)."""
    ids = [int(v["id"]) for v in values]
    rows = list(
        Value.objects.filter(pk__in=ids).only("id", "title", "description", "policies", "language")
    )
    languages = {value.pk: value.language for value in rows}
    current = {value.pk: value_wording_hash(value) for value in rows}
    translations: dict[int, dict[str, dict[str, Any]]] = {}
    made = (
        ValueTranslation.objects.filter(value_id__in=ids)
        .order_by("value_id", "language")
        .values_list("value_id", "language", "title", "description", "policies", "source_hash")
    )
    for value_id, language, title, description, policies, source_hash in made:
        original = language_base(languages.get(value_id))
        if source_hash != current.get(value_id) or language_base(language) == original:
            continue
        translations.setdefault(value_id, {})[language] = {
            "title": title,
            "description": description,
            "policies": [str(p) for p in policies],
        }
    return [
        {
            **v,
            "language": languages.get(int(v["id"]), ""),
            "translations": translations.get(int(v["id"]), {}),
        }
        for v in values
    ]


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
    values = with_languages(values_for_snapshot(value_ids=[int(v) for v in touched]))
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
