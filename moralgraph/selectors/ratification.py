"""Reads of the ratification phase: the open round, the pairs drawn for a participant (blind)
and the per-context report.

The draw is a pure function of the participant and the round's pairs, so it needs no stored
state and a reload shows the same screens: the pairs whose context belongs to one of the
participant's own questions, in an order (and with a left/right side for the target's
answer) taken from a hash of the participant's id and the pair's key. At most
`MAX_PAIRS_PER_PARTICIPANT` are drawn, one context after another, so a participant's few
judgements spread over their question's contexts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from moralgraph import studies
from moralgraph.models import (
    Context,
    RatificationJudgement,
    RatificationPair,
    RatificationRound,
)

MAX_PAIRS_PER_PARTICIPANT = 6
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class RoundRef:
    id: int
    study_id: int
    snapshot_id: int | None
    snapshot_content_hash: str
    target_model: str
    baseline_model: str
    opened_at: datetime
    closed_at: datetime | None
    pair_count: int

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class DrawnPair:
    """One pair as a participant sees it: "Answer 1" and "Answer 2", nothing saying which is
    the target's."""

    pair_id: int
    context: str
    prompt: str
    answer_1: str
    answer_2: str
    is_judged: bool


@dataclass(frozen=True)
class RatificationProgress:
    pairs: tuple[DrawnPair, ...]

    @property
    def total(self) -> int:
        return len(self.pairs)

    @property
    def judged(self) -> int:
        return sum(p.is_judged for p in self.pairs)

    @property
    def next_pair(self) -> DrawnPair | None:
        return next((p for p in self.pairs if not p.is_judged), None)


@dataclass(frozen=True)
class Share:
    count: int
    n: int
    low: float
    high: float

    @property
    def share(self) -> float:
        return self.count / self.n if self.n else 0.0

    def as_text(self) -> str:
        """``62% (41%–79%)``, or ``–`` before anyone judged."""
        if not self.n:
            return "–"
        return f"{self.share:.0%} ({self.low:.0%}–{self.high:.0%})"


@dataclass(frozen=True)
class ContextReport:
    context_id: int
    context: str
    pairs: int
    n: int
    prefers_target: Share
    prefers_baseline: Share
    same: Share
    embodies_yes: Share
    embodies_partly: Share


