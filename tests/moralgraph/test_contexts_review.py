"""Contexts are reviewed before use: typed and imported ones are approved at once; generated
and mined ones are proposed, and neither get stories nor have their stories drawn for
participants until a staff member approves them; a rejected one is hidden again. A context
belongs to its own study's questions only (services and the admin)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from elicitation import services as elicitation_services
from elicitation.models import Question, Study
from inference.testing import FakeLLMServer
from moralgraph import selectors, services
from moralgraph.errors import MoralGraphError
from moralgraph.models import Context, UpgradeHypothesis, Value
from moralgraph.services import ContextRow, generation, pipeline
from tests.factories import (
    make_participant,
    make_question,
    make_study,
    make_told_interview,
    make_user,
)
from tests.moralgraph.test_pipeline import STORIES_TASK, _valued_card
from tests.support.celery_sent import tasks_sent

pytestmark = pytest.mark.django_db


def _story(study: Study, context_id: int) -> UpgradeHypothesis:
    a, b = (
        Value.objects.create(study=study, title=f"V{n}", description="d", policies=["P"])
        for n in (1, 2)
    )
    return UpgradeHypothesis.objects.create(
        study=study, from_value=a, to_value=b, context_id=context_id, story="A story.", run_id="r"
    )


def _drawn(study: Study) -> list[int]:
    participant = make_participant(study)
    drawn = selectors.hypotheses_draw(participant_id=participant.pk, study_id=study.pk, count=5)
    return [h.id for h in drawn]


def _generated(fake_llm: FakeLLMServer, study: Study, question: Question) -> Context:
    fake_llm.script({"json": {"contexts": ["When the person is in distress"]}})
    (context,) = generation.contexts_generate(study_id=study.pk, question_id=question.pk)
    return context


def test_a_typed_context_is_approved_and_used(django_capture_on_commit_callbacks: Any) -> None:
    study = make_study()
    question = make_question(study)
    _valued_card(study, question, 1)
    _valued_card(study, question, 2)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        context_id = services.context_add(
            study_id=study.pk, question_id=question.pk, text="  When a friend asks for a lie. "
        )
    context = Context.objects.get(pk=context_id)
    assert (context.text, context.origin, context.status) == (
        "When a friend asks for a lie",
        Context.Origin.CURATED,
        Context.Status.APPROVED,
    )
    # Its two values have no story yet: stories are requested for it at once.
    assert [(name, args[:2]) for name, args in sent] == [(STORIES_TASK, (study.pk, context_id))]
    hypothesis = _story(study, context_id)
    assert _drawn(study) == [hypothesis.pk]
    (item,) = selectors.question_contexts(study_id=study.pk, question_id=question.pk)
    assert (item.text, item.origin, item.status, item.question_ids) == (
        "When a friend asks for a lie",
        "curated",
        "approved",
        (question.pk,),
    )


def test_typed_contexts_are_validated_and_not_duplicated() -> None:
    study = make_study()
    question = make_question(study)
    with pytest.raises(MoralGraphError) as bad:
        services.context_add(study_id=study.pk, question_id=question.pk, text="Honesty")
    assert bad.value.code == "bad_context"
    with pytest.raises(MoralGraphError) as long:
        services.context_add(
            study_id=study.pk, question_id=question.pk, text="When " + "very " * 10 + "long"
        )
    assert long.value.code == "bad_context"
    services.context_add(study_id=study.pk, question_id=question.pk, text="When it is late")
    with pytest.raises(MoralGraphError) as twice:
        services.context_add(study_id=study.pk, question_id=question.pk, text="When it is late.")
    assert twice.value.code == "duplicate_context"
    # The same text for another question of the study: one context, on both questions.
    other = make_question(study, title="Another")
    services.context_add(study_id=study.pk, question_id=other.pk, text="When it is late")
    (context,) = Context.objects.filter(study=study)
    assert set(context.questions.values_list("pk", flat=True)) == {question.pk, other.pk}


def test_generated_contexts_wait_for_approval_before_use(
    fake_llm: FakeLLMServer, django_capture_on_commit_callbacks: Any
) -> None:
    study = make_study()
    question = make_question(study)
    context = _generated(fake_llm, study, question)
    assert (context.origin, context.status) == (Context.Origin.GENERATED, Context.Status.PROPOSED)
    _valued_card(study, question, 1)
    _valued_card(study, question, 2)
    hypothesis = _story(study, context.pk)

    # Proposed: no stories requested or generated, its stories never drawn.
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert services.stories_request_if_due(study_id=study.pk, question_id=question.pk) == []
        assert services.study_stories_request(study_id=study.pk) == []
    assert sent == []
    with pytest.raises(MoralGraphError) as refused:
        generation.hypotheses_generate(study_id=study.pk, context_id=context.pk)
    assert refused.value.code == "context_not_approved"
    assert (
        pipeline.context_stories_generate(study_id=study.pk, context_id=context.pk, run_id="x")
        == []
    )
    assert _drawn(study) == []
    assert selectors.question_story_value_ids(study_id=study.pk, question_id=question.pk) == set()

    # Approved: used, and stories are requested for its values without one.
    staff = make_user(is_staff=True)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        status = services.context_review(
            study_id=study.pk, context_id=context.pk, approve=True, reviewer_id=staff.pk
        )
    assert status == Context.Status.APPROVED
    context.refresh_from_db()
    assert context.reviewed_by_id == staff.pk
    assert context.reviewed_at is not None
    assert [name for name, _ in sent] == [STORIES_TASK]
    assert _drawn(study) == [hypothesis.pk]

    # Rejected: hidden from participants again.
    services.context_review(
        study_id=study.pk, context_id=context.pk, approve=False, reviewer_id=staff.pk
    )
    assert _drawn(study) == []
    assert selectors.question_contexts(study_id=study.pk, question_id=question.pk)[0].status == (
        "rejected"
    )
    # Generated again, a rejected context stays rejected.
    assert _generated(fake_llm, study, question).status == Context.Status.REJECTED


def test_mined_contexts_are_proposed(fake_llm: FakeLLMServer) -> None:
    study = make_study()
    question = make_question(study)
    for said in (["My mum hid her falls."], ["My grandad refused a carer."]):
        make_told_interview(study, question, said)
    fake_llm.script({"json": {"contexts": ["When a parent hides a fall"]}})
    (context_id,) = elicitation_services.contexts_mine_from_interviews(
        study_id=study.pk, question_id=question.pk
    )
    context = Context.objects.get(pk=context_id)
    assert (context.origin, context.status) == (Context.Origin.MINED, Context.Status.PROPOSED)


def test_imported_and_existing_contexts_are_approved() -> None:
    study = make_study()
    question = make_question(study)
    services.contexts_import(
        study_id=study.pk, contexts=[ContextRow("When it is imported", (question.pk,))]
    )
    assert Context.objects.get(study=study).status == Context.Status.APPROVED


def test_a_context_never_belongs_to_another_studys_question() -> None:
    study, other_study = make_study(), make_study()
    question, foreign = make_question(study), make_question(other_study)
    with pytest.raises(MoralGraphError) as refused:
        services.context_add(study_id=study.pk, question_id=foreign.pk, text="When it rains")
    assert refused.value.code == "unknown_question"
    context_id = services.context_add(
        study_id=study.pk, question_id=question.pk, text="When it rains"
    )
    with pytest.raises(MoralGraphError) as edit:
        services.context_edit(
            study_id=study.pk,
            context_id=context_id,
            text="When it rains",
            question_ids=[question.pk, foreign.pk],
        )
    assert edit.value.code == "unknown_question"
    with pytest.raises(MoralGraphError):  # nor reviewed through another study
        services.context_review(
            study_id=other_study.pk, context_id=context_id, approve=False, reviewer_id=None
        )
    assert list(Context.objects.get(pk=context_id).questions.all()) == [question]
    assert Context.objects.get(pk=context_id).status == Context.Status.APPROVED


def test_generation_requests_need_a_model(
    fake_llm: FakeLLMServer, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    study = make_study()
    question = make_question(study)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        services.contexts_generate_request(study_id=study.pk, question_id=question.pk)
    assert sent == [("moralgraph.tasks.contexts_generate", (study.pk, question.pk))]
    settings.LLM_BASE_URL = ""
    with pytest.raises(MoralGraphError) as offline:
        services.contexts_generate_request(study_id=study.pk, question_id=question.pk)
    assert offline.value.code == "no_model"
    assert "needs a model" in offline.value.message


def test_the_admin_offers_only_the_contexts_own_study_questions(client: Client) -> None:
    study, other_study = make_study(), make_study()
    question = make_question(study, title="Ours")
    foreign = make_question(other_study, title="Theirs")
    context_id = services.context_ensure(study_id=study.pk, text="When x", question_ids=[])
    admin = get_user_model().objects.create_superuser("ctx-admin", password="a-long-pass-123")
    client.force_login(admin)
    url = f"/admin/moralgraph/context/{context_id}/change/"
    page = client.get(url).content.decode()
    assert f'<option value="{question.pk}"' in page
    assert f'<option value="{foreign.pk}"' not in page

    form = {"study": study.pk, "text": "When x", "origin": "curated", "status": "approved"}
    refused = client.post(url, {**form, "questions": [question.pk, foreign.pk]})
    assert refused.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in refused.content.decode()
    assert list(Context.objects.get(pk=context_id).questions.all()) == []
    saved = client.post(url, {**form, "questions": [question.pk]})
    assert saved.status_code == 302
    assert list(Context.objects.get(pk=context_id).questions.all()) == [question]
