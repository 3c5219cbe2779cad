"""The canonicaliser: offline quality on the reference study's raw cards, and the LLM judge
against the fake OpenAI-compatible server (what it received, golden prompts, failures)."""

from __future__ import annotations

import json
import os
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

from elicitation.models import Study
from inference.prompts import load_prompt
from inference.schemas import JUDGE_SCHEMA
from inference.testing import FakeLLMServer
from moralgraph.errors import MoralGraphError
from moralgraph.models import CanonicalisationDecision, Value
from moralgraph.services import card_canonicalise
from moralgraph.services.canonicalisation import CardText, cards_canonicalise_batch

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/moralgraph/golden/<name>; UPDATE_GOLDEN=1 (re)writes it."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"golden file {path} is missing: run with UPDATE_GOLDEN=1 once"
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture
def study() -> Study:
    return Study.objects.create(slug="canon", title="Canonicalisation")


def pair_scores(predicted: list[int], truth: list[int]) -> tuple[float, float, int, int]:
    """Precision and recall of merges over card pairs."""
    merged = same = both = 0
    for i, j in combinations(range(len(truth)), 2):
        p = predicted[i] == predicted[j]
        t = truth[i] == truth[j]
        merged += p
        same += t
        both += p and t
    precision = both / merged if merged else 1.0
    recall = both / same if same else 1.0
    return precision, recall, merged, same


def test_offline_canonicaliser_on_the_reference_cards(study: Study, realdata: Path) -> None:
    raw = json.loads((realdata / "mai-dft-moral-graph/db-dump/valuesCard.json").read_text())
    cards = sorted(
        (c for c in raw if c["quality"] == "ok"), key=lambda c: (c["createdAt"], c["id"])
    )
    assert len(cards) == 625
    results = cards_canonicalise_batch(
        study_id=study.pk,
        cards=[
            CardText(c["title"], c["instructionsShort"], tuple(c["evaluationCriteria"]), c["id"])
            for c in cards
        ],
    )
    predicted = [r.value_id for r in results]
    precision, recall, merged, same = pair_scores(predicted, [c["canonicalCardId"] for c in cards])
    print(
        f"\noffline canonicaliser on 625 cards: {len(set(predicted))} values "
        f"(reference: {len({c['canonicalCardId'] for c in cards})}); merged pairs {merged}, "
        f"same-id pairs {same}; precision {precision:.3f}, recall {recall:.3f}"
    )
    assert precision >= 0.95
    assert recall > 0.3  # it does merge: exact and near-exact duplicates
    assert CanonicalisationDecision.objects.filter(study=study).count() >= 625
    assert Counter(d.judge for d in CanonicalisationDecision.objects.all()) == {
        "offline-rule-v1": CanonicalisationDecision.objects.count()
    }


CARD_A = CardText(
    "Honest loving friendship",
    "Caring for a friend by telling them hard truths.",
    ("WORRIES my friend has not said out loud", "WAYS to refuse while staying on their side"),
)
CARD_B = CardText(
    "Honest loving friendship",
    "Caring for a friend by telling them hard truths!",
    ("WORRIES my friend has not said out loud", "WAYS to refuse while staying on their side"),
)


def canonicalise(study: Study, card: CardText) -> int:
    return card_canonicalise(study_id=study.pk, card=card).value_id


def test_the_llm_judge_merges_and_records_its_decision(
    study: Study, fake_llm: FakeLLMServer
) -> None:
    first = canonicalise(study, CARD_A)
    assert fake_llm.chat_requests() == []  # no candidates yet: no judge call
    fake_llm.script({"json": {"same_value": True, "reason": "Same things attended to."}})
    second = canonicalise(study, CARD_B)
    assert second == first
    (request,) = fake_llm.chat_requests()
    prompt = request["messages"][0]["content"]
    assert "a wrong\nmerge silences a participant" in prompt  # the rubric
    assert CARD_A.for_prompt() in prompt
    assert "hard truths!" in prompt
    assert request["response_format"]["json_schema"]["schema"] == JUDGE_SCHEMA
    assert request["model"] == "fake-model"
    assert_golden("canonicalisation_judge.prompt.txt", prompt)
    decision = CanonicalisationDecision.objects.get(is_merged=True)
    assert decision.value_id == first
    assert decision.judge == "fake-model"
    assert decision.prompt_hash == load_prompt("canonicalisation_judge").sha256
    assert decision.reason == "Same things attended to."
    assert fake_llm.requests("/v1/embeddings")  # embeddings went through the gateway too


def test_a_malformed_verdict_is_retried_and_never_stored(
    study: Study, fake_llm: FakeLLMServer
) -> None:
    canonicalise(study, CARD_A)
    fake_llm.script(
        {"text": "Sure! They look the same to me."},
        {"json": {"same_value": False, "reason": "Different scope."}},
    )
    second = canonicalise(study, CARD_B)
    assert len(fake_llm.chat_requests()) == 2
    assert Value.objects.filter(study=study).count() == 2
    assert CanonicalisationDecision.objects.filter(is_merged=True).count() == 0
    assert second != Value.objects.filter(study=study).order_by("id").first().pk  # type: ignore[union-attr]

    decisions = CanonicalisationDecision.objects.count()
    fake_llm.script({"text": "not json"}, {"json": {"same_value": "yes"}})
    with pytest.raises(MoralGraphError) as failure:
        canonicalise(study, CARD_B)
    assert failure.value.code == "judge_failed"
    assert CanonicalisationDecision.objects.count() == decisions  # nothing stored
    assert Value.objects.filter(study=study).count() == 2


def test_a_judge_timeout_is_a_clear_error_and_stores_nothing(
    study: Study, fake_llm: FakeLLMServer
) -> None:
    canonicalise(study, CARD_A)
    before = (Value.objects.count(), CanonicalisationDecision.objects.count())
    fake_llm.script({"json": {"same_value": True, "reason": "x"}, "hang": True, "hang_s": 5})
    with pytest.raises(MoralGraphError) as failure:
        canonicalise(study, CARD_B)
    assert failure.value.code == "llm_timeout"
    assert "did not answer in time" in failure.value.message
    assert (Value.objects.count(), CanonicalisationDecision.objects.count()) == before


def test_offline_rule_keeps_different_titles_apart(study: Study) -> None:
    first = canonicalise(study, CARD_A)
    assert canonicalise(study, CARD_B) == first  # near-identical wording, same title
    other = CardText("Truthful friendship", CARD_A.description, CARD_A.policies)
    assert canonicalise(study, other) != first
