"""What the graph explorer shows of one value in one snapshot: its card, the raw cards that
joined it (from the canonicalisation decisions), its edges in that snapshot with their counts,
and the upgrade stories behind each edge in each of its contexts. Reads only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from moralgraph.models import CanonicalisationDecision, UpgradeHypothesis


@dataclass(frozen=True)
class JoinedCard:
    """A participant's card that became this value or was merged into it."""

    card_id: int
    title: str
    is_merged: bool
    judge: str
    reason: str


@dataclass(frozen=True)
class EdgeStory:
    context_id: int
    context: str
    story: str


@dataclass(frozen=True)
class ValueEdge:
    """One edge of the snapshot that touches the value; `to` is the wiser value."""

    from_id: int
    from_title: str
    to_id: int
    to_title: str
    contexts: list[str]
    context_ids: list[int]
    counts: dict[str, int]
    wiser_likelihood: float
    is_kept: bool
    stories: list[EdgeStory]


@dataclass(frozen=True)
class ValueDetails:
    id: int
    title: str
    description: str
    policies: list[str]
    cards: list[JoinedCard]
    edges: list[ValueEdge]


def value_details(
    *, study_id: int, document: Mapping[str, Any], value_id: int
) -> ValueDetails | None:
    """The value as this snapshot has it, or None when the snapshot has no such value."""
    values = {int(v["id"]): v for v in document["values"]}
    value = values.get(value_id)
    if value is None:
        return None
    context_ids = {str(c["text"]): int(c["id"]) for c in document["contexts"] if _is_int(c["id"])}
    stories = _stories(study_id=study_id, value_id=value_id)
    edges = [
        _value_edge(edge, values, context_ids, stories)
        for edge in document["edges"]
        if value_id in (int(edge["from"]), int(edge["to"]))
    ]
    edges.sort(key=lambda e: (not e.is_kept, -e.wiser_likelihood, e.from_id, e.to_id))
    return ValueDetails(
        id=value_id,
        title=str(value["title"]),
        description=str(value["description"]),
        policies=[str(p) for p in value["policies"]],
        cards=_joined_cards(study_id=study_id, value_id=value_id),
        edges=edges,
    )


def _joined_cards(*, study_id: int, value_id: int) -> list[JoinedCard]:
    """The newest decision per card that put it in this value, oldest card first."""
    decisions = CanonicalisationDecision.objects.filter(
        study_id=study_id, value_id=value_id, card_id__isnull=False
    ).order_by("card_id", "-id")
    cards: dict[int, JoinedCard] = {}
    for row in decisions.values("card_id", "card_title", "is_merged", "judge", "reason"):
        card_id = row["card_id"]
        if card_id is not None and card_id not in cards:
            cards[card_id] = JoinedCard(
                card_id=card_id,
                title=str(row["card_title"]),
                is_merged=bool(row["is_merged"]),
                judge=str(row["judge"]),
                reason=str(row["reason"]),
            )
    return list(cards.values())


_StoryKey = tuple[int, int, int]  # from value, to value, context


def _stories(*, study_id: int, value_id: int) -> dict[_StoryKey, list[EdgeStory]]:
    rows = (
        UpgradeHypothesis.objects.filter(study_id=study_id)
        .filter(Q(from_value_id=value_id) | Q(to_value_id=value_id))
        .order_by("context__text", "id")
        .values("from_value_id", "to_value_id", "context_id", "context__text", "story")
    )
    stories: dict[_StoryKey, list[EdgeStory]] = {}
    for row in rows:
        key = (int(row["from_value_id"]), int(row["to_value_id"]), int(row["context_id"]))
        stories.setdefault(key, []).append(
            EdgeStory(
                context_id=int(row["context_id"]),
                context=str(row["context__text"]),
                story=str(row["story"]),
            )
        )
    return stories


def _value_edge(
    edge: Mapping[str, Any],
    values: Mapping[int, Mapping[str, Any]],
    context_ids: Mapping[str, int],
    stories: Mapping[_StoryKey, list[EdgeStory]],
) -> ValueEdge:
    source, target = int(edge["from"]), int(edge["to"])
    contexts = [str(c) for c in edge["contexts"]]
    ids = [context_ids[c] for c in contexts if c in context_ids]
    return ValueEdge(
        from_id=source,
        from_title=_title(values, source),
        to_id=target,
        to_title=_title(values, target),
        contexts=contexts,
        context_ids=ids,
        counts={str(k): int(n) for k, n in edge["counts"].items()},
        wiser_likelihood=float(edge["wiser_likelihood"]),
        is_kept=bool(edge["kept"]),
        stories=[story for c in ids for story in stories.get((source, target, c), [])],
    )


def _title(values: Mapping[int, Mapping[str, Any]], value_id: int) -> str:
    value = values.get(value_id)
    return str(value["title"]) if value else f"Value {value_id}"


def _is_int(raw: Any) -> bool:
    return isinstance(raw, int) or (isinstance(raw, str) and raw.isascii() and raw.isdigit())
