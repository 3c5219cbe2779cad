"""Context and upgrade-story generation against the fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from elicitation.models import Question, Study
from inference.prompts import load_prompt
from inference.schemas import CONTEXTS_SCHEMA, UPGRADE_STORY_SCHEMA
from inference.testing import FakeLLMServer
from moralgraph.errors import MoralGraphError
from moralgraph.models import Context, UpgradeHypothesis, Value
from moralgraph.services import context_ensure, generation
from tests.moralgraph.test_canonicalisation import assert_golden

pytestmark = pytest.mark.django_db

STORY = (
    "I used to arrange everything for my father without asking him. He stopped telling me "
    "when he felt unwell. When I asked what scared him, it was losing his say in his own "
    "home. We now decide his care together."
)


@pytest.fixture
def study() -> Study:
    return Study.objects.create(slug="gen", title="Generation")


@pytest.fixture
def question(study: Study) -> Question:
    return Question.objects.create(
        study=study, title="Dad", text="My dad keeps refusing help at home. What should I do?"
    )


@pytest.fixture
def pair(study: Study) -> tuple[Value, Value]:
    a = Value.objects.create(
        study=study,
        title="Keeping loved ones safe",
        description="Preventing harm.",
        policies=["RISKS that grow"],
    )
    b = Value.objects.create(
        study=study,
        title="Dignity in choosing",
        description="Their life, their risks.",
        policies=["FEARS behind a refusal"],
    )
    return a, b


def test_contexts_are_generated_validated_and_recorded(
    study: Study, question: Question, pair: tuple[Value, Value], fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {
            "json": {
                "contexts": [
                    "When the person's independence is at stake",
                    "When the person is in distress.",
                    "Autonomy matters",  # not a "When" context: rejected
                    "When " + "very " * 12 + "long",  # too long: rejected
                    "When the person is in distress",  # duplicate
                ]
            }
        }
    )
    contexts = generation.contexts_generate(study_id=study.pk, question_id=question.pk, count=5)
    assert [c.text for c in contexts] == [
        "When the person's independence is at stake",
        "When the person is in distress",
    ]
    (request,) = fake_llm.chat_requests()
    prompt = request["messages"][0]["content"]
    assert question.text in prompt
    assert "Keeping loved ones safe: Preventing harm." in prompt
    assert request["response_format"]["json_schema"]["schema"] == CONTEXTS_SCHEMA
    assert_golden("context_generation.prompt.txt", prompt)
    stored = Context.objects.get(text="When the person is in distress")
    assert stored.origin == Context.Origin.GENERATED
    assert stored.generator_model == "fake-model"
    assert stored.prompt_hash == load_prompt("context_generation").sha256
    assert list(stored.questions.all()) == [question]


def test_stories_in_both_directions(
    study: Study, question: Question, pair: tuple[Value, Value], fake_llm: FakeLLMServer
) -> None:
    a, b = pair
    context = Context.objects.get(
        pk=context_ensure(
            study_id=study.pk, text="When independence is at stake", question_ids=[question.pk]
        )
    )
    fake_llm.script(
        {
            "json": {
                "direction": "b_to_a",
                "story": STORY,
                "reason": "B attends to the same thing more skilfully.",
            }
        }
    )
    stored = generation.hypotheses_generate(
        study_id=study.pk, context_id=context.pk, value_ids=[a.pk, b.pk], run_id="run-1"
    )
    assert [(h.from_value_id, h.to_value_id) for h in stored] == [(b.pk, a.pk)]
    (request,) = fake_llm.chat_requests()
    prompt = request["messages"][0]["content"]
    assert "Context: When independence is at stake" in prompt
    assert "Value A: Keeping loved ones safe." in prompt
    assert "Value B: Dignity in choosing." in prompt
    assert request["response_format"]["json_schema"]["schema"] == UPGRADE_STORY_SCHEMA
    assert_golden("upgrade_story.prompt.txt", prompt)
    hypothesis = UpgradeHypothesis.objects.get()
    assert hypothesis.story == STORY
    assert hypothesis.run_id == "run-1"
    assert hypothesis.prompt_hash == load_prompt("upgrade_story").sha256

    fake_llm.script({"json": {"direction": "a_to_b", "story": STORY, "reason": "r"}})
    generation.hypotheses_generate(
        study_id=study.pk, context_id=context.pk, value_ids=[a.pk, b.pk], run_id="run-2"
    )
    assert UpgradeHypothesis.objects.filter(run_id="run-2", from_value=a, to_value=b).exists()


def test_malformed_and_rule_breaking_answers_are_never_stored(
    study: Study, pair: tuple[Value, Value], fake_llm: FakeLLMServer
) -> None:
    a, b = pair
    context = Context.objects.get(
        pk=context_ensure(study_id=study.pk, text="When unsure", question_ids=[])
    )
    fake_llm.script(
        {"text": "B is wiser, obviously."},
        {"json": {"direction": "sideways", "story": "", "reason": ""}},
    )
    with pytest.raises(MoralGraphError) as failure:
        generation.hypotheses_generate(
            study_id=study.pk, context_id=context.pk, value_ids=[a.pk, b.pk]
        )
    assert failure.value.code == "llm_failed"
    assert len(fake_llm.chat_requests()) == 2  # retried once by the gateway
    # Valid JSON that breaks the story rules (names a value's title): rejected.
    fake_llm.script(
        {
            "json": {
                "direction": "a_to_b",
                "story": f"I learned Dignity in choosing. {STORY}",
                "reason": "r",
            }
        }
    )
    assert (
        generation.hypotheses_generate(
            study_id=study.pk, context_id=context.pk, value_ids=[a.pk, b.pk]
        )
        == []
    )
    assert UpgradeHypothesis.objects.count() == 0


def test_a_timeout_is_a_clear_error_and_stores_nothing(
    study: Study, question: Question, pair: tuple[Value, Value], fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"json": {"contexts": ["When late"]}, "hang": True, "hang_s": 5})
    with pytest.raises(MoralGraphError) as failure:
        generation.contexts_generate(study_id=study.pk, question_id=question.pk)
    assert failure.value.code == "llm_timeout"
    assert "nothing was stored" in failure.value.message
    assert Context.objects.filter(study=study).count() == 0


def test_generation_needs_a_model(study: Study, question: Question) -> None:
    with pytest.raises(MoralGraphError) as failure:
        generation.contexts_generate(study_id=study.pk, question_id=question.pk)
    assert failure.value.code == "no_model"
