"""The finish page's legitimacy checks: "is this a fair position for your value?" and "is this
the same value as yours?", answered over HTTP by the session's own finished participant."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from elicitation import selectors, services
from elicitation.models import (
    DedupVerification,
    Participant,
    PositionVerification,
    Question,
    Study,
    ValuesCard,
)
from moralgraph import services as graph_services
from moralgraph.models import GraphSnapshot, Value, ValueTranslation
from moralgraph.selectors.translations import value_wording_hash
from tests.factories import make_question, make_small_graph, make_study

pytestmark = pytest.mark.django_db

CARD: dict[str, Any] = {
    "title": "Honest care for a friend",
    "description": "Helping a friend without deceiving anyone on her behalf.",
    "policies": [
        "WORRIES my friend has not said out loud",
        "WAYS to refuse the lie kindly",
        "PEOPLE who would be hurt by the deception",
    ],
}
FAIR = "Is this a fair position for your value?"
SAME = "Is this the same value as yours?"


def _finished(
    client: Client, study: Study, question: Question, value_id: int | None
) -> Participant:
    """A participant of this client's session who confirmed CARD (its value `value_id`) and
    finished the journey."""
    assert client.post(f"/s/{study.slug}/", {"consent": "yes"}).status_code == 302
    participant = Participant.objects.get(pk=client.session["participant_ids"][-1])
    response = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})
    interview_id = int(response["Location"].strip("/").split("/")[-1])
    _, proposal = services.interview_answer_store(
        interview_id=interview_id, text="A card.", card=CARD
    )
    assert proposal is not None
    services.values_card_submit(interview_id=interview_id, proposal_id=proposal.proposal_id)
    ValuesCard.objects.filter(participant=participant).update(value_id=value_id)
    Participant.objects.filter(pk=participant.pk).update(
        stage=Participant.Stage.FINISHED, finished_at=timezone.now()
    )
    participant.refresh_from_db()
    return participant


def _vote(participant: Participant, context_id: int, from_id: int, to_id: int) -> None:
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
        graph_services.upgrade_vote_cast(
            participant_id=participant.pk,
            from_value_id=from_id,
            to_value_id=to_id,
            context_id=context_id,
            choice="upgrade",
        )


def _in_graph(client: Client) -> tuple[Study, Participant, int]:
    """A finished participant whose card became the graph's first value and who voted: the
    finish page shows where the value sits. The study, the participant, the value's id."""
    study = make_study()
    question = make_question(study)
    context_id, value_id, _ = make_small_graph(study, question)
    participant = _finished(client, study, question, value_id)
    other = Value.objects.exclude(pk=value_id).get(study=study)
    _vote(participant, context_id, value_id, other.pk)
    return study, participant, value_id


def test_no_questions_without_a_value_and_no_answer_either() -> None:
    study = make_study()
    client = Client()
    participant = _finished(client, study, make_question(study), None)
    page = client.get(f"/s/{study.slug}/done/").content.decode()
    assert "Thank you, you are done" in page
    assert FAIR not in page
    assert SAME not in page
    refused = client.post(f"/s/{study.slug}/done/position/", {"is_fair": "yes"})
    assert refused.status_code == 400
    assert "no position to judge" in refused.content.decode()
    refused = client.post(f"/s/{study.slug}/done/same-value/", {"option": "same"})
    assert refused.status_code == 400
    assert not PositionVerification.objects.filter(participant=participant).exists()
    assert not DedupVerification.objects.filter(participant=participant).exists()


def test_the_fair_position_answer_is_stored_once_and_can_be_changed() -> None:
    client = Client()
    study, participant, value_id = _in_graph(client)
    page = client.get(f"/s/{study.slug}/done/").content.decode()
    assert "Where your value sits now" in page
    assert FAIR in page
    assert 'id="withdrawal-code"' in page
    answered = client.post(
        f"/s/{study.slug}/done/position/", {"is_fair": "yes", "comment": "  Sounds right.  "}
    )
    assert answered.status_code == 302
    assert answered["Location"] == f"/s/{study.slug}/done/?answered=position"
    thanked = client.get(answered["Location"]).content.decode()
    assert "your answer about your value&#x27;s position is recorded" in thanked
    # A double submit, then a change of mind: still one row, with the latest answer.
    client.post(f"/s/{study.slug}/done/position/", {"is_fair": "yes", "comment": "Sounds right."})
    client.post(f"/s/{study.slug}/done/position/", {"is_fair": "no", "comment": "Too low."})
    row = PositionVerification.objects.get(participant=participant)
    assert (row.value_id, row.is_fair, row.comment) == (value_id, False, "Too low.")
    assert "Too low." in client.get(f"/s/{study.slug}/done/").content.decode()


def test_bad_answers_are_refused_with_a_message() -> None:
    client = Client()
    study, participant, _ = _in_graph(client)
    refused = client.post(f"/s/{study.slug}/done/position/", {"is_fair": "maybe", "comment": "x"})
    assert refused.status_code == 400
    assert "Please choose yes or no." in refused.content.decode()
    refused = client.post(f"/s/{study.slug}/done/same-value/", {"option": "perhaps"})
    assert refused.status_code == 400
    assert "Please choose" in refused.content.decode()
    assert client.get(f"/s/{study.slug}/done/position/").status_code == 405
    assert not PositionVerification.objects.filter(participant=participant).exists()
    assert not DedupVerification.objects.filter(participant=participant).exists()


