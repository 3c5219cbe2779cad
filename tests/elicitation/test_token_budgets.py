"""Model-token budgets per participant and per study: once spent, a message gets a clear error
frame, nothing is stored and no model call is made (the fake OpenAI server counts the calls);
the participant may then go on without a card. Offline interviews use no model tokens and are
never stopped. What is counted: `Interview.token_count` (prompt and answer tokens of the
interviewer's calls) over the participant's, or the study's, interviews on a model."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from websockets.sync.client import ClientConnection, connect

from elicitation.models import Interview, Message, Study
from inference.testing import FakeLLMServer
from tests.factories import make_interview, make_question, make_study
from tests.support.journey import cookie_header, csrf_token, enter_study
from tests.support.processes import start_asgi_server

pytestmark = pytest.mark.django_db(transaction=True)

IDLE = {"type": "status", "state": "idle"}


@pytest.fixture(scope="module")
def llm_server(subprocess_env: dict[str, str], fake_llm_server: FakeLLMServer) -> Iterator[str]:
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
    def __init__(self, base_url: str, study: Study) -> None:
        self.base_url = base_url
        self.client = httpx2.Client(base_url=base_url)
        self.interview_id = enter_study(self.client, study.slug)
        self.ws: ClientConnection = connect(
            f"{base_url.replace('http', 'ws')}/ws/interviews/{self.interview_id}/",
            additional_headers={"Cookie": cookie_header(self.client), "Origin": base_url},
        )

    def say(self, text: str) -> str:
        client_id = str(uuid.uuid4())
        self.ws.send(json.dumps({"type": "user_message", "client_id": client_id, "text": text}))
        return client_id

    def until(self, predicate: Any) -> list[dict[str, Any]]:
        frames = []
        for _ in range(500):
            frame = json.loads(self.ws.recv(timeout=20))
            frames.append(frame)
            if predicate(frame):
                return frames
        raise AssertionError(f"no matching frame in {frames}")

    def user_messages(self) -> list[str]:
        return [
            str(m.client_id)
            for m in Message.objects.filter(
                interview_id=self.interview_id, role=Message.Role.USER
            ).order_by("seq")
        ]


def _on_model(**budget: int) -> Study:
    study = make_study(interviewer_backend="openai", interviewer_model="fake-model", **budget)
    make_question(study)
    return study


def test_a_participant_past_their_budget_gets_a_clear_message_and_no_model_call(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    fake_llm.script({"text": "What did you notice in that moment?"})
    study = _on_model(token_budget_per_participant=1)
    chat = Chat(llm_server, study)
    with chat.ws:
        first = chat.say("My friend asked me to cover for her.")
        assert chat.until(lambda f: f == IDLE)
        assert Interview.objects.get(pk=chat.interview_id).token_count >= 1
        assert len(fake_llm.chat_requests()) == 1
        chat.say("She was scared.")
        error = chat.until(lambda f: f["type"] == "error")[-1]
        assert error["code"] == "token_budget"
        assert "model budget for one participant" in error["message"]
        assert "you can go on to the next step" in error["message"]
    assert len(fake_llm.chat_requests()) == 1
    assert chat.user_messages() == [first]
    # Another participant of the study is not stopped by this one's budget.
    other = Chat(llm_server, study)
    with other.ws:
        other.say("Something else.")
        frames = other.until(lambda f: f == IDLE or f["type"] == "error")
        assert [f for f in frames if f["type"] == "error"] == []
    assert len(fake_llm.chat_requests()) == 2


def test_a_study_past_its_budget_stops_new_messages_and_lets_people_go_on(
    llm_server: str, fake_llm: FakeLLMServer
) -> None:
    study = _on_model(token_budget=500)
    spent = make_interview(study)
    Interview.objects.filter(pk=spent.pk).update(
        backend=Study.InterviewerBackend.OPENAI, token_count=500
    )
    chat = Chat(llm_server, study)
    with chat.ws:
        chat.say("My friend asked me to cover for her.")
        error = chat.until(lambda f: f["type"] == "error")[-1]
        assert error["code"] == "token_budget"
        assert error["message"].startswith("This study has used its model budget")
    assert fake_llm.chat_requests() == []
    assert chat.user_messages() == []
    # At the budget, like at the length limit, the participant may go on without a card.
    page = chat.client.get(f"/interviews/{chat.interview_id}/")
    left = chat.client.post(
        f"/interviews/{chat.interview_id}/leave/",
        data={"csrfmiddlewaretoken": csrf_token(page.text)},
    )
    assert left.status_code == 302, left.text
    assert left.headers["location"] == f"/s/{study.slug}/survey/"
    assert Interview.objects.get(pk=chat.interview_id).status == Interview.Status.ABANDONED


def test_offline_interviews_use_no_budget(llm_server: str, fake_llm: FakeLLMServer) -> None:
    study = make_study(token_budget=1, token_budget_per_participant=1)
    make_question(study)
    spent = make_interview(study)
    Interview.objects.filter(pk=spent.pk).update(token_count=10_000)
    chat = Chat(llm_server, study)
    with chat.ws:
        for text in ("My friend asked me to cover for her.", "She was scared."):
            chat.say(text)
            frames = chat.until(lambda f: f == IDLE or f["type"] == "error")
            assert [f for f in frames if f["type"] == "error"] == []
    assert len(chat.user_messages()) == 2
    assert fake_llm.chat_requests() == []
