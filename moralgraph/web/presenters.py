"""What the researcher pages show of a snapshot document: plain rows with value titles
resolved. Pure: documents in, dataclasses out (no database, no markup)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moralgraph.graph import cell_tied_ids, winner_tied_ids


@dataclass(frozen=True)
class TiedValue:
    value_id: int
    title: str
    win_probability: float | None

    @property
    def win_percent(self) -> str | None:
        return None if self.win_probability is None else f"{self.win_probability:.0%}"


@dataclass(frozen=True)
class WinnerRow:
    context: str
    value_id: int
    title: str
    score: float
    support: str
    win_probability: float | None
    runner_up_title: str | None
    runner_up_score: float | None
    # Sensitivity: in how many of the threshold grid's settings this value still wins (a
    # k-way tie counts 1/k).
    same_winner_cells: float = 0.0
    grid_cells: int = 0
    # A tie: every value tied for the top score (one when there is none), lowest id first.
    tied: tuple[TiedValue, ...] = ()
    # Share of bootstrap resamples in which the top was tied (None: unknown or no bootstrap).
    tie_probability: float | None = None

    @property
    def is_tie(self) -> bool:
        return len(self.tied) > 1

    @property
    def tie_percent(self) -> str | None:
        """How often the bootstrap's resamples tied, when they ever did."""
        return None if not self.tie_probability else f"{self.tie_probability:.0%}"

    @property
    def grid_wins(self) -> str:
        """`same_winner_cells` as the page shows it: whole, or with one decimal (ties)."""
        return f"{self.same_winner_cells:.1f}".removesuffix(".0")

    @property
    def support_class(self) -> str:
        return self.support.replace(" ", "-")

    @property
    def win_percent(self) -> str | None:
        """The bootstrap's probability of winning, as a percentage (None without bootstrap)."""
        return None if self.win_probability is None else f"{self.win_probability:.0%}"


@dataclass(frozen=True)
class EdgeRow:
    from_id: int
    from_title: str
    to_id: int
    to_title: str
    contexts: list[str]
    marked_wiser: int
    marked_not_wiser: int
    marked_unsure: int
    marked_less_wise: int
    impressions: int
    wiser_likelihood: float
    entropy: float
    interval_low: float
    interval_high: float
    is_kept: bool


@dataclass(frozen=True)
class EdgeChange:
    from_title: str
    to_title: str
    contexts: list[str]


@dataclass(frozen=True)
class WinnerChange:
    context: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class RankChange:
    title: str
    before: int | None
    after: int | None


@dataclass(frozen=True)
class SnapshotDiff:
    edges_gained: list[EdgeChange]
    edges_lost: list[EdgeChange]
    winner_changes: list[WinnerChange]
    rank_changes: dict[str, list[RankChange]]

    @property
    def is_empty(self) -> bool:
        return not (
            self.edges_gained or self.edges_lost or self.winner_changes or self.rank_changes
        )


def value_titles(document: Mapping[str, Any]) -> dict[int, str]:
    return {int(v["id"]): str(v["title"]) for v in document["values"]}


def _grid_agreement(document: Mapping[str, Any], context: str, value_id: int) -> tuple[float, int]:
    """(cells where `value_id` wins `context`, a k-way tie counting 1/k; cells) over the
    snapshot's threshold grid."""
    cells = (document.get("sensitivity") or {}).get("cells", [])
    same = 0.0
    for cell in cells:
        tied = cell_tied_ids(cell, context)
        if value_id in tied:
            same += 1.0 / len(tied)
    return same, len(cells)


def _ranked_win_probabilities(document: Mapping[str, Any]) -> dict[str, dict[int, Any]]:
    return {
        str(r["context"]): {int(e["value_id"]): e.get("win_probability") for e in r["ranking"]}
        for r in document.get("rankings", [])
    }


def tie_label(titles: Mapping[int, str], value_ids: Sequence[int]) -> str | None:
    """One value's title; "tie: A = B" for tied values; None for none."""
    if not value_ids:
        return None
    names = [titles.get(int(v), f"value {v}") for v in value_ids]
    return names[0] if len(names) == 1 else "tie: " + " = ".join(names)