def test_the_same_value_question_only_when_the_card_was_merged() -> None:
    study = make_study()
    question = make_question(study)
    value = Value.objects.create(
        study=study,
        title=CARD["title"],
        description=CARD["description"],
        policies=CARD["policies"],
    )
    first = Client()
    alone = _finished(first, study, question, value.pk)
    # Their card is the value, word for word, and no one else's card joined it: nothing to ask.
    assert SAME not in first.get(f"/s/{study.slug}/done/").content.decode()
    assert first.post(f"/s/{study.slug}/done/same-value/", {"option": "same"}).status_code == 400

    # A second participant's card is merged into the same value: both are asked.
    second = Client()
    merged = _finished(second, study, question, value.pk)
    page = second.get(f"/s/{study.slug}/done/").content.decode()
    assert SAME in page
    answered = second.post(f"/s/{study.slug}/done/same-value/", {"option": "different"})
    assert answered["Location"] == f"/s/{study.slug}/done/?answered=dedup"
    assert "combined value is recorded" in second.get(answered["Location"]).content.decode()
    second.post(f"/s/{study.slug}/done/same-value/", {"option": "same"})
    row = DedupVerification.objects.get(participant=merged)
    card = ValuesCard.objects.get(participant=merged)
    assert (row.card_id, row.value_id, row.option) == (card.pk, value.pk, "same")
    assert SAME in first.get(f"/s/{study.slug}/done/").content.decode()
    assert not DedupVerification.objects.filter(participant=alone).exists()


def test_only_the_sessions_own_finished_participant_answers() -> None:
    owner = Client()
    study, participant, _ = _in_graph(owner)
    stranger = Client()
    refused = stranger.post(f"/s/{study.slug}/done/position/", {"is_fair": "no"})
    assert refused.status_code == 302
    assert refused["Location"] == f"/s/{study.slug}/"
    # Someone who entered the same study but has not finished is sent to their own step.
    stranger.post(f"/s/{study.slug}/", {"consent": "yes"})
    refused = stranger.post(f"/s/{study.slug}/done/position/", {"is_fair": "no"})
    assert refused.status_code == 302
    assert "/done/" not in refused["Location"]
    assert not PositionVerification.objects.exists()
    # Once the study closes, nothing more is written (the page no longer asks).
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    assert FAIR not in owner.get(f"/s/{study.slug}/done/").content.decode()
    closed = owner.post(f"/s/{study.slug}/done/position/", {"is_fair": "yes"})
    assert closed.status_code == 400
    assert not PositionVerification.objects.filter(participant=participant).exists()


def test_a_preview_walk_is_answered_but_never_counted() -> None:
    client = Client()
    study, participant, _ = _in_graph(client)
    Participant.objects.filter(pk=participant.pk).update(is_preview=True)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.DRAFT)
    page = client.get(f"/s/{study.slug}/done/").content.decode()
    assert FAIR in page
    assert 'id="withdrawal-code"' not in page
    answered = client.post(f"/s/{study.slug}/done/position/", {"is_fair": "no"})
    assert answered["Location"] == f"/s/{study.slug}/done/?answered=position"
    assert PositionVerification.objects.filter(participant=participant, is_fair=False).exists()
    assert selectors.study_report(study_id=study.pk)["fair_position"]["total"] == 0


def test_a_tied_value_is_not_called_the_wisest_alone() -> None:
    client = Client()
    study, _, value_id = _in_graph(client)
    snapshot = GraphSnapshot.objects.filter(study=study).latest("id")  # the one shown
    document = snapshot.document
    other = Value.objects.exclude(pk=value_id).get(study=study)
    context = document["winners"][0]["context"] if document["winners"] else "When in doubt"
    document["winners"] = [
        {
            "context": context,
            "context_id": None,
            "value_id": min(value_id, other.pk),
            "tied_value_ids": sorted([value_id, other.pk]),
            "tie": True,
            "support": "contested",
            "win_probability": 0.5,
            "score": 0.5,
            "runner_up": None,
        }
    ]
    GraphSnapshot.objects.filter(pk=snapshot.pk).update(document_zlib=GraphSnapshot.pack(document))
    page = client.get(f"/s/{study.slug}/done/").content.decode()
    assert "shares the place of the wisest with other values" in page
    assert "judged the wisest in the situation" not in page


def test_the_combined_value_is_shown_in_the_readers_language_with_its_original() -> None:
    study = make_study()
    question = make_question(study)
    value = Value.objects.create(
        study=study,
        language="en",
        title="Caring honestly for a friend",  # reworded: the question is asked
        description=CARD["description"],
        policies=CARD["policies"],
    )
    ValueTranslation.objects.create(
        value=value,
        language="es",
        title="Cuidar con honestidad a una amiga",
        description="Ayudar a una amiga sin engañar a nadie por ella.",
        policies=["PREOCUPACIONES no dichas", "MANERAS de negarse con cariño", "PERSONAS dañadas"],
        source_hash=value_wording_hash(value),
    )
    client = Client()
    client.cookies["django_language"] = "es"
    _finished(client, study, question, value.pk)
    page = client.get(f"/s/{study.slug}/done/").content.decode()
    combined = page.split('aria-labelledby="card-combined-title"', 1)[1].split("</article>")[0]
    assert "Cuidar con honestidad a una amiga" in combined
    original = combined.split("<details", 1)[1]
    assert 'lang="en"' in original
    assert "Caring honestly for a friend" in original
