"""Which examples a dataset holds: the plan, before any answer is written.

Per context with a winner and per scenario of that context (``inference.uncertainty`` says
which winners and edges qualify, and each example's weight):

- ``sft``: one example guided by the winner (contexts whose winner is contested are left out);
- ``dpo``: one pair per kept edge of the context at or above ``--min-edge-lower-bound``
  (``to``, the wiser, guides ``chosen``; ``from`` guides ``rejected``);
- ``kto``: the winner's answer, desirable, and one undesirable answer per value that lost
  clearly to the winner (``uncertainty.is_clearly_less_wise``); contested winners are left
  out. A value in the middle of the graph is never labelled.

The order is fixed (the snapshot's winners, then the scenarios, then the edges), and so is
each example's key: a rerun resumes instead of duplicating.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from inference.scenarios import Scenario
from inference.targets import ContextWinner, GraphEdge, Snapshot, ValueCard
from inference.uncertainty import (
    LeftOut,
    Thresholds,
    edge_is_usable,
    edge_weight,
    is_clearly_less_wise,
    left_out,
    winner_weight,
)

Kind = Literal["sft", "dpo", "kto"]
KINDS: tuple[Kind, ...] = ("sft", "dpo", "kto")


@dataclass(frozen=True, slots=True)
class Guide:
    """One answer to generate: which value guides it and what it becomes in the example."""

    role: str  # "answer" (sft), "chosen"/"rejected" (dpo), "completion" (kto)
    value: ValueCard


@dataclass(frozen=True, slots=True)
class PlannedExample:
    kind: Kind
    winner: ContextWinner
    scenario: Scenario
    guides: tuple[Guide, ...]
    edge: GraphEdge | None = None  # dpo, and kto's undesirable examples
    label: bool | None = None  # kto
    weight: float = 1.0

    @property
    def key(self) -> str:
        return (
            f"{self.kind}|ctx={self.winner.context_id}|scn={self.scenario.id}"
            f"|values={self.values_part}"
        )

    @property
    def values_part(self) -> str:
        if self.edge is not None:
            return f"{self.edge.from_id}>{self.edge.to_id}"
        return "+".join(str(g.value.id) for g in self.guides)


@dataclass
class Plan:
    kind: Kind
    thresholds: Thresholds
    examples: list[PlannedExample] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)  # sft, kto: contested winners
    weak_edges: dict[str, int] = field(default_factory=dict)  # below --min-edge-lower-bound
    not_labelled: dict[str, int] = field(default_factory=dict)  # kto: beaten, not clearly

    def as_json(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds.as_json(),
            "left_out": [entry.as_json() for entry in self.left_out],
            "edges_below_lower_bound": dict(self.weak_edges),
            "kto_values_not_labelled": dict(self.not_labelled),
        }


def plan_dataset(
    snapshot: Snapshot,
    kind: Kind,
    scenarios: Mapping[str, Sequence[Scenario]],
    *,
    thresholds: Thresholds | None = None,
    limit: int | None = None,
) -> Plan:
    """Every example of ``kind`` the snapshot and the scenarios justify, in a fixed order,
    and what the uncertainty rules left out."""
    plan = Plan(kind, thresholds or Thresholds())
    for winner in snapshot.winners:
        if kind == "dpo":
            _plan_pairs(plan, snapshot, winner, scenarios.get(winner.context, ()))
            continue
        contested = left_out(snapshot, winner, plan.thresholds)
        if contested is not None:
            plan.left_out.append(contested)
            continue
        winning = snapshot.values[winner.value_id]
        weight = winner_weight(winner)
        beaten = [e for e in snapshot.kept_edges_in(winner.context) if e.to_id == winner.value_id]
        clear = [e for e in beaten if is_clearly_less_wise(e, plan.thresholds)]
        if kind == "kto" and len(clear) < len(beaten):
            plan.not_labelled[winner.context] = len(beaten) - len(clear)
        for scenario in scenarios.get(winner.context, ()):
            role = "answer" if kind == "sft" else "completion"
            label = None if kind == "sft" else True
            guides = (Guide(role, winning),)
            plan.examples.append(
                PlannedExample(kind, winner, scenario, guides, label=label, weight=weight)
            )
            if kind != "kto":
                continue
            for edge in clear:
                plan.examples.append(
                    PlannedExample(
                        kind,
                        winner,
                        scenario,
                        (Guide("completion", snapshot.values[edge.from_id]),),
                        edge=edge,
                        label=False,
                        weight=edge_weight(edge),
                    )
                )
    if limit is not None:
        del plan.examples[limit:]
    return plan


def _plan_pairs(
    plan: Plan, snapshot: Snapshot, winner: ContextWinner, scenarios: Sequence[Scenario]
) -> None:
    edges = snapshot.kept_edges_in(winner.context)
    usable = [e for e in edges if edge_is_usable(e, plan.thresholds)]
    if len(usable) < len(edges):
        plan.weak_edges[winner.context] = len(edges) - len(usable)
    for scenario in scenarios:
        for edge in usable:
            guides = (
                Guide("chosen", snapshot.values[edge.to_id]),
                Guide("rejected", snapshot.values[edge.from_id]),
            )
            plan.examples.append(
                PlannedExample("dpo", winner, scenario, guides, edge=edge, weight=edge_weight(edge))
            )


def plan_examples(
    snapshot: Snapshot,
    kind: Kind,
    scenarios: Mapping[str, Sequence[Scenario]],
    *,
    thresholds: Thresholds | None = None,
    limit: int | None = None,
) -> list[PlannedExample]:
    """The examples of ``plan_dataset``, alone."""
    return plan_dataset(snapshot, kind, scenarios, thresholds=thresholds, limit=limit).examples
