"""Writes of the ratification phase: open a round from a snapshot and the pairs file that
`python -m inference ratify-sample` wrote for it, record a participant's judgement of a pair
drawn for them (once), close the round."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from moralgraph.errors import MoralGraphError
from moralgraph.models import (
    Context,
    GraphSnapshot,
    RatificationJudgement,
    RatificationPair,
    RatificationRound,
)
from moralgraph.selectors.ratification import RoundRef, drawn_pairs, ratification_open_round

# What the participant's page sends: the answer shown first, second, or neither.
ANSWER_1 = "answer_1"
ANSWER_2 = "answer_2"
SAME = "same"
CHOICES = (ANSWER_1, ANSWER_2, SAME)
MAX_PAIRS_PER_ROUND = 5000
_REQUIRED = ("key", "prompt", "target_answer", "baseline_answer")


def _parse_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MoralGraphError(
                "bad_pairs_file", f"Line {number} of the pairs file is not JSON ({exc.msg})."
            ) from exc
        if not isinstance(record, dict):
            raise MoralGraphError("bad_pairs_file", f"Line {number} is not a JSON object.")
        missing = [k for k in _REQUIRED if not str(record.get(k) or "").strip()]
        if missing or not (record.get("context_id") or record.get("context")):
            raise MoralGraphError(
                "bad_pairs_file",
                f"Line {number} lacks {', '.join(missing) or 'a context'}: is this a pairs.jsonl "
                "from `python -m inference ratify-sample`?",
            )
        records.append(record)
        if len(records) > MAX_PAIRS_PER_ROUND:
            raise MoralGraphError(
                "too_many_pairs", f"A round holds at most {MAX_PAIRS_PER_ROUND} pairs."
            )
    if not records:
        raise MoralGraphError("no_pairs", "The pairs file holds no pairs.")
    return records


@dataclass(frozen=True)
class RecordedJudgement:
    id: int
    pair_id: int
    preferred: str
    embodies_own_card: str


def _context_for(
    record: dict[str, Any], by_id: dict[int, Context], by_text: dict[str, Context]
) -> Context | None:
    """The study's context a line names, by the snapshot's context id, else by its text."""
    raw = record.get("context_id")
    if isinstance(raw, int) and raw in by_id:
        context = by_id[raw]
        if not record.get("context") or record["context"] == context.text:
            return context
    return by_text.get(str(record.get("context") or ""))


@transaction.atomic
def ratification_round_open(
    *, study_id: int, snapshot_id: int, pairs_lines: Iterable[str], opened_by_id: int | None
) -> RoundRef:
    """Open the study's round on a snapshot with the pairs made from it. Refused while another
    round is open, for a snapshot of another study, and for a file made from another
    snapshot or naming contexts the study does not have."""
    snapshot = GraphSnapshot.objects.filter(pk=snapshot_id, study_id=study_id).first()
    if snapshot is None:
        raise MoralGraphError("unknown_snapshot", "That snapshot does not belong to this study.")
    records = _parse_lines(pairs_lines)
    hashes = {str(r.get("snapshot_content_hash") or "") for r in records}
    if hashes != {snapshot.content_hash}:
        raise MoralGraphError(
            "wrong_snapshot",
            f"The pairs were made from another snapshot ({', '.join(sorted(hashes))[:40]}…), "
            f"not from snapshot #{snapshot.pk} ({snapshot.content_hash[:12]}…).",
        )
    contexts = list(Context.objects.filter(study_id=study_id))
    by_id = {c.pk: c for c in contexts}
    by_text = {c.text: c for c in contexts}
    resolved = [(r, _context_for(r, by_id, by_text)) for r in records]
    unknown = sorted({str(r.get("context")) for r, c in resolved if c is None})
    if unknown:
        raise MoralGraphError(
            "unknown_context", f"The study has no context {unknown[0]!r} named in the pairs."
        )
    if len({str(r["key"]) for r in records}) != len(records):
        raise MoralGraphError("duplicate_pairs", "The pairs file names a pair twice.")
    # Lock the study's rounds so two opens cannot both pass the check (the constraint is the
    # last word either way).
    if (
        RatificationRound.objects.select_for_update()
        .filter(study_id=study_id, closed_at__isnull=True)
        .exists()
    ):
        raise MoralGraphError("round_open", "A round is already open: close it first.")
    first = records[0]
    try:
        with transaction.atomic():
            round_row = RatificationRound.objects.create(
                study_id=study_id,
                snapshot=snapshot,
                snapshot_content_hash=snapshot.content_hash,
                target_model=str(first.get("target_model") or "")[:200],
                baseline_model=str(first.get("baseline_model") or "")[:200],
                opened_by_id=opened_by_id,
            )
    except IntegrityError as exc:
        raise MoralGraphError("round_open", "A round is already open: close it first.") from exc
    RatificationPair.objects.bulk_create(
        RatificationPair(
            round=round_row,
            context=context,
            question_ids=[int(q) for q in record.get("question_ids") or []],
            key=str(record["key"])[:300],
            prompt=str(record["prompt"]),
            target_answer=str(record["target_answer"]),
            baseline_answer=str(record["baseline_answer"]),
            value_ids=[int(v) for v in record.get("value_ids") or []],
        )
        for record, context in resolved
        if context is not None
    )
    found = ratification_open_round(study_id=study_id)
    assert found is not None
    return found


@transaction.atomic
def ratification_round_close(*, study_id: int) -> RoundRef:
    """Close the study's open round: participants see no more pairs; the report stays."""
    row = (
        RatificationRound.objects.select_for_update()
        .filter(study_id=study_id, closed_at__isnull=True)
        .first()
    )
    if row is None:
        raise MoralGraphError("no_open_round", "No round is open.")
    row.closed_at = timezone.now()
    row.save(update_fields=["closed_at"])
    pair_count = RatificationPair.objects.filter(round_id=row.pk).count()
    return RoundRef(
        id=row.pk,
        study_id=row.study_id,
        snapshot_id=row.snapshot_id,
        snapshot_content_hash=row.snapshot_content_hash,
        target_model=row.target_model,
        baseline_model=row.baseline_model,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        pair_count=pair_count,
    )


