"""What the participant journey (elicitation) reads of the graph: values to show, the stories
drawn for a participant, and where a value sits in the newest snapshot. Ids in, ids or small
frozen dataclasses out: elicitation never sees this app's models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moralgraph.graph import winner_tied_ids
from moralgraph.models import Context, UpgradeHypothesis, UpgradeVote, Value
from moralgraph.selectors.snapshots import snapshot_live_get
from moralgraph.selectors.translations import language_base, language_name, translations_current

VOTE_CHOICES: tuple[str, ...] = tuple(UpgradeVote.Choice.values)


@dataclass(frozen=True)
class ValueCard:
    """A canonical value as a participant sees it: in their language when a current
    translation exists (`original` is then the value's own wording), else as written.
    `language` is that of the text shown (blank: not recorded)."""

    id: int
    title: str
    description: str
    policies: tuple[str, ...]
    language: str = ""
    original: ValueCard | None = None

    @property
    def language_name(self) -> str:
        """The language's own name ("Español"); blank when not recorded."""
        return language_name(self.language) if self.language else ""


@dataclass(frozen=True)
class StoryScreen:
    """One upgrade story to judge: from one value to a wiser one, in a context."""

    hypothesis_id: int
    context_id: int
    context: str
    story: str
    from_value: ValueCard
    to_value: ValueCard


@dataclass(frozen=True)
class GraphPosition:
    """Where a value sits in the study's live graph."""

    value_title: str
    votes: int
    participants: int
    wins: list[dict[str, Any]]
    wiser_than: int
    less_wise_than: int
    is_in_graph: bool


def _card(value: Value) -> ValueCard:
    return ValueCard(
        id=value.pk,
        title=value.title,
        description=value.description,
        policies=tuple(str(p) for p in value.policies),
        language=language_base(value.language),
    )


def _cards(values: Sequence[Value], language: str | None) -> dict[int, ValueCard]:
    """Each value as a reader of `language` sees it (None: as written), by id; one query for
    the translations."""
    current = translations_current(values=values, language=language) if language else {}
    cards: dict[int, ValueCard] = {}
    for value in values:
        card, translation = _card(value), current.get(value.pk)
        if translation is not None:
            card = ValueCard(
                id=value.pk,
                title=translation.title,
                description=translation.description,
                policies=tuple(str(p) for p in translation.policies),
                language=translation.language,
                original=card,
            )
        cards[value.pk] = card
    return cards


def value_cards(*, value_ids: Sequence[int], language: str | None = None) -> list[ValueCard]:
    """These values in the order given (ids that do not exist are left out). With `language`
    (the reader's page language), a value written in another language comes translated when
    a current translation exists, with its own wording as `original`."""
    values = list(Value.objects.filter(pk__in=value_ids))
    by_id = _cards(values, language)
    return [by_id[i] for i in value_ids if i in by_id]


def active_value_ids(*, study_id: int, value_ids: Iterable[int]) -> list[int]:
    """Those of these ids that are active values of the study, in id order."""
    return list(
        Value.objects.filter(pk__in=set(value_ids), study_id=study_id, status=Value.Status.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)
    )


def question_story_value_ids(*, study_id: int, question_id: int) -> set[int]:
    """Values in the study's upgrade stories whose contexts belong to this question (values
    seeded or imported for it, which no participant's card may have become yet)."""
    stories = UpgradeHypothesis.objects.filter(
        study_id=study_id, context__questions=question_id, context__status=Context.Status.APPROVED
    )
    pairs = stories.values_list("from_value_id", "to_value_id")
    return {value_id for pair in pairs for value_id in pair}


def _screens(hypotheses: Sequence[UpgradeHypothesis], language: str | None) -> list[StoryScreen]:
    values = {v.pk: v for h in hypotheses for v in (h.from_value, h.to_value)}
    cards = _cards(list(values.values()), language)
    return [
        StoryScreen(
            hypothesis_id=h.pk,
            context_id=h.context_id,
            context=h.context.text,
            story=h.story,
            from_value=cards[h.from_value_id],
            to_value=cards[h.to_value_id],
        )
        for h in hypotheses
    ]


def story_screen(
    *, study_id: int, hypothesis_id: int, language: str | None = None
) -> StoryScreen | None:
    """One story of the study; with `language`, its values as `value_cards` gives them."""
    hypothesis = (
        UpgradeHypothesis.objects.select_related("from_value", "to_value", "context")
        .filter(pk=hypothesis_id, study_id=study_id)
        .first()
    )
    return _screens([hypothesis], language)[0] if hypothesis is not None else None


def story_screens(
    *, study_id: int, hypothesis_ids: Iterable[int], language: str | None = None
) -> dict[int, StoryScreen]:
    """`story_screen` for several stories (those the study has), by id, in two queries."""
    hypotheses = UpgradeHypothesis.objects.select_related("from_value", "to_value", "context")
    found = list(hypotheses.filter(pk__in=set(hypothesis_ids), study_id=study_id))
    return {screen.hypothesis_id: screen for screen in _screens(found, language)}


def hypotheses_judged(*, participant_id: int, hypothesis_ids: Iterable[int]) -> set[int]:
    """Which of these stories the participant has voted on."""
    return set(
        UpgradeVote.objects.filter(
            participant_id=participant_id, hypothesis_id__in=set(hypothesis_ids)
        ).values_list("hypothesis_id", flat=True)
    )


@dataclass(frozen=True)
class StoryJudgement:
    """A participant's current judgement of one story: their vote on its pair and context."""

    hypothesis_id: int
    vote_id: int
    choice: str
    reason: str
    updated_at: datetime


def story_judgements(
    *, participant_id: int, hypothesis_ids: Iterable[int]
) -> dict[int, StoryJudgement]:
    """The participant's votes on these stories, by story id (stories not judged are absent;
    a story is one pair and context, so it has at most one vote per participant)."""
    rows = UpgradeVote.objects.filter(
        participant_id=participant_id, hypothesis_id__in=set(hypothesis_ids)
    ).values_list("hypothesis_id", "pk", "choice", "reason", "updated_at")
    return {
        hypothesis_id: StoryJudgement(hypothesis_id, vote_id, choice, reason, updated_at)
        for hypothesis_id, vote_id, choice, reason, updated_at in rows
    }


def participant_has_voted(*, participant_id: int) -> bool:
    return UpgradeVote.objects.filter(participant_id=participant_id).exists()


def graph_position(*, study_id: int, value_id: int) -> GraphPosition | None:
    """The value's wins and kept edges in the study's live graph (None before one): never a
    named snapshot, whose researcher-chosen parameters or cut-off are not the current graph."""
    snapshot = snapshot_live_get(study_id=study_id)
    if snapshot is None:
        return None
    document: dict[str, Any] = snapshot.document
    edges = document.get("edges", [])
    kept = [e for e in edges if e.get("kept")]
    stats = document.get("stats", {})
    title = Value.objects.filter(pk=value_id).values_list("title", flat=True).first() or ""
    return GraphPosition(
        value_title=title,
        votes=int(stats.get("votes", snapshot.vote_count)),
        participants=int(stats.get("participants", snapshot.participant_count)),
        # A tie is a win for every tied value.
        wins=[w for w in document.get("winners", []) if value_id in winner_tied_ids(w)],
        wiser_than=sum(1 for e in kept if e.get("to") == value_id),
        less_wise_than=sum(1 for e in kept if e.get("from") == value_id),
        is_in_graph=any(value_id in (e.get("from"), e.get("to")) for e in edges),
    )
