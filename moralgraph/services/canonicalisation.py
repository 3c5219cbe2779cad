"""Canonicalisation: cards that express the same value become one `Value`.

Candidates are the study's canonical values at cosine distance ≤ 0.1 among the 5 nearest
(embeddings through the gateway; the offline backend's deterministic hashed embedding by
default). With a model configured, an LLM judge decides each candidate with the rubric prompt
`canonicalisation_judge`; offline, a conservative deterministic rule decides. Every decision is
recorded. A wrong merge silences a participant, so the offline rule is tuned for precision.

Cards may differ in language: the judge is told each card's and judges meaning (a faithful
translation is the same value). Only a multilingual embedding model finds cross-language
candidates; offline, words are compared, and cards of two recorded languages never merge.

No model call happens inside a transaction: the embedding and the judge's verdicts are
computed first, then a short atomic block takes the study's canonicalisation lock, checks that
no value appeared meanwhile (if one did, it is judged too and the write is tried again) and
writes. A new participant's consent, which locks the study row, never waits for a model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from numpy.typing import NDArray

from inference.gateway import Gateway, LLMError, LLMTimeout, Message, gateway_from_settings
from inference.prompts import load_prompt
from inference.schemas import JUDGE_SCHEMA, card_problems
from moralgraph.errors import MoralGraphError
from moralgraph.models import CanonicalisationDecision, Value
from moralgraph.services.translations import values_translate_request

CANDIDATE_MAX_DISTANCE = 0.1
CANDIDATE_COUNT = 5
JUDGE_PROMPT = "canonicalisation_judge"
# Version 2 tells the judge each card's language (cards of a multilingual study).
JUDGE_PROMPT_VERSION = 2
# The offline rule: merge only near-duplicates in wording, with the same title words.
OFFLINE_RULE = "offline-rule-v1"
OFFLINE_MAX_DISTANCE = 0.05
_WORD = re.compile(r"[a-z0-9]+")
# How the judge's prompt names a card's language (the judge reads English).
_LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "ar": "Arabic"}
# A card whose write keeps finding new values (a burst of similar cards) gives up after this
# many rounds of judging the newcomers.
MAX_WRITE_ROUNDS = 5
# The namespace of the PostgreSQL advisory lock that serialises a study's canonicalisation
# writes (the second key is the study id).
_LOCK_NAMESPACE = 4201


@dataclass(frozen=True)
class CardText:
    title: str
    description: str
    policies: tuple[str, ...]
    card_id: int | None = None
    # The card's language ("en", "es", "ar"; blank: not recorded): a new value keeps it.
    language: str = ""

    def embedding_text(self) -> str:
        return "\n".join([self.title, self.description, *self.policies])

    def for_prompt(self) -> str:
        policies = "\n".join(f"- {p}" for p in self.policies)
        return f"Title: {self.title}\nDescription: {self.description}\nPolicies:\n{policies}"

    def language_for_prompt(self) -> str:
        """The language as the judge reads it: "Spanish (es)"; "not recorded" when blank."""
        code = self.language.strip()
        name = _LANGUAGE_NAMES.get(code.lower().split("-")[0])
        return (f"{name} ({code})" if name else code) or "not recorded"


@dataclass(frozen=True)
class CanonicalisationResult:
    value_id: int
    is_merged: bool
    candidate_id: int | None
    distance: float | None
    reason: str


def _value_card(value: Value) -> CardText:
    return CardText(
        value.title,
        value.description,
        tuple(str(p) for p in value.policies),
        language=value.language,
    )


def _title_words(title: str) -> frozenset[str]:
    return frozenset(_WORD.findall(title.lower()))


def offline_same_value(card: CardText, other: CardText, distance: float) -> tuple[bool, str]:
    """The conservative rule: the same value only when the two cards are near-duplicates in
    wording (cosine distance ≤ 0.05 of the hashed embedding) and have the same title words.
    It compares words, so cards of two different recorded languages are never merged (a card
    whose language was not recorded is compared by its words alone)."""
    if card.language and other.language and card.language != other.language:
        why = f"written in different languages ({card.language}, {other.language})"
        return False, f"{why}: the offline rule compares words and never merges across them"
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

    One instance serves one card or a batch. Reading values and asking models happens outside
    any transaction; each card's decision is written in a short one (`_write`).
    """

    def __init__(self, *, study_id: int, gateway: Gateway | None = None) -> None:
        self.study_id = study_id
        self.gateway = gateway or gateway_from_settings(settings)
        self.is_offline = self.gateway.backend_name == "offline"
        self.prompt = load_prompt(JUDGE_PROMPT, JUDGE_PROMPT_VERSION)
        self.judge_name = OFFLINE_RULE if self.is_offline else self.gateway.model
        self.prompt_hash = "" if self.is_offline else self.prompt.sha256
        self.values: list[Value] = []
        self.matrix: NDArray[np.float64] = np.zeros((0, 1))
        self._load(Value.objects.filter(study_id=study_id, status=Value.Status.ACTIVE))

    def _embed(self, texts: list[str]) -> NDArray[np.float64]:
        try:
            vectors = self.gateway.embed_sync(texts).vectors
        except LLMError as error:
            raise MoralGraphError("embedding_failed", f"Could not embed cards: {error}") from error
        matrix = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return matrix / norms

    def _load(self, queryset: QuerySet[Value]) -> None:
        """Add these values to the index, embedding those without a current embedding."""
        known = self._known_ids()
        values = [v for v in queryset.order_by("id") if v.pk not in known]
        model = self.gateway.embed_model
        stale = [v for v in values if v.embedding is None or v.embedding_model != model]
        if stale:
            fresh = self._embed([_value_card(v).embedding_text() for v in stale])
            for value, vector in zip(stale, fresh, strict=True):
                value.embedding = vector.tolist()
                value.embedding_model = model
            Value.objects.bulk_update(stale, ["embedding", "embedding_model"], batch_size=500)
        for value in values:
            self._index(value, np.asarray(value.embedding, dtype=np.float64))

    def _known_ids(self) -> set[int]:
        return {v.pk for v in self.values}

    def _index(self, value: Value, vector: NDArray[np.float64]) -> None:
        self.values.append(value)
        row = vector.reshape(1, -1)
        self.matrix = row if len(self.values) == 1 else np.vstack([self.matrix, row])

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
        """The judge's verdict on one candidate (a model call: never inside a transaction)."""
        other = _value_card(value)
        messages: list[Message] = [
            {
                "role": "user",
                "content": self.prompt.render(
                    card_a=card.for_prompt(),
                    card_b=other.for_prompt(),
                    language_a=card.language_for_prompt(),
                    language_b=other.language_for_prompt(),
                ),
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

    def _verdicts(
        self, card: CardText, vector: NDArray[np.float64], judged: list[Verdict]
    ) -> list[Verdict]:
        """Judge the nearest candidates in order, up to the first "same value"; verdicts
        already given (an earlier round) are reused."""
        done = {v.value.pk: v for v in judged}
        verdicts: list[Verdict] = []
        for value, distance in self.candidates(vector):
            verdict = done.get(value.pk)
            if verdict is None:
                same, reason = self.judge(card, value, distance)
                verdict = Verdict(value, distance, same, reason)
            verdicts.append(verdict)
            if verdict.is_same:
                break
        return verdicts

    def decide(self, card: CardText) -> CanonicalisationResult:
        earlier = _decided(self.study_id, card.card_id)
        if earlier is not None:
            return earlier
        vector = self._embed([card.embedding_text()])[0]
        verdicts: list[Verdict] = []
        for _round in range(MAX_WRITE_ROUNDS):
            verdicts = self._verdicts(card, vector, verdicts)
            result = self._write(card, vector, verdicts)
            if result is not None:
                # A new value, or a merged card's better wording: the translations it lacks
                # are requested (sent after commit; none offline).
                values_translate_request(value_ids=[result.value_id])
                return result
            # Values appeared while the judge was deciding: index and judge them too.
            self._load(self._newcomers())
        raise MoralGraphError(
            "canonicalisation_busy",
            "Too many similar cards arrived at once; nothing was stored. Try again shortly.",
        )

    def _newcomers(self) -> QuerySet[Value]:
        newest = max(self._known_ids(), default=0)
        return Value.objects.filter(
            study_id=self.study_id, status=Value.Status.ACTIVE, pk__gt=newest
        )

    def _write(
        self, card: CardText, vector: NDArray[np.float64], verdicts: list[Verdict]
    ) -> CanonicalisationResult | None:
        """Record the decision in one short transaction, or None when values appeared since
        the index was read (the verdicts may be stale)."""
        with transaction.atomic():
            _study_lock(self.study_id)
            earlier = _decided(self.study_id, card.card_id)
            if earlier is not None:
                return earlier
            if self._newcomers().exists():
                return None
            for verdict in verdicts:
                self._record(card, verdict.value if verdict.is_same else None, verdict)
            merged = next((v for v in verdicts if v.is_same), None)
            if merged is not None:
                self._keep_best_wording(merged.value, card, vector)
                return CanonicalisationResult(
                    merged.value.pk, True, merged.value.pk, merged.distance, merged.reason
                )
            value = Value.objects.create(
                study_id=self.study_id,
                title=card.title[:200],
                description=card.description,
                policies=list(card.policies),
                embedding=vector.tolist(),
                embedding_model=self.gateway.embed_model,
                language=card.language,
            )
            reason = (
                f"judged different from {len(verdicts)} candidate(s)"
                if verdicts
                else "no candidate within distance 0.1"
            )
            self._record(card, value, None, reason=reason, distance=_nearest(verdicts))
        self._index(value, vector)
        return CanonicalisationResult(value.pk, False, None, None, reason)

    def _record(
        self,
        card: CardText,
        value: Value | None,
        verdict: Verdict | None,
        *,
        reason: str = "",
        distance: float | None = None,
    ) -> None:
        CanonicalisationDecision.objects.create(
            study_id=self.study_id,
            card_id=card.card_id,
            card_title=card.title[:200],
            value=value,
            candidate=verdict.value if verdict else None,
            is_merged=bool(verdict and verdict.is_same),
            judge=self.judge_name,
            prompt_hash=self.prompt_hash,
            distance=verdict.distance if verdict else distance,
            reason=verdict.reason if verdict else reason,
        )

    def _keep_best_wording(self, value: Value, card: CardText, vector: NDArray[np.float64]) -> None:
        """A merged card replaces the value's wording when it is better formed. Imported
        values keep their source's wording."""
        if value.source_id or wording_problems(card) >= wording_problems(_value_card(value)):
            return
        value.title = card.title[:200]
        value.description = card.description
        value.policies = list(card.policies)
        value.language = card.language  # the wording's language goes with it
        value.embedding = vector.tolist()
        value.save(update_fields=["title", "description", "policies", "language", "embedding"])
        index = next(i for i, v in enumerate(self.values) if v.pk == value.pk)
        self.matrix[index] = vector


@dataclass(frozen=True)
class Verdict:
    value: Value
    distance: float
    is_same: bool
    reason: str


def _nearest(verdicts: list[Verdict]) -> float | None:
    return min((v.distance for v in verdicts), default=None)


def _study_lock(study_id: int) -> None:
    """Serialise the study's canonicalisation writes (not its other writes: consent and
    votes never wait on this). SQLite serialises every writer already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, study_id])


def _decided(study_id: int, card_id: int | None) -> CanonicalisationResult | None:
    """The decision already recorded for this card, if any (a retried task changes nothing)."""
    if card_id is None:
        return None
    decision = (
        CanonicalisationDecision.objects.filter(
            study_id=study_id, card_id=card_id, value__isnull=False
        )
        .order_by("-id")
        .first()
    )
    if decision is None or decision.value_id is None:
        return None
    return CanonicalisationResult(
        decision.value_id,
        decision.is_merged,
        decision.candidate_id,
        decision.distance,
        decision.reason,
    )


def card_canonicalise(
    *, study_id: int, card: CardText, gateway: Gateway | None = None
) -> CanonicalisationResult:
    """One card's canonical value: embedding candidates, then the LLM judge (or the offline
    conservative rule); every decision is recorded. Idempotent per card id."""
    return Canonicaliser(study_id=study_id, gateway=gateway).decide(card)


def cards_canonicalise_batch(
    *, study_id: int, cards: Sequence[CardText], gateway: Gateway | None = None
) -> list[CanonicalisationResult]:
    """Canonicalise cards in order, sharing one embedding index (seconds for hundreds)."""
    canonicaliser = Canonicaliser(study_id=study_id, gateway=gateway)
    return [canonicaliser.decide(card) for card in cards]
