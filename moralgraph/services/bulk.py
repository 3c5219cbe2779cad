"""Bulk writes of a study's graph rows from an outside source (the reference study's dump).

Another app hands in plain rows (frozen dataclasses of ids and primitive values) and gets ids
back; nothing here knows the source's format. Every call is one transaction and an idempotent
upsert: values are keyed on their source id, contexts on their text, the rest on their unique
constraints, so importing the same rows again creates nothing. Values, contexts and questions
are checked to be the study's; participant ids are the caller's word (they live in the other
app, and a check per participant would cost more than the import). `upgrade_votes_import`
marks the study's graph out of date, so importers call it last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.models import Context, Selection, UpgradeHypothesis, UpgradeVote, Value
from moralgraph.services.snapshots import snapshot_rebuild_request

BATCH = 2000


@dataclass(frozen=True)
class ValueRow:
    source_id: str
    title: str
    description: str
    policies: tuple[str, ...]
    instructions_short: str
    instructions_detailed: str
    created_at: datetime


@dataclass(frozen=True)
class ContextRow:
    text: str
    question_ids: tuple[int, ...]


@dataclass(frozen=True)
class HypothesisRow:
    from_value_id: int
    to_value_id: int
    context_id: int
    story: str
    run_id: str
    created_at: datetime


@dataclass(frozen=True)
class SelectionRow:
    participant_id: int
    value_id: int
    question_id: int | None
    draw_id: str
    is_picked: bool
    created_at: datetime


@dataclass(frozen=True)
class VoteRow:
    participant_id: int
    from_value_id: int
    to_value_id: int
    context_id: int
    story: str
    choice: str
    reason: str
    created_at: datetime
    updated_at: datetime


_VALUE_FIELDS = ["title", "description", "policies", "instructions_short", "instructions_detailed"]


@transaction.atomic
def values_import(*, study_id: int, values: Sequence[ValueRow]) -> dict[str, int]:
    """Create or update the study's values by source id; every source id → value id."""
    existing = {
        value.source_id: value
        for value in Value.objects.filter(study_id=study_id).only("id", "source_id", *_VALUE_FIELDS)
    }
    new: list[Value] = []
    changed: list[Value] = []
    for row in values:
        fields: dict[str, Any] = {name: getattr(row, name) for name in _VALUE_FIELDS}
        fields["policies"] = list(row.policies)
        old = existing.get(row.source_id)
        if old is None:
            new.append(
                Value(
                    study_id=study_id, source_id=row.source_id, created_at=row.created_at, **fields
                )
            )
        elif any(getattr(old, name) != wanted for name, wanted in fields.items()):
            for name, wanted in fields.items():
                setattr(old, name, wanted)
            changed.append(old)
    # The unique source id is conditional (blank ones repeat); PostgreSQL cannot take such a
    # partial index as an ON CONFLICT target without its predicate, which Django does not
    # emit, hence the read-compare-write instead of one upsert.
    Value.objects.bulk_create(new, batch_size=BATCH)
    if changed:
        Value.objects.bulk_update(changed, _VALUE_FIELDS, batch_size=BATCH)
    return dict(
        Value.objects.filter(study_id=study_id).exclude(source_id="").values_list("source_id", "id")
    )


@transaction.atomic
def contexts_import(*, study_id: int, contexts: Sequence[ContextRow]) -> dict[str, int]:
    """Create the study's contexts that are missing (an existing one keeps its origin) and link
    them to their questions; every context text of the study → context id."""
    _check_owned(study_id, question_ids=[q for row in contexts for q in row.question_ids])
    Context.objects.bulk_create(
        [
            Context(
                study_id=study_id,
                text=row.text,
                origin=Context.Origin.IMPORTED,
                status=Context.Status.APPROVED,
            )
            for row in contexts
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    context_of = dict(Context.objects.filter(study_id=study_id).values_list("text", "id"))
    links = Context.questions.through
    links.objects.bulk_create(
        [
            links(context_id=context_of[row.text], question_id=question_id)
            for row in contexts
            for question_id in row.question_ids
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    return context_of


@transaction.atomic
def hypotheses_import(
    *, study_id: int, hypotheses: Sequence[HypothesisRow], generator_model: str = "imported"
) -> int:
    """Upsert upgrade hypotheses (one per pair, context and run); the study's count after."""
    _check_owned(
        study_id,
        value_ids=[v for row in hypotheses for v in (row.from_value_id, row.to_value_id)],
        context_ids=[row.context_id for row in hypotheses],
    )
    UpgradeHypothesis.objects.bulk_create(
        [
            UpgradeHypothesis(study_id=study_id, generator_model=generator_model, **vars(row))
            for row in hypotheses
        ],
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["from_value", "to_value", "context", "run_id"],
        update_fields=["story"],
    )
    return UpgradeHypothesis.objects.filter(study_id=study_id).count()


@transaction.atomic
def selections_import(*, study_id: int, selections: Sequence[SelectionRow]) -> int:
    """Upsert impressions (one per participant, draw and value); the study's count after."""
    _check_owned(
        study_id,
        value_ids=[row.value_id for row in selections],
        question_ids=[row.question_id for row in selections if row.question_id is not None],
    )
    Selection.objects.bulk_create(
        [Selection(study_id=study_id, **vars(row)) for row in selections],
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["participant", "draw_id", "value"],
        update_fields=["is_picked", "question", "created_at"],
    )
    return Selection.objects.filter(study_id=study_id).count()


@transaction.atomic
def upgrade_votes_import(*, study_id: int, votes: Sequence[VoteRow]) -> int:
    """Upsert judgements with their original times (one per participant, pair and context)
    and request a rebuild of the study's live graph; the study's vote count after."""
    unknown = {row.choice for row in votes} - set(UpgradeVote.Choice.values)
    if unknown:
        raise MoralGraphError("bad_choice", f"Unknown vote choices {sorted(unknown)}.")
    _check_owned(
        study_id,
        value_ids=[v for row in votes for v in (row.from_value_id, row.to_value_id)],
        context_ids=[row.context_id for row in votes],
    )
    UpgradeVote.objects.bulk_create(
        [UpgradeVote(study_id=study_id, **vars(row)) for row in votes],
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["participant", "from_value", "to_value", "context"],
        update_fields=["story", "choice", "reason", "created_at", "updated_at"],
    )
    snapshot_rebuild_request(study_id=study_id)
    return UpgradeVote.objects.filter(study_id=study_id).count()


def _check_owned(
    study_id: int,
    *,
    value_ids: Iterable[int] = (),
    context_ids: Iterable[int] = (),
    question_ids: Iterable[int] = (),
) -> None:
    """Rows may point only at the study's own values, contexts and questions."""
    values, contexts, questions = set(value_ids), set(context_ids), set(question_ids)
    if values and values - set(
        Value.objects.filter(study_id=study_id, pk__in=values).values_list("id", flat=True)
    ):
        raise MoralGraphError("other_study", "Some rows point at values of another study.")
    if contexts and contexts - set(
        Context.objects.filter(study_id=study_id, pk__in=contexts).values_list("id", flat=True)
    ):
        raise MoralGraphError("other_study", "Some rows point at contexts of another study.")
    if questions and questions - {q.id for q in studies.study_questions(study_id=study_id)}:
        raise MoralGraphError("other_study", "Some rows point at questions of another study.")
