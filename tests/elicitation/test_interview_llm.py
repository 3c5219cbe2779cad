"""The interview through the OpenAI-compatible backend: a real uvicorn server whose gateway
talks to the fake OpenAI server over loopback, driven over a real WebSocket. The tests
assert what the fake received (the system prompt, the tool, the conversation)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from websockets.sync.client import ClientConnection, connect

from elicitation.models import CardProposal, Interview, Message, Study, ValuesCard
from inference.prompts import load_prompt
from inference.schemas import PROPOSE_CARD_TOOL
from inference.testing import FakeLLMServer
from tests.factories import make_question, make_study
from tests.support.journey import cookie_header, enter_study
from tests.support.processes import start_asgi_server, wait_db_quiet

pytestmark = pytest.mark.django_db(transaction=True)

GOLDEN = Path(__file__).parent / "golden"
QUESTION = "My friend asked me to lie for her. What should I do?"
GOOD_CARD = {
    "title": "Honest care for a friend",
    "description": "Helping a friend without deceiving anyone on her behalf.",
    "policies": [
        "WORRIES my friend has not said out loud",
        "WAYS to refuse the lie while staying on her side",
        "PEOPLE who would be hurt by the deception",
    ],
}
BAD_CARD = {
    "title": "Honesty",  # one word: breaks the 3–6 word rule
    "description": "Being honest.",
    "policies": ["honesty matters", "TRUTH", "MOMENTS where lies hurt"],
}


@pytest.fixture(scope="module")
def llm_server(subprocess_env: dict[str, str], fake_llm_server: FakeLLMServer) -> Iterator[str]:
    """A second ASGI server whose interviewer is the fake model: short timeouts and one
    retry, so failures are quick and bounded."""
    env = {
        **subprocess_env,
        "LLM_BASE_URL": fake_llm_server.base_url,
        "LLM_API_KEY": "test-key",
        "LLM_MODEL": "fake-model",
        "LLM_TIMEOUT_S": "1",
        "LLM_MAX_RETRIES": "1",
    }
    proc, base_url = start_asgi_server(env)
    yield base_url
    proc.stop()


class Chat:
    """A participant's socket with helpers to read frames up to a condition."""

    def __init__(self, base_url: str, client: httpx2.Client, interview_id: int) -> None:
        self.base_url = base_url
        self.client = client
        self.interview_id = interview_id
        self.ws: ClientConnection = self.open()

    def open(self) -> ClientConnection:
        return connect(
            f"{self.base_url.replace('http', 'ws')}/ws/interviews/{self.interview_id}/",
            additional_headers={"Cookie": cookie_header(self.client), "Origin": self.base_url},
        )

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def say(self, text: str, client_id: str | None = None) -> str:
        client_id = client_id or str(uuid.uuid4())
        self.send({"type": "user_message", "client_id": client_id, "text": text})
        return client_id

    def until(
        self, predicate: Callable[[dict[str, Any]], bool], limit: int = 500
    ) -> list[dict[str, Any]]:
        frames = []
        for _ in range(limit):
            frame = json.loads(self.ws.recv(timeout=20))
            frames.append(frame)
            if predicate(frame):
                return frames
        raise AssertionError(f"no matching frame in {frames}")

    def until_idle(self) -> list[dict[str, Any]]:
        return self.until(lambda f: f == {"type": "status", "state": "idle"})


def _idle(frame: dict[str, Any]) -> bool:
    return frame == {"type": "status", "state": "idle"}


def _start(base_url: str) -> tuple[Chat, Study]:
    study = make_study(interviewer_backend="openai", interviewer_model="fake-model")
    make_question(study, text=QUESTION)
    client = httpx2.Client(base_url=base_url)
    interview_id = enter_study(client, study.slug)
    return Chat(base_url, client, interview_id), study


def _of(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == kind]


