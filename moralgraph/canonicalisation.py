"""Canonicalisation: cards that express the same value become one `Value` (DESIGN §4.2).

Candidates are the study's canonical values at cosine distance ≤ 0.1 among the 5 nearest
(embeddings through the gateway; the offline backend's deterministic hashed embedding by
default). With a model configured, an LLM judge decides each candidate with the rubric prompt
`canonicalisation_judge`; offline, a conservative deterministic rule decides. Every decision is
recorded. A wrong merge silences a participant, so the offline rule is tuned for precision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from numpy.typing import NDArray

from config.gateway import get_gateway
from inference.gateway import Gateway, LLMError, LLMTimeout, Message
from inference.prompts import load_prompt
from inference.schemas import JUDGE_SCHEMA, card_problems
from moralgraph.errors import MoralGraphError
from moralgraph.models import CanonicalisationDecision, Value

CANDIDATE_MAX_DISTANCE = 0.1
CANDIDATE_COUNT = 5
JUDGE_PROMPT = "canonicalisation_judge"
# The offline rule: merge only near-duplicates in wording, with the same title words.
OFFLINE_RULE = "offline-rule-v1"
OFFLINE_MAX_DISTANCE = 0.05
_WORD = re.compile(r"[a-z0-9]+")

Study: Any = Value._meta.get_field("study").related_model


@dataclass(frozen=True)
class CardText:
    title: str
    description: str
    policies: tuple[str, ...]
    card_id: int | None = None

    def embedding_text(self) -> str:
        return "\n".join([self.title, self.description, *self.policies])

    def for_prompt(self) -> str:
        policies = "\n".join(f"- {p}" for p in self.policies)
        return f"Title: {self.title}\nDescription: {self.description}\nPolicies:\n{policies}"


@dataclass(frozen=True)
class CanonicalisationResult:
    value_id: int
    is_merged: bool
    candidate_id: int | None
    distance: float | None
    reason: str


def _value_card(value: Value) -> CardText:
    return CardText(value.title, value.description, tuple(str(p) for p in value.policies))


def _title_words(title: str) -> frozenset[str]:
    return frozenset(_WORD.findall(title.lower()))


def offline_same_value(card: CardText, other: CardText, distance: float) -> tuple[bool, str]:
    """The conservative rule: the same value only when the two cards are near-duplicates in
    wording (cosine distance ≤ 0.05 of the hashed embedding) and have the same title words."""
    if distance > OFFLINE_MAX_DISTANCE:
        return False, f"wording differs (distance {distance:.3f} > {OFFLINE_MAX_DISTANCE})"
    if _title_words(card.title) != _title_words(other.title):
        return False, "near-identical wording but different titles: kept apart to be safe"
    return True, f"near-identical wording (distance {distance:.3f}) and the same title"


def wording_problems(card: CardText) -> int:
    return len(
        card_problems(
            {"title": card.title, "description": card.description, "policies": list(card.policies)}
        )
    )


class Canonicaliser:
    """The study's canonical values as an in-memory embedding index, and the decision logic.

    One instance serves one transaction: a single card (`card_canonicalise`) or a batch.
    """

    def __init__(self, *, study_id: int, gateway: Gateway | None = None) -> None:
        self.study_id = study_id
        self.gateway = gateway or get_gateway()
        self.is_offline = self.gateway.backend_name == "offline"
        self.prompt = load_prompt(JUDGE_PROMPT)
        self.values: list[Value] = []
        self.matrix: NDArray[np.float64] = np.zeros((0, 0))
        self._load()

    def _embed(self, texts: list[str]) -> NDArray[np.float64]:
        try:
            vectors = self.gateway.embed_sync(texts).vectors
        except LLMError as error:
            raise MoralGraphError("embedding_failed", f"Could not embed cards: {error}") from error
        matrix = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return matrix / norms

    def _load(self) -> None:
        values = list(
            Value.objects.filter(study_id=self.study_id, status=Value.Status.ACTIVE).order_by("id")
        )
        model = self.gateway.embed_model
        stale = [v for v in values if v.embedding is None or v.embedding_model != model]
        if stale:
            fresh = self._embed([_value_card(v).embedding_text() for v in stale])
            for value, vector in zip(stale, fresh, strict=True):
                value.embedding = vector.tolist()
                value.embedding_model = model
            Value.objects.bulk_update(stale, ["embedding", "embedding_model"], batch_size=500)
        self.values = values
        self.matrix = (
            np.asarray([v.embedding for v in values], dtype=np.float64)
            if values
            else np.zeros((0, 1))
        )

    def candidates(self, vector: NDArray[np.float64]) -> list[tuple[Value, float]]:
        """Values at distance ≤ 0.1 among the 5 nearest, nearest first."""
        if not self.values:
            return []
        distances = 1.0 - self.matrix @ vector
        nearest = np.argsort(distances, kind="stable")[:CANDIDATE_COUNT]
        return [
            (self.values[int(i)], float(distances[i]))
            for i in nearest
            if distances[i] <= CANDIDATE_MAX_DISTANCE + 1e-12
        ]

    def judge(self, card: CardText, value: Value, distance: float) -> tuple[bool, str]:
        other = _value_card(value)
        messages: list[Message] = [
            {
                "role": "user",
                "content": self.prompt.render(card_a=card.for_prompt(), card_b=other.for_prompt()),
            }
        ]

        def offline(_: list[Message]) -> dict[str, object]:
            same, why = offline_same_value(card, other, distance)
            return {"same_value": same, "reason": why}

        try:
            verdict = self.gateway.structured_sync(
                messages,
                schema=JUDGE_SCHEMA,
                name="canonicalisation_judge",
                offline_fallback=offline,
            )
        except LLMTimeout as error:
            raise MoralGraphError(
                "llm_timeout",
                f"The canonicalisation judge did not answer in time; nothing was stored. ({error})",
            ) from error
        except LLMError as error:
            raise MoralGraphError(
                "judge_failed", f"The canonicalisation judge failed: {error}"
            ) from error
        return bool(verdict["same_value"]), str(verdict["reason"])

    def decide(self, card: CardText) -> CanonicalisationResult:
        vector = self._embed([card.embedding_text()])[0]
        judge_name = OFFLINE_RULE if self.is_offline else self.gateway.model
        prompt_hash = "" if self.is_offline else self.prompt.sha256
        nearest = self.candidates(vector)
        for value, distance in nearest:
            same, reason = self.judge(card, value, distance)
            CanonicalisationDecision.objects.create(
                study_id=self.study_id,
                card_id=card.card_id,
                card_title=card.title[:200],
                value=value if same else None,
                candidate=value,
                is_merged=same,
                judge=judge_name,
                prompt_hash=prompt_hash,
                distance=distance,
                reason=reason,
            )
            if same:
                self._keep_best_wording(value, card, vector)
                return CanonicalisationResult(value.pk, True, value.pk, distance, reason)
        value = Value.objects.create(
            study_id=self.study_id,
            title=card.title[:200],
            description=card.description,
            policies=list(card.policies),
            embedding=vector.tolist(),
            embedding_model=self.gateway.embed_model,
        )
        reason = (
            "no candidate within distance 0.1"
            if not nearest
            else f"judged different from {len(nearest)} candidate(s)"
        )
        CanonicalisationDecision.objects.create(
            study_id=self.study_id,
            card_id=card.card_id,
            card_title=card.title[:200],
            value=value,
            candidate=None,
            is_merged=False,
            judge=judge_name,
            prompt_hash=prompt_hash,
            distance=nearest[0][1] if nearest else None,
            reason=reason,
        )
        self.values.append(value)
        self.matrix = (
            np.vstack([self.matrix, vector]) if len(self.values) > 1 else vector.reshape(1, -1)
        )
        return CanonicalisationResult(value.pk, False, None, None, reason)

    def _keep_best_wording(self, value: Value, card: CardText, vector: NDArray[np.float64]) -> None:
        """A merged card replaces the value's wording when it is better formed. Imported
        values keep their source's wording."""
        if value.source_id or wording_problems(card) >= wording_problems(_value_card(value)):
            return
        value.title = card.title[:200]
        value.description = card.description
        value.policies = list(card.policies)
        value.embedding = vector.tolist()
        value.save(update_fields=["title", "description", "policies", "embedding"])
        index = next(i for i, v in enumerate(self.values) if v.pk == value.pk)
        self.matrix[index] = vector


