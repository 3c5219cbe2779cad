"""The staff contexts page, per question: typed contexts (checked, errors next to the field,
used at once), generated and mined ones requested in the background (or refused clearly on
the offline backend), each proposed one approved or rejected before use; a context never
takes another study's question; the page is for the study's researchers and admins only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from elicitation import services as elicitation_services
from elicitation.models import Question, Study
from inference.testing import FakeLLMServer
from moralgraph import services as graph_services
from moralgraph.models import Context
from tests.factories import make_question, make_study, make_told_interview, make_user
from tests.support.celery_sent import tasks_sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def study() -> Study:
    return make_study(slug="care", title="Care")


@pytest.fixture
def question(study: Study) -> Question:
    return make_question(study, title="Dad at home")


@pytest.fixture
def admin() -> Client:
    user = make_user(is_staff=True)
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def _page(client: Client, study: Study) -> str:
    response = client.get(f"/staff/{study.slug}/contexts/")
    assert response.status_code == 200
    return response.content.decode()


def _proposed(study: Study, question: Question, text: str) -> Context:
    context = Context.objects.create(
        study=study, text=text, origin=Context.Origin.GENERATED, status=Context.Status.PROPOSED
    )
    context.questions.add(question)
    return context


def test_a_typed_context_is_added_and_approved(
    admin: Client, study: Study, question: Question
) -> None:
    assert "No contexts yet" in _page(admin, study)
    response = admin.post(
        f"/staff/{study.slug}/contexts/{question.pk}/add/",
        {"text": "When he is afraid of falling"},
        follow=True,
    )
    page = response.content.decode()
    assert "Context added to “Dad at home”" in page
    assert "When he is afraid of falling" in page
    context = Context.objects.get(study=study)
    assert (context.status, context.origin) == (Context.Status.APPROVED, Context.Origin.CURATED)
    assert list(context.questions.all()) == [question]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Being afraid", 'starts with "When"'),
        ("When " + "he is " * 5 + "afraid", "at most 10 words"),
        ("", "This field is required."),
    ],
)
def test_a_bad_context_is_refused_next_to_its_field(
    admin: Client, study: Study, question: Question, text: str, error: str
) -> None:
    response = admin.post(f"/staff/{study.slug}/contexts/{question.pk}/add/", {"text": text})
    assert response.status_code == 400
    page = response.content.decode()
    shown = re.search(rf'<p class="error" id="q{question.pk}_text_error">([^<]*)</p>', page)
    assert shown, "no error next to the field"
    assert error in shown.group(1).replace("&quot;", '"')
    assert f'value="{text}"' in page or not text  # the input is kept
    assert not Context.objects.filter(study=study).exists()


def test_a_duplicate_is_refused_next_to_its_field(
    admin: Client, study: Study, question: Question
) -> None:
    url = f"/staff/{study.slug}/contexts/{question.pk}/add/"
    admin.post(url, {"text": "When he is alone"})
    response = admin.post(url, {"text": "When he is alone."})
    assert response.status_code == 400
    assert f'id="q{question.pk}_text_error">This question has that context already.' in (
        response.content.decode()
    )
    assert Context.objects.filter(study=study).count() == 1


def test_proposed_contexts_are_approved_or_rejected(
    admin: Client, study: Study, question: Question
) -> None:
    keep = _proposed(study, question, "When he is proud")
    drop = _proposed(study, question, "When it is about money")
    page = _page(admin, study)
    assert "2 proposed contexts wait for your review." in page
    assert page.count("Proposed, awaiting review") == 2
    assert "Generated" in page

    review = f"/staff/{study.slug}/contexts/item/"
    unclear = admin.post(f"{review}{keep.pk}/review/", {}, follow=True)
    assert "Choose Approve or Reject." in unclear.content.decode()
    keep.refresh_from_db()
    assert keep.status == Context.Status.PROPOSED
    done = admin.post(f"{review}{keep.pk}/review/", {"decision": "approve"}, follow=True)
    assert "“When he is proud” approved" in done.content.decode()
    admin.post(f"{review}{drop.pk}/review/", {"decision": "reject"})
    keep.refresh_from_db()
    drop.refresh_from_db()
    assert (keep.status, drop.status) == (Context.Status.APPROVED, Context.Status.REJECTED)
    assert "wait for your review" not in _page(admin, study)


def test_generating_on_the_offline_backend_says_it_needs_a_model(
    admin: Client, study: Study, question: Question
) -> None:
    page = _page(admin, study)
    assert "Generating and mining contexts needs a model" in page
    assert re.search(r"<button[^>]*disabled[^>]*>Generate from the question", page)
    with tasks_sent() as sent:
        response = admin.post(f"/staff/{study.slug}/contexts/{question.pk}/generate/", follow=True)
    assert "needs a model" in response.content.decode()
    assert sent == []


def test_generating_and_mining_are_requested_in_the_background(
    admin: Client,
    study: Study,
    question: Question,
    fake_llm: FakeLLMServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert "needs a model" not in _page(admin, study)
    base = f"/staff/{study.slug}/contexts/{question.pk}"
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        generated = admin.post(f"{base}/generate/", follow=True).content.decode()
        too_early = admin.post(f"{base}/mine/", follow=True).content.decode()
    assert "Requested: the model is proposing contexts from the question" in generated
    assert "Mining needs at least two participants" in too_early
    assert "there are 0 so far" in too_early
    assert sent == [("moralgraph.tasks.contexts_generate", (study.pk, question.pk))]

    for said in (["My mum hid her falls."], ["My grandad refused a carer."]):
        make_told_interview(study, question, said)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        mined = admin.post(f"{base}/mine/", follow=True).content.decode()
    assert "from what participants said about" in mined
    assert sent == [("elicitation.tasks.contexts_mine", (study.pk, question.pk))]

    # What the task does: the contexts arrive proposed, on the page for review.
    fake_llm.script({"json": {"contexts": ["When a parent hides a fall"]}})
    elicitation_services.contexts_mine_from_interviews(study_id=study.pk, question_id=question.pk)
    page = _page(admin, study)
    assert "When a parent hides a fall" in page
    assert "Mined from interviews" in page
    assert "1 proposed context waits for your review." in page


def test_a_context_takes_only_its_own_studys_questions(
    admin: Client, study: Study, question: Question
) -> None:
    second = make_question(study, title="Mum far away")
    foreign = make_question(make_study(), title="Someone else's")
    context_id = graph_services.context_add(
        study_id=study.pk, question_id=question.pk, text="When he is alone"
    )
    url = f"/staff/{study.slug}/contexts/item/{context_id}/"
    form = admin.get(url).content.decode()
    assert "Mum far away" in form
    assert "Someone else" not in form

    refused = admin.post(url, {"text": "When he is alone", "questions": [foreign.pk]})
    assert refused.status_code == 400
    assert re.search(r'id="id_questions_error">Select a valid choice', refused.content.decode())
    admin.post(url, {"text": "When he is alone", "questions": [question.pk, second.pk]})
    context = Context.objects.get(pk=context_id)
    assert set(context.questions.values_list("pk", flat=True)) == {question.pk, second.pk}
    # One context, listed under both questions.
    assert _page(admin, study).count(f'/contexts/item/{context_id}/">When he is alone</a>') == 2


def test_the_contexts_pages_are_for_the_studys_staff_only(study: Study, question: Question) -> None:
    context_id = graph_services.context_add(
        study_id=study.pk, question_id=question.pk, text="When he is alone"
    )
    urls = [f"/staff/{study.slug}/contexts/", f"/staff/{study.slug}/contexts/item/{context_id}/"]
    participant, outsider, member = Client(), Client(), Client()
    participant.force_login(make_user())
    outsider.force_login(make_user(is_staff=True))
    member_user = make_user(is_staff=True)
    elicitation_services.study_member_add(
        study_id=study.pk, username=member_user.username, added_by_id=None
    )
    member.force_login(member_user)
    for url in urls:
        assert Client().get(url).status_code == 302  # to the login page
        assert participant.get(url).status_code == 302
        assert outsider.get(url).status_code == 404  # a researcher of another study
        assert member.get(url).status_code == 200
    review = f"/staff/{study.slug}/contexts/item/{context_id}/review/"
    assert outsider.post(review, {"decision": "reject"}).status_code == 404
    assert Context.objects.get(pk=context_id).status == Context.Status.APPROVED