def winner_rows(document: Mapping[str, Any]) -> list[WinnerRow]:
    titles = value_titles(document)
    ranked = _ranked_win_probabilities(document)
    rows = []
    for w in document["winners"]:
        in_context = ranked.get(str(w["context"]), {})
        same, cells = _grid_agreement(document, str(w["context"]), int(w["value_id"]))
        runner_up = w.get("runner_up")
        rows.append(
            WinnerRow(
                context=str(w["context"]),
                value_id=int(w["value_id"]),
                title=titles.get(int(w["value_id"]), f"value {w['value_id']}"),
                score=float(w["score"]),
                support=str(w["support"]),
                win_probability=None
                if w.get("win_probability") is None
                else float(w["win_probability"]),
                runner_up_title=None
                if runner_up is None
                else titles.get(int(runner_up["value_id"]), f"value {runner_up['value_id']}"),
                runner_up_score=None if runner_up is None else float(runner_up["score"]),
                same_winner_cells=same,
                grid_cells=cells,
                tied=tuple(
                    TiedValue(
                        value_id=v,
                        title=titles.get(v, f"value {v}"),
                        win_probability=None if in_context.get(v) is None else float(in_context[v]),
                    )
                    for v in winner_tied_ids(w)
                ),
                tie_probability=None
                if w.get("tie_probability") is None
                else float(w["tie_probability"]),
            )
        )
    return rows


def edge_rows(document: Mapping[str, Any]) -> list[EdgeRow]:
    """Every edge of the snapshot: kept edges first, each group by likelihood, strongest
    first."""
    titles = value_titles(document)
    rows = [
        EdgeRow(
            from_id=int(e["from"]),
            from_title=titles.get(int(e["from"]), f"value {e['from']}"),
            to_id=int(e["to"]),
            to_title=titles.get(int(e["to"]), f"value {e['to']}"),
            contexts=list(e["contexts"]),
            marked_wiser=int(e["counts"]["markedWiser"]),
            marked_not_wiser=int(e["counts"]["markedNotWiser"]),
            marked_unsure=int(e["counts"]["markedUnsure"]),
            marked_less_wise=int(e["counts"]["markedLessWise"]),
            impressions=int(e["counts"]["impressions"]),
            wiser_likelihood=float(e["wiser_likelihood"]),
            entropy=float(e["entropy"]),
            interval_low=float(e["interval"][0]),
            interval_high=float(e["interval"][1]),
            is_kept=bool(e["kept"]),
        )
        for e in document["edges"]
    ]
    rows.sort(
        key=lambda r: (not r.is_kept, -r.wiser_likelihood, -r.marked_wiser, r.from_id, r.to_id)
    )
    return rows


def diff_rows(
    change: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]
) -> SnapshotDiff:
    """`moralgraph.graph.diff(before, after)` with value ids replaced by titles."""
    titles = {**value_titles(before), **value_titles(after)}

    def title(value_id: int | None) -> str | None:
        return None if value_id is None else titles.get(int(value_id), f"value {value_id}")

    def edge(e: Mapping[str, Any]) -> EdgeChange:
        return EdgeChange(
            from_title=title(e["from"]) or "", to_title=title(e["to"]) or "", contexts=e["contexts"]
        )

    return SnapshotDiff(
        edges_gained=[edge(e) for e in change["edges_gained"]],
        edges_lost=[edge(e) for e in change["edges_lost"]],
        winner_changes=[
            WinnerChange(
                context=w["context"],
                before=tie_label(titles, w.get("before_tied") or _ids(w["before"])),
                after=tie_label(titles, w.get("after_tied") or _ids(w["after"])),
            )
            for w in change["winner_changes"]
        ],
        rank_changes={
            context: sorted(
                (
                    RankChange(
                        title=title(r["value_id"]) or "", before=r["before"], after=r["after"]
                    )
                    for r in changes
                ),
                key=lambda r: (r.after is None, r.after or 0, r.before or 0),
            )
            for context, changes in change["rank_changes"].items()
        },
    )


def _ids(value_id: int | None) -> list[int]:
    return [] if value_id is None else [int(value_id)]


def history_rows[T](history: Sequence[T]) -> list[tuple[T, T | None]]:
    """Each snapshot of a newest-first history with the one built just before it (None for
    the first), for the history table's "diff vs" links."""
    return [
        (snapshot, history[i + 1] if i + 1 < len(history) else None)
        for i, snapshot in enumerate(history)
    ]
