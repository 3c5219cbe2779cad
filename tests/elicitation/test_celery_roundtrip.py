"""A task sent through Redis to a real worker process that writes to PostgreSQL."""

from __future__ import annotations

import pytest
from django.utils import timezone

from elicitation import tasks
from elicitation.models import ValuesCard
from moralgraph.models import Value
from tests.factories import make_interview
from tests.support.processes import ManagedProcess, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_card_canonicalised_by_a_real_worker_over_redis(celery_worker: ManagedProcess) -> None:
    interview = make_interview()
    card = ValuesCard.objects.create(
        interview=interview,
        participant=interview.participant,
        question=interview.question,
        title="Honest loyalty between friends",
        description="Helping a friend without deceiving anyone on her behalf.",
        policies=["MOMENTS where loyalty and honesty can both be kept"],
        submitted_at=timezone.now(),
    )
    assert card.value_id is None

    tasks.values_card_canonicalise.delay(card.pk)

    def canonicalised() -> bool:
        celery_worker.assert_running()
        card.refresh_from_db()
        return card.value_id is not None

    wait_until(canonicalised, timeout=30, what="the worker to canonicalise the card")
    assert card.value_id is not None
    value = Value.objects.get(pk=card.value_id)
    assert value.study_id == interview.participant.study_id
    assert value.title == "Honest loyalty between friends"
    assert "Task elicitation.tasks.values_card_canonicalise[" in celery_worker.log()


def test_redelivered_task_changes_nothing(celery_worker: ManagedProcess) -> None:
    interview = make_interview()
    card = ValuesCard.objects.create(
        interview=interview,
        participant=interview.participant,
        question=interview.question,
        title="Care that respects independence",
        description="Offering help in a way that leaves the person in charge.",
        policies=["CHOICES the person can still make for themselves"],
        submitted_at=timezone.now(),
    )
    tasks.values_card_canonicalise.delay(card.pk)
    wait_until(
        lambda: ValuesCard.objects.get(pk=card.pk).value_id, timeout=30, what="first delivery"
    )
    first_value = ValuesCard.objects.get(pk=card.pk).value_id
    result = tasks.values_card_canonicalise.delay(card.pk)
    wait_until(
        lambda: (
            f"Task elicitation.tasks.values_card_canonicalise[{result.id}] succeeded"
            in celery_worker.log()
        ),
        timeout=30,
        what="second delivery",
    )
    assert ValuesCard.objects.get(pk=card.pk).value_id == first_value
    assert Value.objects.filter(study=interview.participant.study).count() == 1
