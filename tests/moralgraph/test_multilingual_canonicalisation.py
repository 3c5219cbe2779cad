"""Canonicalisation across languages: the judge is told each card's language and may merge a
card with its translation (cards found close by a multilingual embedding, played here by the
fake server's scripted vectors); the offline rule, which compares words, never merges cards of
two different recorded languages."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from elicitation.models import Study
from inference.backends import hash_embed
from inference.prompts import load_prompt
from inference.testing import FakeLLMServer
from moralgraph.models import CanonicalisationDecision, Value
from moralgraph.services import card_canonicalise
from moralgraph.services.canonicalisation import CardText, offline_same_value

pytestmark = pytest.mark.django_db

SPANISH = CardText(
    "Amistad honesta y cariñosa",
    "Cuidar a una amiga diciéndole verdades difíciles.",
    (
        "PREOCUPACIONES que mi amiga no ha dicho en voz alta",
        "MANERAS de negarme sin dejar de estar de su lado",
    ),
    language="es",
)
ENGLISH = CardText(
    "Honest and caring friendship",
    "Caring for a friend by telling her hard truths.",
    (
        "WORRIES my friend has not said out loud",
        "WAYS to refuse while staying on her side",
    ),
    language="en",
)


@pytest.fixture
def study() -> Study:
    return Study.objects.create(slug="multilingual", title="Multilingual canonicalisation")


def unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def judge_requests(fake: FakeLLMServer) -> list[dict[str, Any]]:
    """The canonicalisation judge's requests (not, say, a translation's)."""
    return [
        body
        for body in fake.chat_requests()
        if (body.get("response_format") or {}).get("json_schema", {}).get("name")
        == "canonicalisation_judge"
    ]


def close_vectors() -> tuple[list[float], list[float]]:
    """Two embedding vectors at cosine distance about 0.005 (well within the candidates' 0.1),
    as a multilingual model gives a card and its translation."""
    first = [0.0] * hash_embed.DIMENSIONS
    second = [0.0] * hash_embed.DIMENSIONS
    first[0], first[1] = 1.0, 0.1
    second[0], second[1] = 1.0, 0.0
    return unit(first), unit(second)


def test_a_spanish_card_and_its_english_translation_become_one_value(
    study: Study, fake_llm: FakeLLMServer
) -> None:
    spanish_vector, english_vector = close_vectors()
    fake_llm.script(
        {"endpoint": "embeddings", "match": "Amistad honesta", "embedding": spanish_vector},
        {"endpoint": "embeddings", "match": "Honest and caring", "embedding": english_vector},
        {"json": {"same_value": True, "reason": "The same value; card B translates card A."}},
    )

    first = card_canonicalise(study_id=study.pk, card=SPANISH)
    second = card_canonicalise(study_id=study.pk, card=ENGLISH)

    assert not first.is_merged
    assert second.is_merged
    assert second.value_id == first.value_id
    (value,) = Value.objects.filter(study=study)
    # The value keeps one wording and says which language it is in.
    assert (value.title, value.language) in {(SPANISH.title, "es"), (ENGLISH.title, "en")}
    decision = CanonicalisationDecision.objects.get(study=study, is_merged=True)
    assert decision.value_id == decision.candidate_id == value.pk
    assert decision.card_title == ENGLISH.title
    assert decision.judge == "fake-model"
    assert decision.prompt_hash == load_prompt("canonicalisation_judge", 2).sha256
    assert decision.reason == "The same value; card B translates card A."
    assert fake_llm.pending() == []  # both scripted vectors were used

    (request,) = judge_requests(fake_llm)
    prompt = request["messages"][0]["content"]
    assert "Card A (language: English (en)):" in prompt
    assert "Card B (language: Spanish (es)):" in prompt
    assert "may be written in different languages" in prompt
    assert "a card\nand a faithful translation of it express the same value" in prompt
    assert ENGLISH.for_prompt() in prompt
    assert SPANISH.for_prompt() in prompt


def test_the_judge_is_told_when_a_language_was_not_recorded(
    study: Study, fake_llm: FakeLLMServer
) -> None:
    vector, _ = close_vectors()
    unrecorded = CardText(ENGLISH.title, ENGLISH.description, ENGLISH.policies)
    fake_llm.script(
        {"endpoint": "embeddings", "embedding": vector, "repeat": 2},
        {"json": {"same_value": False, "reason": "Different scope."}},
    )

    first = card_canonicalise(study_id=study.pk, card=unrecorded)
    second = card_canonicalise(study_id=study.pk, card=SPANISH)

    assert second.value_id != first.value_id
    assert Value.objects.get(pk=first.value_id).language == ""
    assert Value.objects.get(pk=second.value_id).language == "es"
    (request,) = judge_requests(fake_llm)
    prompt = request["messages"][0]["content"]
    assert "Card A (language: Spanish (es)):" in prompt
    assert "Card B (language: not recorded):" in prompt


def test_the_offline_rule_never_merges_two_recorded_languages(study: Study) -> None:
    # A Spanish card whose words are the English card's (a participant who answered in
    # English in the Spanish interface): identical words, yet two recorded languages.
    same_words = CardText(ENGLISH.title, ENGLISH.description, ENGLISH.policies, language="es")

    english = card_canonicalise(study_id=study.pk, card=ENGLISH)
    spanish = card_canonicalise(study_id=study.pk, card=same_words)

    assert spanish.value_id != english.value_id
    decision = CanonicalisationDecision.objects.get(
        study=study, card_title=ENGLISH.title, candidate__isnull=False
    )
    assert decision.judge == "offline-rule-v1"
    assert not decision.is_merged
    assert "different languages" in decision.reason
    # The same words in the same language, or with no language recorded, still merge.
    again = CardText(ENGLISH.title, ENGLISH.description, ENGLISH.policies, language="en")
    assert card_canonicalise(study_id=study.pk, card=again).value_id == english.value_id
    unrecorded = CardText(ENGLISH.title, ENGLISH.description, ENGLISH.policies)
    assert card_canonicalise(study_id=study.pk, card=unrecorded).is_merged


def test_offline_rule_languages_directly() -> None:
    same, why = offline_same_value(ENGLISH, replace(ENGLISH, language="es"), 0.0)
    assert not same
    assert "different languages (en, es)" in why
    assert offline_same_value(ENGLISH, ENGLISH, 0.0)[0]