def wilson_interval(count: int, n: int, *, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a share `count / n` (95% by default); (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _share(count: int, n: int) -> Share:
    low, high = wilson_interval(count, n)
    return Share(count=count, n=n, low=low, high=high)


def _round_ref(row: RatificationRound, pair_count: int) -> RoundRef:
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


def ratification_rounds(*, study_id: int) -> list[RoundRef]:
    """The study's rounds, newest first."""
    rows = (
        RatificationRound.objects.filter(study_id=study_id)
        .annotate(pair_count=Count("pairs"))
        .order_by("-opened_at", "-id")
    )
    return [_round_ref(r, r.pair_count) for r in rows]


def ratification_open_round(*, study_id: int) -> RoundRef | None:
    row = RatificationRound.objects.filter(study_id=study_id, closed_at__isnull=True).first()
    if row is None:
        return None
    return _round_ref(row, RatificationPair.objects.filter(round_id=row.pk).count())


def _rank(participant_id: int, key: str) -> bytes:
    return hashlib.sha256(f"ratify:{participant_id}:{key}".encode()).digest()


def drawn_pairs(*, participant_id: int) -> list[tuple[RatificationPair, bool]]:
    """The pairs of the study's open round drawn for a participant, in their order, each with
    whether the target's answer is shown first. Empty without an open round."""
    study_id = studies.participant_study_id(participant_id=participant_id)
    if study_id is None:
        return []
    round_row = RatificationRound.objects.filter(study_id=study_id, closed_at__isnull=True).first()
    if round_row is None:
        return []
    questions = studies.participant_question_ids(participant_id=participant_id)
    if not questions:
        return []
    pairs = list(RatificationPair.objects.filter(round=round_row).select_related("context"))
    linked = studies.context_question_ids(context_ids={p.context_id for p in pairs})
    mine = [p for p in pairs if questions & set(linked.get(p.context_id) or p.question_ids or ())]
    # Per context, the pairs in the participant's hash order; then one context after another
    # (contexts too in hash order) until the cap.
    by_context: dict[int, list[RatificationPair]] = {}
    for pair in sorted(mine, key=lambda p: _rank(participant_id, p.key)):
        by_context.setdefault(pair.context_id, []).append(pair)
    queues = sorted(
        by_context.values(), key=lambda q: _rank(participant_id, f"context:{q[0].context_id}")
    )
    drawn: list[RatificationPair] = []
    while queues and len(drawn) < MAX_PAIRS_PER_PARTICIPANT:
        for queue in list(queues):
            if len(drawn) == MAX_PAIRS_PER_PARTICIPANT:
                break
            drawn.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
    return [(p, _rank(participant_id, f"side:{p.key}")[0] % 2 == 0) for p in drawn]


def ratification_progress(*, participant_id: int) -> RatificationProgress:
    """The participant's drawn pairs, blind, and which they have judged."""
    drawn = drawn_pairs(participant_id=participant_id)
    judged = set(
        RatificationJudgement.objects.filter(
            participant_id=participant_id, pair_id__in=[p.pk for p, _ in drawn]
        ).values_list("pair_id", flat=True)
    )
    return RatificationProgress(
        pairs=tuple(
            DrawnPair(
                pair_id=pair.pk,
                context=pair.context.text,
                prompt=pair.prompt,
                answer_1=pair.target_answer if is_target_left else pair.baseline_answer,
                answer_2=pair.baseline_answer if is_target_left else pair.target_answer,
                is_judged=pair.pk in judged,
            )
            for pair, is_target_left in drawn
        )
    )


def ratification_report(*, round_id: int) -> list[ContextReport]:
    """Per context of the round: how many judged, the share preferring the target's answer
    (and the baseline's, and neither) and the share saying it embodies their own card, each
    with a Wilson 95% interval. Staff previews are left out."""
    round_row = RatificationRound.objects.filter(pk=round_id).first()
    if round_row is None:
        return []
    previews = set(studies.preview_participant_ids(study_id=round_row.study_id))
    pair_counts: dict[int, int] = {}
    for context_id in RatificationPair.objects.filter(round_id=round_id).values_list(
        "context_id", flat=True
    ):
        pair_counts[context_id] = pair_counts.get(context_id, 0) + 1
    tallies: dict[int, dict[str, int]] = {c: {} for c in pair_counts}
    judgements = RatificationJudgement.objects.filter(pair__round_id=round_id).exclude(
        participant_id__in=previews
    )
    for context_id, preferred, embodies in judgements.values_list(
        "pair__context_id", "preferred", "embodies_own_card"
    ):
        tally = tallies[context_id]
        tally["n"] = tally.get("n", 0) + 1
        tally[f"p:{preferred}"] = tally.get(f"p:{preferred}", 0) + 1
        tally[f"e:{embodies}"] = tally.get(f"e:{embodies}", 0) + 1
    texts = dict(Context.objects.filter(pk__in=pair_counts).values_list("pk", "text"))
    reports = []
    for context_id in sorted(pair_counts, key=lambda c: (texts.get(c, ""), c)):
        tally = tallies[context_id]
        n = tally.get("n", 0)
        reports.append(
            ContextReport(
                context_id=context_id,
                context=texts.get(context_id, ""),
                pairs=pair_counts[context_id],
                n=n,
                prefers_target=_share(tally.get("p:target", 0), n),
                prefers_baseline=_share(tally.get("p:baseline", 0), n),
                same=_share(tally.get("p:same", 0), n),
                embodies_yes=_share(tally.get("e:yes", 0), n),
                embodies_partly=_share(tally.get("e:partly", 0), n),
            )
        )
    return reports
