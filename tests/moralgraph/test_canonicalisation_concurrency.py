"""Canonicalisation asks models outside any transaction: on PostgreSQL, with real connections
from two threads, a consent never waits for the judge, and two similar cards confirmed at once
still end in one value."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import override_settings

from elicitation.models import Participant, Study
from elicitation.services import participant_consent
from inference.testing import FakeLLMServer
from moralgraph.models import CanonicalisationDecision, Value
from moralgraph.services import CardText, card_canonicalise

pytestmark = pytest.mark.django_db(transaction=True)

CARD = CardText(
    "Honest loving friendship",
    "Caring for a friend by telling them hard truths.",
    ("WORRIES my friend has not said out loud", "WAYS to refuse while staying on their side"),
)
SIMILAR = CardText(CARD.title, CARD.description + "!", CARD.policies)
JUDGE_SECONDS = 5.0


class Worker(threading.Thread):
    """Runs a call on its own thread, so on its own database connection."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.result: Any = None
        self.error: BaseException | None = None
        self.seconds = 0.0

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.result = self.call()
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            self.seconds = time.monotonic() - started
            connections.close_all()


def poll(condition: Callable[[], bool], *, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.fixture
def study(close_db_connections: None) -> Study:
    return Study.objects.create(slug="locks", title="Locks", status=Study.Status.OPEN)


def test_a_consent_does_not_wait_for_the_judge(study: Study, fake_llm: FakeLLMServer) -> None:
    with override_settings(LLM_TIMEOUT_S=JUDGE_SECONDS * 3):
        first = card_canonicalise(study_id=study.pk, card=CARD)  # no candidate: no judge
        fake_llm.script({"json": {"same_value": True, "reason": "Same."}, "delay_s": JUDGE_SECONDS})
        judging = Worker(lambda: card_canonicalise(study_id=study.pk, card=SIMILAR))
        judging.start()
        poll(lambda: len(fake_llm.chat_requests()) == 1, within_s=10)  # the judge is thinking

        started = time.monotonic()
        participant = participant_consent(study=study)
        consent_s = time.monotonic() - started

        assert judging.is_alive(), "the judge answered before the consent was measured"
        judging.join(timeout=JUDGE_SECONDS * 3)
    assert judging.error is None
    assert consent_s < 0.5, f"consent waited {consent_s:.2f} s for the judge"
    assert judging.seconds >= JUDGE_SECONDS
    assert judging.result.value_id == first.value_id
    assert judging.result.is_merged
    assert Participant.objects.filter(pk=participant.pk, study=study).exists()


def test_two_similar_cards_at_once_become_one_value(study: Study, fake_llm: FakeLLMServer) -> None:
    # Both cards embed at the same time (slowly), so each decides without seeing the other;
    # the second to write finds the first's new value, asks the judge, and joins it.
    fake_llm.configure(delay_s=0.5)
    fake_llm.script({"json": {"same_value": True, "reason": "Same."}})
    workers = [
        Worker(lambda card=card: card_canonicalise(study_id=study.pk, card=card))  # type: ignore[misc]
        for card in (CARD, SIMILAR)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert [w.error for w in workers] == [None, None]
    assert workers[0].result.value_id == workers[1].result.value_id
    assert Value.objects.filter(study=study).count() == 1
    assert CanonicalisationDecision.objects.filter(study=study, is_merged=True).count() == 1
    assert len(fake_llm.chat_requests()) == 1