def test_interview_through_the_model_with_a_retried_card(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {"text": "Thank you for sharing that. What did you notice in that moment?", "match": "T1"},
        {"text": "What else would a wise friend pay attention to?", "match": "T2"},
        # The model's first card breaks the shape rules; it is told why and asked again.
        {
            "text": "Here is my guess at your card.",
            "tool_call": {"name": "propose_card", "arguments": BAD_CARD, "id": "call_bad"},
            "match": "T3",
        },
        {"tool_call": {"name": "propose_card", "arguments": GOOD_CARD, "id": "call_good"}},
    )
    chat, study = _start(llm_server)
    with chat.ws:
        chat.say("T1: my best friend once asked me to cover for her")
        first = chat.until_idle()
        tokens = _of(first, "token")
        assistant = _of(first, "message")[-1]
        assert assistant["role"] == "assistant"
        assert assistant["seq"] == 2
        assert "".join(t["text"] for t in tokens) == assistant["text"]
        assert assistant["text"] == (
            "Thank you for sharing that. What did you notice in that moment?"
        )

        chat.say("T2: whether she was scared, and who else would be hurt")
        chat.until_idle()
        chat.say("T3: the friendship over years, not just this weekend")
        third = chat.until_idle()
        assert {"type": "status", "state": "retrying"} in third
        assert [f for f in third if f["type"] == "error"] == []
        message = _of(third, "message")[-1]
        assert message["text"] == "Here is my guess at your card."
        proposed = _of(third, "card_proposed")
        assert len(proposed) == 1  # the invalid card was never shown
        assert proposed[0]["card"] == GOOD_CARD

        chat.send({"type": "confirm_card", "proposal_id": proposed[0]["proposal_id"]})
        submitted = chat.until(lambda f: f["type"] == "card_submitted")[-1]
        assert submitted["next"] == f"/s/{study.slug}/wise-values/"
        # A second confirm of the same card is refused and the socket stays open.
        chat.send({"type": "confirm_card", "proposal_id": proposed[0]["proposal_id"]})
        assert chat.until(lambda f: f["type"] == "error")[-1]["code"] == "already_submitted"
    # The server's work after the socket closed (the confirmed card's follow-ups) must be over
    # before the test's tables are emptied, or the two lock each other (seen once).
    wait_db_quiet()

    requests = fake_llm.chat_requests()
    assert len(requests) == 4
    system = load_prompt("interviewer").render(question=QUESTION)
    golden = GOLDEN / "interviewer_v1_system.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(system)
    assert system == golden.read_text()
    for body in requests:
        assert body["model"] == "fake-model"
        assert body["stream"] is True
        assert body["tools"] == [PROPOSE_CARD_TOOL]
        assert body["messages"][0] == {"role": "system", "content": system}
    assert [m["role"] for m in requests[2]["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert requests[1]["messages"][1:] == [
        {"role": "user", "content": "T1: my best friend once asked me to cover for her"},
        {
            "role": "assistant",
            "content": "Thank you for sharing that. What did you notice in that moment?",
        },
        {"role": "user", "content": "T2: whether she was scared, and who else would be hurt"},
    ]
    retry = requests[3]["messages"]
    assert retry[:-2] == requests[2]["messages"]
    assert retry[-2]["role"] == "assistant"
    assert retry[-2]["tool_calls"][0]["id"] == "call_bad"
    assert json.loads(retry[-2]["tool_calls"][0]["function"]["arguments"]) == BAD_CARD
    assert retry[-1]["role"] == "tool"
    assert retry[-1]["tool_call_id"] == "call_bad"
    assert retry[-1]["content"].startswith("Not shown to the participant")
    assert "title has 1 word" in retry[-1]["content"]

    interview = Interview.objects.get(pk=chat.interview_id)
    assert interview.status == Interview.Status.SUBMITTED
    assert interview.backend == "openai"
    assert interview.prompt_hash == load_prompt("interviewer").sha256
    assert CardProposal.objects.filter(interview=interview).count() == 1
    card = ValuesCard.objects.get(interview=interview)
    assert (card.title, card.description, card.policies) == (
        GOOD_CARD["title"],
        GOOD_CARD["description"],
        GOOD_CARD["policies"],
    )
    stored = Message.objects.get(interview=interview, seq=6)
    assert stored.tool_calls[0]["id"] == "call_good"


def test_tool_history_goes_back_to_the_model_and_a_change_gives_a_new_card(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    revised = {**GOOD_CARD, "title": "Brave and honest friendship"}
    fake_llm.script(
        {"tool_call": {"name": "propose_card", "arguments": GOOD_CARD, "id": "c1"}, "match": "A"},
        {
            "text": "I changed the title.",
            "tool_call": {"name": "propose_card", "arguments": revised, "id": "c2"},
            "match": "B",
        },
    )
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("A: here is everything at once")
        first = chat.until_idle()
        assert _of(first, "message")[-1]["text"].startswith("Here is a card based on")
        chat.say("B: please say it takes courage")
        second = chat.until_idle()
        assert _of(second, "card_proposed")[0]["card"]["title"] == revised["title"]
    history = fake_llm.chat_requests()[1]["messages"]
    assert history[2]["role"] == "assistant"
    assert history[2]["tool_calls"][0]["id"] == "c1"
    assert history[3] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": (
            "The card was shown to the participant. They can confirm it with a button, or ask "
            "for changes in the chat; only they can submit it."
        ),
    }
    assert list(
        CardProposal.objects.filter(interview_id=chat.interview_id)
        .order_by("id")
        .values_list("title", flat=True)
    ) == [GOOD_CARD["title"], revised["title"]]


