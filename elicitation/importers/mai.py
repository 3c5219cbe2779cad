"""Import the Meaning Alignment Institute's reference study (the `db-dump/` folder).

Every row is keyed on its source id, so a second run updates nothing and creates nothing.
Bulk upserts (`INSERT … ON CONFLICT`) keep the whole import to a few seconds.

Mapping (DESIGN §3):
- case.json → Question (source_id = case id); context.json + contextsOnCases.json → Context
- canonicalValuesCard.json → Value (source_id = id; description = instructionsShort,
  policies = evaluationCriteria)
- participants.csv and the userIds of votes and judgements → pseudonymous Participant
  (source_id = "user:<userId>"). valuesCard.json has no userId (only a chat id), so each raw
  card gets a pseudonymous participant of its own ("chat:<chatId>").
- valuesCard.json → ValuesCard (source_id = id, linked to its canonical Value)
- impression.json + vote.json → Selection (shown; picked when a vote exists for it)
- edge.json → UpgradeVote (original createdAt, story, reason = comment; no hypothesis)
- edgeHypothesis.json → UpgradeHypothesis
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from elicitation.models import Participant, Question, Study, ValuesCard
from moralgraph.models import (
    Context,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)

BATCH = 2000


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in self.counts.items())


def _load(folder: Path, name: str) -> list[dict[str, Any]]:
    with (folder / f"{name}.json").open(encoding="utf-8") as handle:
        rows: list[dict[str, Any]] = json.load(handle)
    return rows


def _when(text: str | None) -> datetime:
    moment = parse_datetime(text) if text else None
    if moment is None:
        raise ValueError(f"not a timestamp: {text!r}")
    return moment


def _upsert(model: Any, rows: list[Any], unique: list[str], update: list[str]) -> None:
    """INSERT … ON CONFLICT against a plain unique constraint."""
    model.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=bool(update),
        ignore_conflicts=not update,
        unique_fields=unique if update else None,
        update_fields=update or None,
    )


def _sync_by_source_id(model: Any, scope: Any, rows: list[Any], update: list[str]) -> None:
    """Upsert on a conditional unique `source_id` (PostgreSQL cannot infer a partial index in
    ON CONFLICT without its predicate, which Django does not emit): create the new rows,
    update only the rows whose fields differ."""
    existing = {obj.source_id: obj for obj in scope.only("id", "source_id", *update)}
    new = [row for row in rows if row.source_id not in existing]
    changed = []
    for row in rows:
        old = existing.get(row.source_id)
        if old is None:
            continue
        if any(getattr(old, name) != getattr(row, name) for name in update):
            for name in update:
                setattr(old, name, getattr(row, name))
            changed.append(old)
    model.objects.bulk_create(new, batch_size=BATCH)
    if changed and update:
        model.objects.bulk_update(changed, update, batch_size=BATCH)


@transaction.atomic
def mai_study_import(*, folder: Path, slug: str, title: str = "") -> tuple[Study, ImportReport]:
    """Import (or bring up to date) the reference study from `folder` (a `db-dump/`)."""
    folder = Path(folder)
    if not (folder / "edge.json").is_file():
        raise FileNotFoundError(f"{folder} does not look like the reference db-dump (no edge.json)")
    study, _ = Study.objects.get_or_create(
        slug=slug,
        defaults={
            "title": title or "Democratic Fine-Tuning (Meaning Alignment Institute, 2023)",
            "status": Study.Status.CLOSED,
        },
    )

    # Questions.
    cases = _load(folder, "case")
    _sync_by_source_id(
        Question,
        Question.objects.filter(study=study),
        [
            Question(
                study=study,
                source_id=case["id"],
                title=case["title"],
                text=case["question"],
                seed_message=case.get("seedMessage") or "",
                order=order,
            )
            for order, case in enumerate(cases)
        ],
        ["title", "text", "seed_message", "order"],
    )
    question_of = dict(
        Question.objects.filter(study=study).exclude(source_id="").values_list("source_id", "id")
    )

    # Contexts and their questions.
    _upsert(
        Context,
        [
            Context(study=study, text=row["id"], origin=Context.Origin.IMPORTED)
            for row in _load(folder, "context")
        ],
        ["study", "text"],
        [],
    )
    context_of = dict(Context.objects.filter(study=study).values_list("text", "id"))
    links = Context.questions.through
    _upsert(
        links,
        [
            links(context_id=context_of[row["contextId"]], question_id=question_of[row["caseId"]])
            for row in _load(folder, "contextsOnCases")
        ],
        [],
        [],
    )

    # Canonical values.
    _sync_by_source_id(
        Value,
        Value.objects.filter(study=study),
        [
            Value(
                study=study,
                source_id=str(row["id"]),
                title=row["title"],
                description=row["instructionsShort"],
                policies=list(row["evaluationCriteria"]),
                instructions_short=row["instructionsShort"],
                instructions_detailed=row["instructionsDetailed"],
                created_at=_when(row["createdAt"]),
            )
            for row in _load(folder, "canonicalValuesCard")
        ],
        ["title", "description", "policies", "instructions_short", "instructions_detailed"],
    )
    value_of = {
        int(source): pk
        for source, pk in Value.objects.filter(study=study)
        .exclude(source_id="")
        .values_list("source_id", "id")
        if source.isdigit()
    }

    # Participants: pseudonymous, keyed on the source's user id (or chat id for raw cards).
    edges = _load(folder, "edge")
    votes = _load(folder, "vote")
    impressions = _load(folder, "impression")
    raw_cards = _load(folder, "valuesCard")
    joined: dict[str, datetime | None] = {}
    participants_csv = folder / "participants.csv"
    if participants_csv.is_file():
        with participants_csv.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                joined[f"user:{row['userId']}"] = _when(row["createdAt"])
    for row in [*edges, *votes, *impressions]:
        joined.setdefault(f"user:{row['userId']}", None)
    for card in raw_cards:
        joined.setdefault(f"chat:{card['chatId']}", _when(card["createdAt"]))
    _sync_by_source_id(
        Participant,
        Participant.objects.filter(study=study),
        [
            Participant(
                study=study,
                source_id=source,
                consented_at=moment,
                stage=Participant.Stage.FINISHED,
            )
            for source, moment in joined.items()
        ],
        [],
    )
    participant_of = dict(
        Participant.objects.filter(study=study).exclude(source_id="").values_list("source_id", "id")
    )

    # Raw cards, linked to their canonical value (the 5 "invalid" ones have none).
    _sync_by_source_id(
        ValuesCard,
        ValuesCard.objects.filter(participant__study=study),
        [
            ValuesCard(
                participant_id=participant_of[f"chat:{card['chatId']}"],
                source_id=str(card["id"]),
                title=card["title"],
                description=card["instructionsShort"],
                policies=list(card["evaluationCriteria"]),
                value_id=value_of.get(card["canonicalCardId"]) if card["canonicalCardId"] else None,
                submitted_at=_when(card["createdAt"]),
            )
            for card in raw_cards
        ],
        ["title", "description", "policies", "value_id"],
    )

    # Selections: every impression, picked when the same user voted for it in that draw.
    picked = {(v["userId"], v["drawId"], v["valuesCardId"]) for v in votes}
    shown: dict[tuple[int, str, int], dict[str, Any]] = {}
    for row in [*impressions, *votes]:  # votes all have impressions; kept in case they do not
        key = (row["userId"], row["drawId"], row["valuesCardId"])
        if key not in shown or row["createdAt"] < shown[key]["createdAt"]:
            shown[key] = row
    _upsert(
        Selection,
        [
            Selection(
                study=study,
                participant_id=participant_of[f"user:{user}"],
                value_id=value_of[card],
                question_id=question_of.get(row["caseId"]),
                draw_id=draw,
                is_picked=(user, draw, card) in picked,
                created_at=_when(row["createdAt"]),
            )
            for (user, draw, card), row in shown.items()
        ],
        ["participant", "draw_id", "value"],
        ["is_picked", "question", "created_at"],
    )

    # Upgrade judgements, with their original times.
    _upsert(
        UpgradeVote,
        [
            UpgradeVote(
                study=study,
                participant_id=participant_of[f"user:{row['userId']}"],
                from_value_id=value_of[row["fromId"]],
                to_value_id=value_of[row["toId"]],
                context_id=context_of[row["contextId"]],
                story="" if row["story"] == "OLD" else row["story"],
                choice=row["relationship"],
                reason=row.get("comment") or "",
                created_at=_when(row["createdAt"]),
                updated_at=_when(row["updatedAt"]),
            )
            for row in edges
        ],
        ["participant", "from_value", "to_value", "context"],
        ["story", "choice", "reason", "created_at", "updated_at"],
    )

    # Generated upgrade hypotheses.
    _upsert(
        UpgradeHypothesis,
        [
            UpgradeHypothesis(
                study=study,
                from_value_id=value_of[row["fromId"]],
                to_value_id=value_of[row["toId"]],
                context_id=context_of[row["contextId"]],
                story=row["story"],
                run_id=row["runId"],
                generator_model="imported",
                created_at=_when(row["createdAt"]),
            )
            for row in _load(folder, "edgeHypothesis")
        ],
        ["from_value", "to_value", "context", "run_id"],
        ["story"],
    )

    report = ImportReport(
        counts={
            "questions": Question.objects.filter(study=study).count(),
            "contexts": Context.objects.filter(study=study).count(),
            "values": Value.objects.filter(study=study).count(),
            "participants": Participant.objects.filter(study=study).count(),
            "cards": ValuesCard.objects.filter(participant__study=study).count(),
            "selections": Selection.objects.filter(study=study).count(),
            "votes": UpgradeVote.objects.filter(study=study).count(),
            "hypotheses": UpgradeHypothesis.objects.filter(study=study).count(),
        }
    )
    return study, report