@transaction.atomic
def ratification_judgement_record(
    *, participant_id: int, pair_id: int, choice: str, embodies_own_card: str
) -> RecordedJudgement:
    """Record a participant's judgement of a pair drawn for them: `choice` names the answer
    as they saw it (answer_1, answer_2 or same), which the draw maps to the target's or the
    baseline's. Refused for a pair not drawn for them, once the round is closed, and the
    second time."""
    if choice not in CHOICES:
        raise MoralGraphError("answer_required", _("Please choose which answer is better."))
    if embodies_own_card not in RatificationJudgement.Embodiment.values:
        raise MoralGraphError(
            "embodiment_required", _("Please say whether it embodies your own card.")
        )
    drawn = {
        pair.pk: is_target_left
        for pair, is_target_left in drawn_pairs(participant_id=participant_id)
    }
    if pair_id not in drawn:
        raise MoralGraphError("not_drawn", _("That pair was not shown to you."))
    is_target_left = drawn[pair_id]
    if choice == SAME:
        preferred = RatificationJudgement.Preference.SAME
    elif (choice == ANSWER_1) == is_target_left:
        preferred = RatificationJudgement.Preference.TARGET
    else:
        preferred = RatificationJudgement.Preference.BASELINE
    try:
        with transaction.atomic():
            row = RatificationJudgement.objects.create(
                pair_id=pair_id,
                participant_id=participant_id,
                is_target_left=is_target_left,
                preferred=preferred,
                embodies_own_card=embodies_own_card,
            )
    except IntegrityError as exc:
        raise MoralGraphError("already_judged", _("You have already judged this pair.")) from exc
    return RecordedJudgement(
        id=row.pk,
        pair_id=pair_id,
        preferred=row.preferred,
        embodies_own_card=row.embodies_own_card,
    )
