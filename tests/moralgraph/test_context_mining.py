"""Contexts mined from what participants said in their interviews, against the fake model."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app
from elicitation import services
from inference.prompts import load_prompt
from inference.schemas import CONTEXTS_SCHEMA
from inference.testing import FakeLLMServer
from moralgraph.errors import MoralGraphError
from moralgraph.models import Context
from tests.factories import make_question, make_study, make_told_interview
from tests.moralgraph.test_canonicalisation import assert_golden

pytestmark = pytest.mark.django_db

STORIES = [
    ["My mum hid her falls from me.", "I noticed she was scared of losing her home."],
    ["My grandfather refused a carer.", "What mattered was that he still chose his days."],
    ["A neighbour of mine <b>never</b> asked for help.", "She was proud, and lonely."],
]


def _interviews() -> tuple[int, int]:
    study = make_study()
    question = make_question(study, text="Should I arrange care for my dad without asking?")
    other = make_question(study, title="Another", text="Something else entirely?")
    for lines in STORIES:
        make_told_interview(study, question, lines)
    # Another question's interview and the interviewer's words stay out of the excerpts.
    make_told_interview(study, other, ["Unrelated story"])
    return study.pk, question.pk


def test_contexts_mined_from_participants_words(fake_llm: FakeLLMServer) -> None:
    study_id, question_id = _interviews()
    fake_llm.script(
        {
            "json": {
                "contexts": [
                    "When a parent fears losing their home",
                    "When pride keeps someone from asking for help",
                    "Dignity",  # not a context: rejected
                ]
            }
        }
    )
    ids = services.contexts_mine_from_interviews(study_id=study_id, question_id=question_id)
    mined = list(Context.objects.filter(pk__in=ids).order_by("text"))
    assert [c.text for c in mined] == [
        "When a parent fears losing their home",
        "When pride keeps someone from asking for help",
    ]
    assert all(c.origin == Context.Origin.MINED for c in mined)
    assert all(c.prompt_hash == load_prompt("context_mining").sha256 for c in mined)
    assert all(list(c.questions.values_list("pk", flat=True)) == [question_id] for c in mined)

    (request,) = fake_llm.chat_requests()
    prompt = request["messages"][0]["content"]
    assert request["response_format"]["json_schema"]["schema"] == CONTEXTS_SCHEMA
    for lines in STORIES:
        assert f"- {' '.join(lines)}" in prompt
    assert "Unrelated story" not in prompt
    assert "Tell me more." not in prompt
    assert_golden("context_mining.prompt.txt", prompt)


def test_a_failed_model_stores_nothing(fake_llm: FakeLLMServer) -> None:
    study_id, question_id = _interviews()
    fake_llm.script({"status": 500, "body": "down"})
    with pytest.raises(MoralGraphError) as failure:
        services.contexts_mine_from_interviews(study_id=study_id, question_id=question_id)
    assert failure.value.code == "llm_failed"
    assert not Context.objects.filter(origin=Context.Origin.MINED).exists()


def test_mining_needs_interviews(fake_llm: FakeLLMServer) -> None:
    study = make_study()
    question = make_question(study)
    with pytest.raises(MoralGraphError) as failure:
        services.contexts_mine_from_interviews(study_id=study.pk, question_id=question.pk)
    assert failure.value.code == "too_few_interviews"
    assert fake_llm.chat_requests() == []


def test_mining_runs_on_the_llm_queue() -> None:
    route = celery_app.amqp.router.route({}, "elicitation.tasks.contexts_mine", args=(), kwargs={})
    assert route["queue"].name == "llm"