def test_a_card_invalid_twice_opens_in_the_editor_as_a_draft(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {
            "text": "Let me try a card.",
            "tool_call": {"name": "propose_card", "arguments": BAD_CARD},
            "match": "X",
        },
        {"tool_call": {"name": "propose_card", "arguments": "{not json"}},
    )
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("X: my story")
        frames = chat.until_idle()
    assert _of(frames, "error") == []
    message = _of(frames, "message")[-1]
    assert message["text"] == DRAFT_TEXT
    (draft,) = _of(frames, "card_proposed")
    # The last card that could be read is the draft, for the participant to finish.
    assert draft["is_draft"] is True
    assert draft["card"] == BAD_CARD
    assert draft["problems"]
    stored = CardProposal.objects.get(interview_id=chat.interview_id)
    assert stored.is_draft
    assert stored.message_id == Message.objects.get(interview_id=chat.interview_id, seq=2).pk
    assert len(fake_llm.chat_requests()) == 2  # asked once more, then no further


GLUED = "Here is a card that captures what you said. Does it fit?"
DRAFT_TEXT = (
    "I could not get the card into the right shape, so I have opened my last version of it "
    "in the card editor below. Change what needs changing, save it, and confirm it if it fits."
)


def test_a_rejected_card_withdraws_its_text_and_never_glues_the_retry_on(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    second = {**BAD_CARD, "title": "Honest with my friend"}  # still bad: policy shapes
    fake_llm.script(
        {"text": GLUED, "tool_call": {"name": "propose_card", "arguments": BAD_CARD}, "match": "G"},
        {"text": GLUED, "tool_call": {"name": "propose_card", "arguments": second}, "match": "G"},
    )
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("G: my story")
        frames = chat.until_idle()
    kinds = [f["type"] if f["type"] != "status" else f["state"] for f in frames]
    retrying = kinds.index("retrying")
    # The first attempt streamed, was withdrawn ("revising the card"), and the second one
    # starts again at offset 0: a client never shows the two glued together.
    before = [f for f in frames[:retrying] if f["type"] == "token"]
    after = [f for f in frames[retrying:] if f["type"] == "token"]
    assert before
    assert GLUED.startswith("".join(t["text"] for t in before))
    assert after[0]["offset"] == 0
    assert "".join(t["text"] for t in after) == GLUED
    # After the second refusal the stored answer says what happened, and the editor opens
    # with the model's last card.
    message = _of(frames, "message")[-1]
    assert message["text"] == DRAFT_TEXT
    assert GLUED not in message["text"]
    (draft,) = _of(frames, "card_proposed")
    assert draft["is_draft"] is True
    assert draft["card"]["title"] == "Honest with my friend"
    assert Message.objects.get(interview_id=chat.interview_id, seq=2).text == DRAFT_TEXT
    # The model was told what the validator said.
    retry = fake_llm.chat_requests()[1]["messages"]
    assert "title has 1 word" in retry[-1]["content"]


def test_a_card_refused_once_then_accepted_keeps_only_the_accepted_answer(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {
            "text": "First try.",
            "tool_call": {"name": "propose_card", "arguments": BAD_CARD},
            "match": "R",
        },
        {
            "text": "Second try.",
            "tool_call": {"name": "propose_card", "arguments": GOOD_CARD},
            "match": "R",
        },
    )
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("R: my story")
        frames = chat.until_idle()
    assert _of(frames, "message")[-1]["text"] == "Second try."
    (card,) = _of(frames, "card_proposed")
    assert card["is_draft"] is False
    assert card["card"] == GOOD_CARD


def test_markup_in_a_card_is_carried_as_text(llm_server: str, fake_llm: FakeLLMServer) -> None:
    card = {**GOOD_CARD, "description": "Never <script>alert(1)</script> lying for a friend."}
    fake_llm.script({"tool_call": {"name": "propose_card", "arguments": card}, "match": "M"})
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("M: <script>alert('x')</script>")
        frames = chat.until_idle()
    assert _of(frames, "message")[0]["text"] == "M: <script>alert('x')</script>"
    assert _of(frames, "card_proposed")[0]["card"]["description"] == card["description"]
    assert (
        CardProposal.objects.get(interview_id=chat.interview_id).description
        == (card["description"])
    )


def test_stop_mid_stream_keeps_the_partial_answer(llm_server: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure(tokens_per_second=40)
    long_answer = " ".join(f"word{i}" for i in range(200))
    fake_llm.script({"text": long_answer, "match": "S"})
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("S: tell me a lot")
        before = chat.until(lambda f: f["type"] == "token")
        chat.send({"type": "stop"})
        after = chat.until_idle()
    frames = before + after
    streamed = "".join(f["text"] for f in _of(frames, "token"))
    message = _of(frames, "message")[-1]
    assert message["role"] == "assistant"
    assert message["stopped"] is True
    assert message["text"] == streamed
    assert 0 < len(streamed) < len(long_answer)
    assert long_answer.startswith(streamed)
    stored = Message.objects.get(interview_id=chat.interview_id, role="assistant")
    assert stored.is_stopped
    assert stored.text == streamed


def _assemble(tokens: list[dict[str, Any]]) -> str:
    """The answer as a client shows it, placing each token frame's text at its offset."""
    text = ""
    for frame in tokens:
        assert frame["offset"] <= len(text), f"a gap before {frame}"
        text = text[: frame["offset"]] + frame["text"]
    return text


def test_a_dropped_connection_resumes_the_answer(llm_server: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.configure(tokens_per_second=60)
    long_answer = " ".join(f"part{i}" for i in range(200))
    fake_llm.script({"text": long_answer, "match": "D1"}, {"text": "Welcome back.", "match": "D2"})
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("D1: a long story")
        before = chat.until(lambda f: f["type"] == "token")
    # The phone went into a tunnel mid-answer: the socket is closed.
    seen_before_drop = _assemble(_of(before, "token"))
    assert seen_before_drop
    assert long_answer.startswith(seen_before_drop)

    chat.ws = chat.open()
    with chat.ws:
        chat.send({"type": "resume", "after_seq": 1})
        after = chat.until(lambda f: f["type"] == "message" and f["role"] == "assistant")
        # The answer went on while the participant was away: the new socket catches up from
        # the start of the answer and then follows it to the end.
        assert after[0] == {"type": "status", "state": "thinking"}
        tokens = _of(after, "token")
        assert tokens[0]["offset"] == 0
        assert _assemble(tokens) == long_answer
        assert after[-1] == {
            "type": "message",
            "seq": 2,
            "role": "assistant",
            "text": long_answer,
            "stopped": False,
        }
        assert chat.until_idle()[-1] == {"type": "status", "state": "idle"}
        chat.say("D2: I am back")
        assert _of(chat.until_idle(), "message")[-1]["text"] == "Welcome back."
    stored = Message.objects.get(interview_id=chat.interview_id, seq=2)
    assert stored.text == long_answer
    assert not stored.is_stopped
    # Answered once: the model was asked for D1 once and for D2 once.
    assert len(fake_llm.chat_requests()) == 2


def test_a_message_resent_while_its_answer_streams_is_not_answered_twice(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.configure(tokens_per_second=60)
    fake_llm.script({"text": " ".join(f"bit{i}" for i in range(60)), "match": "R1"})
    chat, _ = _start(llm_server)
    with chat.ws:
        client_id = chat.say("R1: first")
        chat.until(lambda f: f["type"] == "token")
    chat.ws = chat.open()
    with chat.ws:
        # The browser resends what it is not sure arrived, with the same client id.
        chat.send({"type": "resume", "after_seq": 0})
        chat.say("R1: first", client_id=client_id)
        frames = chat.until_idle()
        assert not _of(frames, "error")
        assert [m["seq"] for m in _of(frames, "message") if m["role"] == "assistant"] == [2]
        chat.say("R2: while nothing streams")  # the default answer, not scripted
        frames = chat.until_idle()
        assert [m["seq"] for m in _of(frames, "message")] == [3, 4]
    assert len(fake_llm.chat_requests()) == 2
    assert Message.objects.filter(interview_id=chat.interview_id, role="user").count() == 2


@pytest.mark.parametrize(
    "failure",
    [{"status": 500, "body": "boom"}, {"hang": True}],
    ids=["server-error", "timeout"],
)
def test_model_failure_is_retried_then_try_again_loses_nothing(
    llm_server: str, fake_llm: FakeLLMServer, failure: dict[str, Any]
) -> None:
    # One retry is allowed (LLM_MAX_RETRIES=1): two failures exhaust it.
    fake_llm.script(
        {**failure, "match": "F", "repeat": 2}, {"text": "Now I can answer.", "match": "F"}
    )
    chat, _ = _start(llm_server)
    with chat.ws:
        client_id = chat.say("F: my answer")
        frames = chat.until_idle()
        errors = _of(frames, "error")
        assert [e["code"] for e in errors] == ["llm_unavailable"]
        assert "Try again" in errors[0]["message"]
        assert _of(frames, "message") == [
            {"type": "message", "seq": 1, "role": "user", "text": "F: my answer", "stopped": False}
        ]
        assert len(fake_llm.chat_requests()) == 2

        # "Try again" resends the same message: stored once, answered now.
        chat.say("F: my answer", client_id=client_id)
        again = chat.until_idle()
        assert _of(again, "message")[-1]["text"] == "Now I can answer."
    stored = list(Message.objects.filter(interview_id=chat.interview_id).order_by("seq"))
    assert [(m.seq, m.role, m.text) for m in stored] == [
        (1, "user", "F: my answer"),
        (2, "assistant", "Now I can answer."),
    ]


def test_a_stream_that_stalls_keeps_what_came(llm_server: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"text": "one two three four five six", "stall_after": 3, "match": "Z"})
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("Z: go")
        frames = chat.until_idle()
    message = _of(frames, "message")[-1]
    assert message["text"] == "one two three "
    assert message["stopped"] is True
    assert _of(frames, "error")[0]["code"] == "llm_unavailable"


def test_a_resent_message_is_stored_once(llm_server: str, fake_llm: FakeLLMServer) -> None:
    fake_llm.script({"text": "Answer one.", "match": "R"})
    chat, _ = _start(llm_server)
    with chat.ws:
        client_id = chat.say("R: hello")
        chat.until_idle()
        chat.say("R: hello", client_id=client_id)
        echo = json.loads(chat.ws.recv(timeout=10))
        assert echo == {
            "type": "message",
            "seq": 1,
            "role": "user",
            "text": "R: hello",
            "stopped": False,
        }
        # Nothing else follows: the answered message is not answered twice.
        chat.send({"type": "resume", "after_seq": 2})
        assert json.loads(chat.ws.recv(timeout=10)) == {"type": "status", "state": "idle"}
    assert Message.objects.filter(interview_id=chat.interview_id).count() == 2
    assert len(fake_llm.chat_requests()) == 1


def test_turn_limit_gives_a_clear_message_and_a_last_turn_card(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script(
        {"text": "Go on.", "match": "L1"},
        {"tool_call": {"name": "propose_card", "arguments": GOOD_CARD}, "match": "L2"},
    )
    chat, study = _start(llm_server)
    Study.objects.filter(pk=study.pk).update(max_turns=2)
    with chat.ws:
        chat.say("L1: first")
        chat.until_idle()
        chat.say("L2: second")
        chat.until_idle()
        chat.say("L3: third")
        error = chat.until(lambda f: f["type"] == "error")[-1]
    assert error["code"] == "turn_limit"
    assert "Please confirm a card to go on." in error["message"]
    last = fake_llm.chat_requests()[-1]["messages"][-1]
    assert last["role"] == "system"
    assert "propose the values card now" in last["content"]
    assert Message.objects.filter(interview_id=chat.interview_id, role="user").count() == 2


@pytest.fixture(scope="module")
def second_llm_server(
    subprocess_env: dict[str, str], fake_llm_server: FakeLLMServer
) -> Iterator[str]:
    """Another server process of the same deployment: same database, same Redis layer."""
    env = {
        **subprocess_env,
        "LLM_BASE_URL": fake_llm_server.base_url,
        "LLM_API_KEY": "test-key",
        "LLM_MODEL": "fake-model",
        "LLM_TIMEOUT_S": "1",
        "LLM_MAX_RETRIES": "1",
    }
    proc, base_url = start_asgi_server(env)
    yield base_url
    proc.stop()


def test_a_reconnect_to_another_server_process_follows_the_answer(
    llm_server: str, second_llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.configure(tokens_per_second=60)
    long_answer = " ".join(f"piece{i}" for i in range(150))
    fake_llm.script({"text": long_answer, "match": "P1"})
    chat, _ = _start(llm_server)
    with chat.ws:
        chat.say("P1: a long story")
        chat.until(lambda f: f["type"] == "token")

    # The phone comes back through the load balancer to the other process.
    other = Chat(second_llm_server, chat.client, chat.interview_id)
    with other.ws:
        other.send({"type": "resume", "after_seq": 1})
        first = other.until(lambda f: f["type"] == "token")
        assert {"type": "status", "state": "thinking"} in first
        # One answer at a time, whichever process the participant reaches.
        other.say("P2: may I interrupt?")
        frames = first + other.until(lambda f: f["type"] == "message" and f["role"] == "assistant")
        assert [f["code"] for f in _of(frames, "error")] == ["busy"]
        assert _assemble(_of(frames, "token")) == long_answer
        assert frames[-1]["text"] == long_answer
        assert frames[-1]["stopped"] is False
        assert other.until_idle()[-1] == {"type": "status", "state": "idle"}
    assert len(fake_llm.chat_requests()) == 1
    stored = Message.objects.get(interview_id=chat.interview_id, seq=2)
    assert stored.text == long_answer
    assert not stored.is_stopped
    assert not Interview.objects.get(pk=chat.interview_id).answer_started_at


def test_stop_reaches_an_answer_in_another_server_process(
    llm_server: str, second_llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.configure(tokens_per_second=40)
    fake_llm.script({"text": " ".join(f"bit{i}" for i in range(300)), "match": "Q1"})
    chat, _ = _start(llm_server)
    other = Chat(second_llm_server, chat.client, chat.interview_id)
    with chat.ws, other.ws:
        chat.say("Q1: go on at length")
        chat.until(lambda f: f["type"] == "token")
        other.send({"type": "stop"})
        stopped = _of(chat.until_idle(), "message")[-1]
        assert stopped["role"] == "assistant"
        assert stopped["stopped"] is True
        # The other process's socket hears the stored answer through the channel layer.
        heard = other.until(lambda f: f["type"] == "message")
        assert heard[-1] == stopped
    assert Message.objects.get(interview_id=chat.interview_id, seq=2).is_stopped


def test_the_model_is_told_to_answer_in_the_participants_language(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"text": "¿Qué notaste en ese momento?"})
    study = make_study(interviewer_backend="openai", interviewer_model="fake-model")
    make_question(study, text=QUESTION)
    client = httpx2.Client(base_url=llm_server)
    client.cookies.set("django_language", "es")  # the switcher's choice
    chat = Chat(llm_server, client, enter_study(client, study.slug))
    with chat.ws:
        chat.say("Mi mejor amiga me pidió que mintiera por ella.")
        chat.until_idle()
    [request] = fake_llm.chat_requests()
    system = [m["content"] for m in request["messages"] if m["role"] == "system"]
    assert system[1] == (
        "The participant's page is in Spanish. Answer in the language the participant writes "
        "in (Spanish until they have written), and write the card's title and lines in it too."
    )
    assert request["messages"][-1]["content"] == "Mi mejor amiga me pidió que mintiera por ella."
