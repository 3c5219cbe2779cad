"""Import the Meaning Alignment Institute's reference study (the `db-dump/` folder).

This app writes its own rows (the study, its questions, pseudonymous participants, the raw
cards); the graph's rows (values, contexts, hypotheses, impressions, votes) go through
moralgraph's bulk services, which request a rebuild of the study's live graph. Every row is
keyed on its source id, so a second run creates nothing and changes only what changed.

Mapping (`mai_rows` reads the files):
- case.json → Question (source_id = case id); context.json + contextsOnCases.json → contexts
- canonicalValuesCard.json → values (source_id = id)
- participants.csv and the userIds of votes and judgements → Participant ("user:<userId>");
  each raw card gets a participant of its own ("chat:<chatId>")
- valuesCard.json → ValuesCard (source_id = id, linked to its canonical value)
- impression.json + vote.json → selections; edge.json → upgrade votes;
  edgeHypothesis.json → upgrade hypotheses
- graphPositionVerification.json → PositionVerification, deduplicationVerification.json →
  DedupVerification (by the user; the latter on the raw card `valuesCardId`). Their
  `deduplicatedCardId` belongs to a later re-deduplication, not to the canonical values, so
  the row names no value: the id stays in its source id ("position:<userId>:<dedupId>",
  "dedup:<userId>:<valuesCardId>:<dedupId>").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction

from elicitation.importers import mai_rows
from elicitation.importers.mai_rows import Dump
from elicitation.models import (
    DedupVerification,
    Participant,
    PositionVerification,
    Question,
    Study,
    ValuesCard,
)
from moralgraph.services import (
    contexts_import,
    hypotheses_import,
    selections_import,
    upgrade_votes_import,
    values_import,
)

BATCH = 2000


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in self.counts.items())


@dataclass(frozen=True)
class _Ids:
    """Source id → our id, for each kind of row the later steps point at."""

    questions: dict[str, int]
    values: dict[int, int]
    contexts: dict[str, int]
    participants: dict[str, int]


@transaction.atomic
def mai_study_import(*, folder: Path, slug: str, title: str = "") -> tuple[Study, ImportReport]:
    """Import (or bring up to date) the reference study from `folder` (a `db-dump/`). One
    transaction: a failed import leaves nothing behind; the rebuild goes out after commit."""
    dump = mai_rows.load_dump(Path(folder))
    study = _study_ensure(slug=slug, title=title)
    questions = _questions_sync(study, dump)
    values = {
        int(source): pk
        for source, pk in values_import(study_id=study.pk, values=mai_rows.value_rows(dump)).items()
        if source.isascii() and source.isdigit()
    }
    contexts = contexts_import(study_id=study.pk, contexts=mai_rows.context_rows(dump, questions))
    participants = _participants_sync(study, mai_rows.participant_sources(dump))
    ids = _Ids(questions=questions, values=values, contexts=contexts, participants=participants)
    cards = _cards_sync(study, dump, ids)
    checks = _checks_sync(study, dump, ids)
    graph = _graph_rows_import(study.pk, dump, ids)
    report = ImportReport(
        counts={
            "questions": len(questions),
            "contexts": len(contexts),
            "values": len(values),
            "participants": len(participants),
            "cards": cards,
            **graph,
            **checks,
        }
    )
    return study, report


def _study_ensure(*, slug: str, title: str) -> Study:
    study, _ = Study.objects.get_or_create(
        slug=slug,
        defaults={
            "title": title or "Democratic Fine-Tuning (Meaning Alignment Institute, 2023)",
            "status": Study.Status.CLOSED,
        },
    )
    return study


def _questions_sync(study: Study, dump: Dump) -> dict[str, int]:
    """The study's questions, one per case, in the dump's order; case id → question id."""
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
            for order, case in enumerate(dump.cases)
        ],
        ["title", "text", "seed_message", "order"],
    )
    return dict(
        Question.objects.filter(study=study).exclude(source_id="").values_list("source_id", "id")
    )


def _participants_sync(study: Study, joined: dict[str, datetime | None]) -> dict[str, int]:
    """Pseudonymous participants, finished; source id → participant id."""
    _sync_by_source_id(
        Participant,
        Participant.objects.filter(study=study),
        [
            Participant(
                study=study, source_id=source, consented_at=moment, stage=Participant.Stage.FINISHED
            )
            for source, moment in joined.items()
        ],
        [],
    )
    return dict(
        Participant.objects.filter(study=study).exclude(source_id="").values_list("source_id", "id")
    )


def _cards_sync(study: Study, dump: Dump, ids: _Ids) -> int:
    """Raw cards, linked to their canonical value (the 5 "invalid" ones have none); the
    study's card count."""
    _sync_by_source_id(
        ValuesCard,
        ValuesCard.objects.filter(participant__study=study),
        [
            ValuesCard(
                participant_id=ids.participants[f"chat:{card['chatId']}"],
                source_id=str(card["id"]),
                title=card["title"],
                description=card["instructionsShort"],
                policies=list(card["evaluationCriteria"]),
                value_id=ids.values.get(card["canonicalCardId"]),  # None when it has none
                submitted_at=mai_rows.when(card["createdAt"]),
            )
            for card in dump.raw_cards
        ],
        ["title", "description", "policies", "value_id"],
    )
    return ValuesCard.objects.filter(participant__study=study).count()


def _checks_sync(study: Study, dump: Dump, ids: _Ids) -> dict[str, int]:
    """The participants' legitimacy checks: is their value's position fair, is the merged
    value the same as their card; the study's counts of each."""
    card_of = dict(
        ValuesCard.objects.filter(participant__study=study)
        .exclude(source_id="")
        .values_list("source_id", "id")
    )
    positions = PositionVerification.objects.filter(participant__study=study)
    _sync_by_source_id(
        PositionVerification,
        positions,
        [
            PositionVerification(
                participant_id=ids.participants[f"user:{row['userId']}"],
                source_id=mai_rows.position_check_source(row),
                is_fair=bool(row["isSatisfiedWithPosition"]),
            )
            for row in dump.position_checks
        ],
        ["is_fair"],
    )
    dedups = DedupVerification.objects.filter(participant__study=study)
    _sync_by_source_id(
        DedupVerification,
        dedups,
        [
            DedupVerification(
                participant_id=ids.participants[f"user:{row['userId']}"],
                card_id=card_of.get(str(row["valuesCardId"])),
                source_id=mai_rows.dedup_check_source(row),
                option=row["option"],
            )
            for row in dump.dedup_checks
        ],
        ["option", "card_id"],
    )
    return {"position_checks": positions.count(), "dedup_checks": dedups.count()}


def _graph_rows_import(study_id: int, dump: Dump, ids: _Ids) -> dict[str, int]:
    """Impressions, hypotheses, then the votes (whose import requests the rebuild)."""
    selections = selections_import(
        study_id=study_id,
        selections=mai_rows.selection_rows(dump, ids.participants, ids.values, ids.questions),
    )
    hypotheses = hypotheses_import(
        study_id=study_id, hypotheses=mai_rows.hypothesis_rows(dump, ids.values, ids.contexts)
    )
    votes = upgrade_votes_import(
        study_id=study_id,
        votes=mai_rows.vote_rows(dump, ids.participants, ids.values, ids.contexts),
    )
    return {"selections": selections, "votes": votes, "hypotheses": hypotheses}


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
