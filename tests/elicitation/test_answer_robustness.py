"""An answer always ends with a final frame (done, stopped, or an error saying "Try again"),
whatever happens on the way: an over-long card, a model that sends garbage, a web server that
dies mid-answer. Real uvicorn servers, a real WebSocket, the fake OpenAI server."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from elicitation.interview.offline import offline_turn
from elicitation.models import CardProposal, Interview, Message
from elicitation.services import POLICY_MAX_CHARS, demo_study_seed
from inference.schemas import TITLE_MAX_CHARS, CardShapeError, validate_card
from inference.testing import FakeLLMServer
from tests.factories import make_question, make_study
from tests.support.chat import Chat
from tests.support.journey import enter_study
from tests.support.processes import start_asgi_server, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_CARD = {
    "title": "Honest care for a friend",
    "description": "Helping a friend without deceiving anyone on her behalf.",
    "policies": [
        "WORRIES my friend has not said out loud",
        "WAYS to refuse the lie while staying on her side",
        "PEOPLE who would be hurt by the deception",
    ],
}


def _of(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == kind]


LONG_WORD = "x" * 250


def test_offline_drafts_never_have_over_long_fields() -> None:
    card = offline_turn(
        user_texts=[
            f"My friend {LONG_WORD} asked me to lie.",
            f"I noticed {LONG_WORD} {LONG_WORD}.",
            "More.",
            "Less.",
        ]
    ).card
    assert card is not None
    assert card["title"] == ""  # the participant writes it, in the editor (its length checked)
    assert all(len(policy) <= POLICY_MAX_CHARS for policy in card["policies"])


def test_a_card_title_over_the_column_length_is_refused_with_a_reason() -> None:
    with pytest.raises(CardShapeError) as refused:
        validate_card({**GOOD_CARD, "title": f"Caring about {LONG_WORD} things"})
    assert f"at most {TITLE_MAX_CHARS} characters" in str(refused.value)


def test_a_long_message_with_the_offline_interviewer_ends_with_a_valid_card(
    asgi_server: str,
) -> None:
    demo_study_seed()
    client = httpx2.Client(base_url=asgi_server)
    chat = Chat(asgi_server, client, enter_study(client, "demo"))
    with chat.ws:
        for text in (
            f"My friend {LONG_WORD} asked me to lie for her.",
            f"I noticed {LONG_WORD} and {LONG_WORD} at once.",
            f"A wise person would notice {LONG_WORD} too.",
            f"Not when {LONG_WORD} is at stake.",
        ):
            chat.say(text)
            frames = chat.until_idle()
            assert [f["role"] for f in _of(frames, "message")] == ["user", "assistant"]
            assert not _of(frames, "error")
        card = _of(frames, "card_proposed")[-1]["card"]
        assert all(len(policy) <= POLICY_MAX_CHARS for policy in card["policies"])
        # Later messages are still answered, each with its final frame.
        chat.say(f"Please call it {LONG_WORD} {LONG_WORD} {LONG_WORD}")
        frames = chat.until_idle()
        assert [f["role"] for f in _of(frames, "message")] == ["user", "assistant"]
        assert all(len(f["card"]["title"]) <= TITLE_MAX_CHARS for f in _of(frames, "card_proposed"))
    assert Message.objects.filter(interview_id=chat.interview_id, role="assistant").count() == 5
    assert CardProposal.objects.filter(interview_id=chat.interview_id).exists()


def _llm_env(subprocess_env: dict[str, str], fake: FakeLLMServer) -> dict[str, str]:
    # A long timeout on purpose: an answer must end for what it is, not by timing out.
    return {
        **subprocess_env,
        "LLM_BASE_URL": fake.base_url,
        "LLM_API_KEY": "test-key",
        "LLM_MODEL": "fake-model",
        "LLM_TIMEOUT_S": "30",
        "LLM_MAX_RETRIES": "0",
    }


@pytest.fixture(scope="module")
def llm_server(subprocess_env: dict[str, str], fake_llm_server: FakeLLMServer) -> Iterator[str]:
    proc, base_url = start_asgi_server(_llm_env(subprocess_env, fake_llm_server))
    yield base_url
    proc.stop()


def _model_chat(base_url: str) -> Chat:
    study = make_study(interviewer_backend="openai", interviewer_model="fake-model")
    make_question(study, text="My friend asked me to lie for her. What should I do?")
    client = httpx2.Client(base_url=base_url)
    return Chat(base_url, client, enter_study(client, study.slug))


@pytest.mark.parametrize(
    "garbage",
    ["<html><body>Bad gateway</body></html>\n", "data: {this is not json\n\n", "data: 42\n\n"],
)
def test_a_model_stream_of_garbage_ends_with_try_again_in_seconds(
    llm_server: str, fake_llm: FakeLLMServer, garbage: str
) -> None:
    fake_llm.script({"garbage": garbage, "match": "G1"}, {"text": "A real answer.", "match": "G2"})
    chat = _model_chat(llm_server)
    with chat.ws:
        chat.say("G1: hello")
        started = time.monotonic()
        frames = chat.until_idle(timeout=5)
        assert time.monotonic() - started < 5
        errors = _of(frames, "error")
        assert len(errors) == 1
        assert "Try again" in errors[0]["message"]
        # Nothing was stored for the garbage, and the next message is answered.
        assert [f["role"] for f in _of(frames, "message")] == ["user"]
        chat.say("G2: again")
        frames = chat.until_idle()
        assert _of(frames, "message")[-1]["text"] == "A real answer."
    assert not Interview.objects.get(pk=chat.interview_id).answer_started_at


def test_a_model_card_with_an_over_long_title_is_asked_again(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    long_title = {**GOOD_CARD, "title": f"Caring about {LONG_WORD} things"}
    fake_llm.script(
        {
            "text": "Here is a card.",
            "tool_call": {"name": "propose_card", "arguments": long_title},
            "match": "T1",
        },
        {"tool_call": {"name": "propose_card", "arguments": GOOD_CARD}},
    )
    chat = _model_chat(llm_server)
    with chat.ws:
        chat.say("T1: make me a card")
        frames = chat.until_idle()
    assert {"type": "status", "state": "retrying"} in frames
    assert _of(frames, "card_proposed")[-1]["card"]["title"] == GOOD_CARD["title"]
    correction = fake_llm.chat_requests()[-1]["messages"][-1]["content"]
    assert f"at most {TITLE_MAX_CHARS} characters" in correction


def _checkpoint(interview_id: int) -> str:
    row = Message.objects.filter(interview_id=interview_id, seq=0, role="system").first()
    return row.text if row is not None else ""


def test_a_server_killed_mid_answer_leaves_its_text_and_a_free_interview(
    subprocess_env: dict[str, str], fake_llm: FakeLLMServer
) -> None:
    env = _llm_env(subprocess_env, fake_llm)
    fake_llm.configure(tokens_per_second=20)
    long_answer = " ".join(f"word{i}" for i in range(400))
    fake_llm.script({"text": long_answer, "match": "K1"}, {"text": "Welcome back.", "match": "K2"})
    first, base_url = start_asgi_server(env)
    try:
        chat = _model_chat(base_url)
        with chat.ws:
            chat.say("K1: tell me everything")
            chat.until(lambda f: f["type"] == "token")
            # The answer's text so far is checkpointed while it streams.
            wait_until(
                lambda: len(_checkpoint(chat.interview_id)) > 20,
                timeout=10,
                what="a checkpoint of the streaming answer",
            )
            first.stop(signal.SIGKILL)
    finally:
        first.stop(signal.SIGKILL)
    saved = _checkpoint(chat.interview_id)
    assert long_answer.startswith(saved)

    second, base_url = start_asgi_server(env)
    try:
        chat.ws = chat.open(base_url)
        with chat.ws:
            chat.ws.send(json.dumps({"type": "resume", "after_seq": 1}))
            started = time.monotonic()
            frames = chat.until_idle(timeout=15)
            assert time.monotonic() - started < 15
            answers = [f for f in _of(frames, "message") if f["role"] == "assistant"]
            assert len(answers) == 1
            assert answers[0]["stopped"] is True
            assert answers[0]["text"].startswith(saved)
            assert long_answer.startswith(answers[0]["text"])
            # The interview takes the next message at once.
            chat.say("K2: are you there?")
            frames = chat.until_idle()
            assert _of(frames, "message")[-1]["text"] == "Welcome back."
    finally:
        second.stop()
    stored = list(Message.objects.filter(interview_id=chat.interview_id).order_by("seq"))
    assert [(m.seq, m.role, m.is_stopped) for m in stored] == [
        (1, "user", False),
        (2, "assistant", True),
        (3, "user", False),
        (4, "assistant", False),
    ]
    assert not Interview.objects.get(pk=chat.interview_id).answer_started_at