@transaction.atomic
def card_canonicalise(
    *,
    study_id: int,
    title: str,
    description: str,
    policies: list[str],
    card_id: int | None = None,
    gateway: Gateway | None = None,
) -> CanonicalisationResult:
    """One card's canonical value. Canonicalisations of a study run one at a time (a row
    lock on the study), so two similar cards confirmed together cannot both found a value."""
    Study.objects.select_for_update().filter(pk=study_id).first()
    canonicaliser = Canonicaliser(study_id=study_id, gateway=gateway)
    return canonicaliser.decide(
        CardText(title, description, tuple(str(p) for p in policies), card_id)
    )


@transaction.atomic
def cards_canonicalise_batch(
    *, study_id: int, cards: Sequence[CardText], gateway: Gateway | None = None
) -> list[CanonicalisationResult]:
    """Canonicalise cards in order, sharing one embedding index (seconds for hundreds)."""
    Study.objects.select_for_update().filter(pk=study_id).first()
    canonicaliser = Canonicaliser(study_id=study_id, gateway=gateway)
    return [canonicaliser.decide(card) for card in cards]


@transaction.atomic
def study_cards_canonicalise(*, study_id: int, gateway: Gateway | None = None) -> dict[str, int]:
    """Give every card of the study that has no canonical value one (the batch command).

    The cards live in `elicitation`; they are reached through `Value.cards`, the relation
    `elicitation` declares, and updated through it too.
    """
    card_model: Any = Value._meta.get_field("cards").related_model
    pending = list(
        card_model.objects.filter(participant__study_id=study_id, value__isnull=True)
        .order_by("submitted_at", "id")
        .values_list("id", "title", "description", "policies")
    )
    cards = [
        CardText(title, description, tuple(str(p) for p in policies), card_id)
        for card_id, title, description, policies in pending
    ]
    results = cards_canonicalise_batch(study_id=study_id, cards=cards, gateway=gateway)
    for card, result in zip(cards, results, strict=True):
        card_model.objects.filter(pk=card.card_id, value__isnull=True).update(
            value_id=result.value_id
        )
    return {
        "cards": len(cards),
        "merged": sum(r.is_merged for r in results),
        "new_values": sum(not r.is_merged for r in results),
    }
