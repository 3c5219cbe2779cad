"""The draw of upgrade stories a participant judges."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from moralgraph.models import (
    Context,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)

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


def _available(participant_id: int, study_id: int) -> list[dict[str, Any]]:
    """The study's stories between active values that the participant has not judged (one per
    pair and context), each with the votes that pair and context have so far."""
    judged = set(
        UpgradeVote.objects.filter(participant_id=participant_id).values_list(
            "from_value_id", "to_value_id", "context_id"
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
        .filter(context__status=Context.Status.APPROVED)  # proposed or rejected: never drawn
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
    return available


def hypotheses_draw(
    *, participant_id: int, study_id: int, count: int, seed: int | None = None
) -> list[DrawnHypothesis]:
    """Up to `count` hypotheses for a participant: each slot picks a strategy with weights
    popular 0.3 / convergent 0.3 / sparse 0.4, then a hypothesis from that strategy's order
    (weight decaying with rank), weighting up those whose from-value the participant picked.
    Hypotheses the participant already judged (same pair and context) are never drawn again."""
    rng = random.Random(seed if seed is not None else participant_id)
    picked = set(
        Selection.objects.filter(participant_id=participant_id, is_picked=True).values_list(
            "value_id", flat=True
        )
    )
    available = _available(participant_id, study_id)
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
