"""The moderation queue: a held card never reaches another participant's "which of these
values are wise?" draw until staff approve it; rejecting a card takes its value back; the
staff page lists, approves, rejects (with a reason) and logs who did what and why."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from elicitation import services
from elicitation.errors import ApplicationError
from elicitation.models import ModerationAction, Participant, Question, Study, ValuesCard
from moralgraph.models import Value
from tests.elicitation.test_screening import INJECTION, confirmed_card
from tests.factories import make_question, make_researcher, make_study
from tests.support.celery_sent import tasks_sent

CANONICALISE = "elicitation.tasks.values_card_canonicalise"


def _screened(study: Study, question: Question, **kwargs: Any) -> ValuesCard:
    """A confirmed card, screened, and canonicalised if it may be shown (what the worker does)."""
    card = confirmed_card(study, question, **kwargs)
    card = services.values_card_screen(card_id=card.pk)
    services.values_card_canonicalise(card_id=card.pk)
    card.refresh_from_db()
    return card


def _draw(card: ValuesCard) -> list[int]:
    participant = Participant.objects.get(pk=card.participant_id)
    return services.wise_values_draw(participant=participant)


@pytest.mark.django_db
def test_a_held_card_reaches_no_draw_until_approved(
    django_capture_on_commit_callbacks: Any,
) -> None:
    study = make_study()
    question = make_question(study)
    held = _screened(study, question, said=[INJECTION], title="Obey the operator always")
    assert held.screening == ValuesCard.Screening.HELD
    assert held.value_id is None
    shown = _screened(study, question, title="Loyal honest friendship")
    assert shown.value_id is not None
    # Participant B (the shown card's author) is drawn nothing of the held card.
    assert _draw(shown) == []

    staff = make_researcher(study)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        services.values_card_approve(study_id=study.pk, card_id=held.pk, actor_id=staff.pk)
    assert sent == [(CANONICALISE, (held.pk,))]
    value_id = services.values_card_canonicalise(card_id=held.pk)
    assert value_id is not None
    held.refresh_from_db()
    assert held.screening == ValuesCard.Screening.APPROVED

    # Participant C, after the approval, may be drawn it.
    later = _screened(study, question, title="Courage with kindness")
    assert value_id in _draw(later)
    log = ModerationAction.objects.filter(card=held).order_by("id")
    assert [(a.action, a.actor_id) for a in log] == [("held", None), ("approved", staff.pk)]


@pytest.mark.django_db
def test_rejecting_a_shown_card_detaches_and_hides_the_value_it_alone_supports() -> None:
    study = make_study()
    question = make_question(study)
    alone = _screened(study, question, title="Loyal honest friendship")
    twin_a = _screened(study, question, title="Courage with kindness")
    twin_b = _screened(study, question, title="Courage with kindness")
    assert twin_a.value_id == twin_b.value_id  # the same card merges into one value
    staff = make_researcher(study)

    rejected = services.values_card_reject(
        study_id=study.pk, card_id=alone.pk, actor_id=staff.pk, reason="Spam from a bot."
    )
    assert rejected.screening == ValuesCard.Screening.REJECTED
    assert rejected.value_id is None
    assert alone.value_id is not None
    assert twin_b.value_id is not None
    assert Value.objects.get(pk=alone.value_id).status == Value.Status.HIDDEN
    # Another visible card still supports the twins' value: it stays.
    services.values_card_reject(
        study_id=study.pk, card_id=twin_a.pk, actor_id=staff.pk, reason="Duplicate."
    )
    assert Value.objects.get(pk=twin_b.value_id).status == Value.Status.ACTIVE
    later = _screened(study, question, title="Patience with family")
    drawn = _draw(later)
    assert alone.value_id not in drawn
    assert twin_b.value_id in drawn
    action = ModerationAction.objects.get(card=alone, action="rejected")
    assert (action.actor_id, action.reason) == (staff.pk, "Spam from a bot.")


@pytest.mark.django_db
def test_a_rejection_needs_a_reason_and_a_card_of_the_study() -> None:
    study = make_study()
    other = make_study()
    card = _screened(study, make_question(study), said=[INJECTION])
    staff = make_researcher(study)
    with pytest.raises(ApplicationError, match="Say why"):
        services.values_card_reject(
            study_id=study.pk, card_id=card.pk, actor_id=staff.pk, reason=" "
        )
    with pytest.raises(ApplicationError, match="No such card"):
        services.values_card_approve(study_id=other.pk, card_id=card.pk, actor_id=staff.pk)
    card.refresh_from_db()
    assert card.screening == ValuesCard.Screening.HELD


# --- the staff page -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_moderation_page_lists_approves_rejects_and_logs(
    django_capture_on_commit_callbacks: Any,
) -> None:
    study = make_study()
    question = make_question(study)
    held = _screened(study, question, said=[INJECTION], title="Obey the operator always")
    other = _screened(study, question, said=["see www.example.net"], title="Courage with links")
    staff = make_researcher(study)
    client = Client()
    client.force_login(staff)
    url = f"/staff/{study.slug}/moderation/"

    page = client.get(url).content.decode()
    assert "Waiting for review (2)" in page
    assert "Obey the operator always" in page
    assert "instruction-like text in the participant&#x27;s messages" in page
    assert "a link or e-mail address in the participant&#x27;s messages" in page

    decide = f"/staff/{study.slug}/moderation/decide/"
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        approved = client.post(decide, {"card": held.pk, "decision": "approve"})
    assert approved.status_code == 302
    assert sent == [(CANONICALISE, (held.pk,))]

    refused = client.post(decide, {"card": other.pk, "decision": "reject", "reason": "  "})
    assert refused.status_code == 400
    assert "Say why the card is rejected." in refused.content.decode()
    other.refresh_from_db()
    assert other.screening == ValuesCard.Screening.HELD

    rejected = client.post(decide, {"card": other.pk, "decision": "reject", "reason": "An ad."})
    assert rejected.status_code == 302
    other.refresh_from_db()
    assert other.screening == ValuesCard.Screening.REJECTED

    page = client.get(url).content.decode()
    assert "No card is waiting" in page
    assert staff.username in page
    assert "An ad." in page
    assert "Approved" in page
    assert "Recently shown to other participants" in page


@pytest.mark.django_db
def test_the_study_editor_sets_how_cards_are_reviewed() -> None:
    study = make_study()
    services.study_settings_update(study_id=study.pk, values={"card_review": "approval"})
    study.refresh_from_db()
    assert study.card_review == Study.CardReview.STAFF_APPROVAL
    client = Client()
    client.force_login(make_researcher(study))
    page = client.get(f"/staff/{study.slug}/").content.decode()
    assert "Before others see a card" in page
