"""How sure the graph is: which winners and edges a dataset trains on, and with what weight.

A snapshot's winner is a point estimate. Its ``win_probability`` (the share of bootstrap
resamples of the participants it won; a k-way tie in a resample counts 1/k from snapshot
schema version 2 on) and its tie (``tied_value_ids``, ``tie``, version 2) say how far the
votes single it out; an edge's ``interval`` (the 95% credible interval of the share of
decisive voters who judged ``to`` wiser than ``from``) says how far the votes back it.

The rules, the same for every dataset command:

- **Contested winners are left out of SFT and KTO**: a tied winner (the graph does not
  single out one value, so there is none to imitate), and one whose win probability is below
  ``--min-win-probability`` (default 0.5: in most resamples another value won). A winner
  without a win probability (a snapshot built without the bootstrap) is kept; the card says
  that its uncertainty is unknown. DPO does not use winners, only edges.
- **Edges below ``--min-edge-lower-bound``** (default 0: every kept edge) give no DPO pair
  and no KTO undesirable example.
- **KTO's undesirable side** is limited to values that lost, in the context, on a kept edge
  into the winner whose interval lies clearly above one half (its lower bound above
  ``KTO_UNDESIRABLE_LOWER_BOUND`` = 0.5): most decisive voters judged the winner wiser, even
  at the pessimistic end. A value the winner beat on thinner evidence is not labelled
  undesirable: "less wise here" would claim more than the votes say.
- **Weights** (``weight`` on every line, in [0, 1], rounded to 4 places): SFT and KTO's
  desirable examples take the winner's win probability (1.0 when unknown); DPO pairs and
  KTO's undesirable examples take the lower bound of their edge's interval.

Documents of schema version 1 lack the tie fields and the contexts' questions: they read as
"no tie" and "all of the study's questions".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inference.targets import ContextWinner, GraphEdge, Snapshot

DEFAULT_MIN_WIN_PROBABILITY = 0.5
DEFAULT_MIN_EDGE_LOWER_BOUND = 0.0
KTO_UNDESIRABLE_LOWER_BOUND = 0.5
WEIGHT_DIGITS = 4

TIED = "tied"
LOW_WIN_PROBABILITY = "low_win_probability"


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_win_probability: float = DEFAULT_MIN_WIN_PROBABILITY
    min_edge_lower_bound: float = DEFAULT_MIN_EDGE_LOWER_BOUND

    def __post_init__(self) -> None:
        for name in ("min_win_probability", "min_edge_lower_bound"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie between 0 and 1")

    def as_json(self) -> dict[str, float]:
        return {
            "min_win_probability": self.min_win_probability,
            "min_edge_lower_bound": self.min_edge_lower_bound,
            "kto_undesirable_lower_bound": KTO_UNDESIRABLE_LOWER_BOUND,
        }


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A winner that SFT and KTO leave out, and why."""

    context: str
    context_id: int | str
    value_id: int
    win_probability: float | None
    tied_value_ids: tuple[int, ...]
    reason: str  # TIED or LOW_WIN_PROBABILITY
    explanation: str

    def as_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "context_id": self.context_id,
            "value_id": self.value_id,
            "win_probability": self.win_probability,
            "tied_value_ids": list(self.tied_value_ids),
            "reason": self.reason,
            "explanation": self.explanation,
        }


# -- the snapshot's version 2 fields, read with version 1 fallbacks -----------------------------


def _entry(snapshot: Snapshot, winner: ContextWinner) -> Mapping[str, Any]:
    """The winner's entry in the document (few winners: a scan is enough)."""
    for entry in snapshot.document["winners"]:
        if str(entry["context"]) == winner.context:
            found: Mapping[str, Any] = entry
            return found
    return {}


def tied_value_ids(snapshot: Snapshot, winner: ContextWinner) -> tuple[int, ...]:
    """Every value tied for the top in the winner's context, sorted (just the winner when
    there is no tie, or the snapshot predates ties)."""
    tied = _entry(snapshot, winner).get("tied_value_ids") or [winner.value_id]
    return tuple(sorted({int(v) for v in tied} | {winner.value_id}))


def is_tie(snapshot: Snapshot, winner: ContextWinner) -> bool:
    entry = _entry(snapshot, winner)
    return bool(entry.get("tie", len(tied_value_ids(snapshot, winner)) > 1))


def question_ids(snapshot: Snapshot, context: str) -> tuple[int | str, ...] | None:
    """The study questions a context belongs to; None when unknown (version 1, or none)."""
    for entry in snapshot.document["contexts"]:
        if str(entry["text"]) == context:
            found = entry.get("question_ids")
            return tuple(found) if found else None
    return None


def questions_for(snapshot: Snapshot, context: str) -> list[str]:
    """The texts of a context's own questions; all of the study's when they are unknown."""
    wanted = question_ids(snapshot, context)
    questions = snapshot.study["questions"]
    if wanted is None:
        return [str(q["text"]) for q in questions]
    chosen = [str(q["text"]) for q in questions if q["id"] in wanted]
    return chosen or [str(q["text"]) for q in questions]


# -- the rules --------------------------------------------------------------------------------


def left_out(snapshot: Snapshot, winner: ContextWinner, thresholds: Thresholds) -> LeftOut | None:
    """Why SFT and KTO leave this winner out, or None when they keep it."""
    tied = tied_value_ids(snapshot, winner)
    probability = winner.win_probability
    if is_tie(snapshot, winner):
        others = ", ".join(f"#{v}" for v in tied if v != winner.value_id)
        reason, explanation = (
            TIED,
            f"tied with {others}: the graph does not single out one value to imitate",
        )
    elif probability is not None and probability < thresholds.min_win_probability:
        reason, explanation = (
            LOW_WIN_PROBABILITY,
            f"won {probability:.1%} of bootstrap resamples, below --min-win-probability "
            f"{thresholds.min_win_probability:g}",
        )
    else:
        return None
    return LeftOut(
        context=winner.context,
        context_id=winner.context_id,
        value_id=winner.value_id,
        win_probability=probability,
        tied_value_ids=tied,
        reason=reason,
        explanation=explanation,
    )


def edge_is_usable(edge: GraphEdge, thresholds: Thresholds) -> bool:
    """Whether a kept edge is strong enough for a DPO pair."""
    return edge.interval[0] >= thresholds.min_edge_lower_bound


def is_clearly_less_wise(edge: GraphEdge, thresholds: Thresholds) -> bool:
    """Whether the ``from`` value of an edge into the winner may be labelled undesirable."""
    return edge.interval[0] > KTO_UNDESIRABLE_LOWER_BOUND and edge_is_usable(edge, thresholds)


def winner_weight(winner: ContextWinner) -> float:
    if winner.win_probability is None:
        return 1.0
    return round(float(winner.win_probability), WEIGHT_DIGITS)


def edge_weight(edge: GraphEdge) -> float:
    return round(float(edge.interval[0]), WEIGHT_DIGITS)
