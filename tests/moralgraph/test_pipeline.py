"""The pipeline runs by itself: a card's value triggers upgrade stories for its contexts (offline:
labelled template stories), votes lead to a snapshot, and the periodic sweep repairs what a
lost task missed; staff can start each step from the study page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from elicitation import services as elicitation_services
from elicitation.models import Participant, Question, Study, ValuesCard
from elicitation.services.cards import cards_canonicalise_sweep
from elicitation.tasks import cards_canonicalise_sweep as cards_sweep_task
from moralgraph import services
from moralgraph.models import (
    CanonicalisationDecision,
    Context,
    GraphSnapshot,
    UpgradeHypothesis,
    Value,
)
from moralgraph.selectors.pipeline import fresh_value_ids, last_sweep_at, pipeline_progress
from moralgraph.services import generation, pipeline, snapshots
from moralgraph.services.offline_stories import OFFLINE_GENERATOR, OFFLINE_STORY_LABEL
from tests.factories import make_participant, make_question, make_study
from tests.support.celery_sent import tasks_sent
from tests.support.processes import ManagedProcess, wait_until

STORIES_TASK = "moralgraph.tasks.context_stories_generate"

CARDS = [
    {
        "title": "Honest care for a friend",
        "description": "Helping a friend without deceiving anyone on her behalf.",
        "policies": [
            "WORRIES my friend has not said out loud",
            "WAYS to refuse the lie kindly",
            "SIGNS she trusts me to keep quiet",
        ],
    },
    {
        "title": "Loyalty under pressure",
        "description": "Standing by people who trust me when it costs something.",
        "policies": [
            "PROMISES I made when things were easy",
            "MOMENTS she needs me on her side",
            "COSTS I can carry for her",
        ],
    },
    {
        "title": "Fairness to strangers",
        "description": "Weighing the people outside the friendship who would be misled.",
        "policies": [
            "PEOPLE who would be hurt by the deception",
            "HARMS that land far away",
            "RULES that protect the public",
        ],
    },
]


def _context(study: Study, question: Question, text: str = "When a friend asks for a lie") -> int:
    return services.context_ensure(study_id=study.pk, text=text, question_ids=[question.pk])


def _valued_card(study: Study, question: Question, n: int, *, support: int = 1) -> Value:
    """A value with `support` participants' cards on the question already pointing at it."""
    value = Value.objects.create(
        study=study, title=f"Value {n}", description=f"About thing {n}.", policies=[f"THING {n}"]
    )
    for _ in range(support):
        card = ValuesCard.objects.create(
            participant=make_participant(study),
            question=question,
            title=value.title,
            description=value.description,
            policies=value.policies,
            value=value,
            submitted_at=timezone.now(),
        )
        CanonicalisationDecision.objects.create(
            study=study, card_id=card.pk, value=value, is_merged=False, judge="test"
        )
    return value


@pytest.mark.django_db
def test_offline_stories_are_generated_from_the_values_and_labelled() -> None:
    study = make_study()
    question = make_question(study)
    context_id = _context(study, question)
    less = _valued_card(study, question, 1, support=1)
    more = _valued_card(study, question, 2, support=3)
    (story,) = generation.hypotheses_generate(study_id=study.pk, context_id=context_id)
    # The placeholder direction: the value more cards expressed is the wiser one.
    assert (story.from_value_id, story.to_value_id) == (less.pk, more.pk)
    assert story.generator_model == OFFLINE_GENERATOR
    assert story.story.startswith(OFFLINE_STORY_LABEL + "\n")
    assert "thing 1" in story.story
    assert "thing 2" in story.story
    assert "without a model" in story.reason or "placeholder" in story.reason.lower()


@pytest.mark.django_db
def test_the_story_page_shows_the_offline_label(client: Client) -> None:
    study = make_study()
    question = make_question(study)
    _context(study, question)
    _valued_card(study, question, 1)
    _valued_card(study, question, 2)
    context = Context.objects.get(study=study)
    pipeline.context_stories_generate(study_id=study.pk, context_id=context.pk, run_id="r")
    html = _story_page(client, study)
    assert OFFLINE_STORY_LABEL in html
    assert "Did this person become wiser?" in html


def _story_page(client: Client, study: Study) -> str:
    """A participant reaching the story screen through the journey's services and pages."""
    participant = make_participant(study)
    Participant.objects.filter(pk=participant.pk).update(stage=Participant.Stage.VOTES)
    session = client.session
    session["participant_ids"] = [participant.pk]
    session.save()
    response = client.get(f"/s/{study.slug}/stories/")
    assert response.status_code == 200, response.content
    return response.content.decode()


@pytest.mark.django_db
def test_stories_are_requested_once_enough_values_have_none(
    django_capture_on_commit_callbacks: Any,
) -> None:
    study = make_study()
    question = make_question(study)
    context_id = _context(study, question)
    _valued_card(study, question, 1)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert services.stories_request_if_due(study_id=study.pk, question_id=question.pk) == []
    assert sent == []  # one value without a story is not enough

    _valued_card(study, question, 2)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        (run,) = services.stories_request_if_due(study_id=study.pk, question_id=question.pk)
        again = services.stories_request_if_due(study_id=study.pk, question_id=question.pk)
    # A burst names the same run; the run generates once.
    assert again == [run]
    assert sent == [(STORIES_TASK, (study.pk, context_id, run))] * 2
    first = pipeline.context_stories_generate(study_id=study.pk, context_id=context_id, run_id=run)
    second = pipeline.context_stories_generate(study_id=study.pk, context_id=context_id, run_id=run)
    assert len(first) == 1
    assert [h.pk for h in second] == [h.pk for h in first]
    assert UpgradeHypothesis.objects.filter(context_id=context_id).count() == 1
    assert fresh_value_ids(context_id=context_id) == []

    # A third value pairs with both earlier ones; a pair never gets a second story.
    _valued_card(study, question, 3)
    _valued_card(study, question, 4)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        (run2,) = services.stories_request_if_due(study_id=study.pk, question_id=question.pk)
    assert run2 != run
    pipeline.context_stories_generate(study_id=study.pk, context_id=context_id, run_id=run2)
    pipeline.context_stories_generate(study_id=study.pk, context_id=context_id, run_id="other")
    pairs = [
        frozenset((h.from_value_id, h.to_value_id))
        for h in UpgradeHypothesis.objects.filter(context_id=context_id)
    ]
    assert len(pairs) == len(set(pairs)) == 6  # every pair of four values, once


@pytest.mark.django_db
def test_the_sweep_repairs_missed_steps(
    tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    study = make_study()
    question = make_question(study)
    context_id = _context(study, question)
    a = _valued_card(study, question, 1)
    b = _valued_card(study, question, 2)
    closed = make_study()
    closed_question = make_question(closed)
    _context(closed, closed_question)
    _valued_card(closed, closed_question, 3)
    _valued_card(closed, closed_question, 4)
    Study.objects.filter(pk=closed.pk).update(status=Study.Status.CLOSED)
    voter = make_participant(study)
    services.upgrade_vote_cast(
        participant_id=voter.pk,
        from_value_id=a.pk,
        to_value_id=b.pk,
        context_id=context_id,
        choice="upgrade",
    )
    # The vote's rebuild task was lost: the snapshot lags the vote.
    with override_settings(VAR_DIR=tmp_path):
        assert last_sweep_at() is None
        assert pipeline_progress(study_id=study.pk).is_snapshot_stale
        with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
            report = pipeline.pipeline_sweep()
        assert report.story_requests == 1  # the closed study is left alone
        assert report.rebuilds == 1
        names = sorted(name for name, _ in sent)
        assert names == [STORIES_TASK, snapshots.REBUILD_TASK]
        assert last_sweep_at() is not None

        snapshots.snapshot_rebuild_run(study_id=study.pk)
        assert not pipeline_progress(study_id=study.pk).is_snapshot_stale
        run = next(args[2] for name, args in sent if name == STORIES_TASK)
        pipeline.context_stories_generate(study_id=study.pk, context_id=context_id, run_id=run)
        with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
            report = pipeline.pipeline_sweep()
        assert (report.story_requests, report.rebuilds, sent) == (0, 0, [])


@pytest.mark.django_db
def test_the_cards_sweep_resends_canonicalisation_for_old_cards_without_a_value(
    django_capture_on_commit_callbacks: Any,
) -> None:
    study = make_study()
    question = make_question(study)
    old = ValuesCard.objects.create(
        participant=make_participant(study),
        question=question,
        title="t",
        description="d",
        submitted_at=timezone.now() - timedelta(minutes=10),
    )
    ValuesCard.objects.create(  # just submitted: its task may still be queued
        participant=make_participant(study),
        question=question,
        title="t2",
        description="d2",
        submitted_at=timezone.now(),
    )
    closed = make_study()
    ValuesCard.objects.create(
        participant=make_participant(closed),
        title="t3",
        description="d3",
        submitted_at=timezone.now() - timedelta(minutes=10),
    )
    Study.objects.filter(pk=closed.pk).update(status=Study.Status.CLOSED)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert cards_sweep_task() == 1
    assert sent == [("elicitation.tasks.values_card_canonicalise", (old.pk,))]
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        cards_canonicalise_sweep(submitted_before=timezone.now() + timedelta(seconds=1))
    assert len(sent) == 2


@pytest.mark.django_db
def test_staff_start_each_step_from_the_study_page(
    django_user_model: Any, django_capture_on_commit_callbacks: Any
) -> None:
    study = make_study()
    question = make_question(study)
    _context(study, question)
    _valued_card(study, question, 1)
    ValuesCard.objects.create(
        participant=make_participant(study), title="t", description="d", submitted_at=timezone.now()
    )
    staff = Client()
    staff.force_login(
        django_user_model.objects.create_user(
            username="r", password="x", is_staff=True, is_superuser=True
        )
    )
    html = staff.get(f"/research/{study.slug}/").content.decode()
    panel = html[html.index('id="pipeline"') :]
    assert "Cards without a value</dt><dd>1</dd>" in panel
    assert "Values without stories</dt><dd>1</dd>" in panel
    assert "Last sweep: not yet" in panel

    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        cards = staff.post(f"/research/{study.slug}/pipeline/cards/", follow=True)
        stories = staff.post(f"/research/{study.slug}/pipeline/stories/", follow=True)
        staff.post(f"/research/{study.slug}/pipeline/sweep/")
    assert "being canonicalised" in cards.content.decode()
    assert "Stories are being generated for 1 context." in stories.content.decode()
    assert [name for name, _ in sent] == [
        "elicitation.tasks.study_cards_canonicalise",
        STORIES_TASK,
        "moralgraph.tasks.pipeline_sweep",
    ]

    participant = Client()
    participant.force_login(django_user_model.objects.create_user(username="p", password="x"))
    for client in (Client(), participant):
        with tasks_sent() as sent:
            response = client.post(f"/research/{study.slug}/pipeline/stories/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
        assert sent == []


@pytest.mark.django_db(transaction=True)
def test_a_study_made_with_services_gets_stories_and_a_snapshot_without_a_click(
    celery_worker: ManagedProcess,
) -> None:
    study = make_study()
    question = make_question(study)
    context_id = _context(study, question)
    for card in CARDS:  # three participants confirm cards; the worker does the rest
        interview = elicitation_services.interview_start(
            participant=make_participant(study), question=question
        )
        _, proposal = elicitation_services.interview_answer_store(
            interview_id=interview.pk, text="Here is a card.", card=card
        )
        assert proposal is not None
        elicitation_services.values_card_submit(
            interview_id=interview.pk, proposal_id=proposal.proposal_id
        )

    def storied() -> list[UpgradeHypothesis]:
        celery_worker.assert_running()
        if ValuesCard.objects.filter(participant__study=study, value__isnull=True).exists():
            return []
        # Nothing left due: a last single value without a story waits for the next one.
        if len(fresh_value_ids(context_id=context_id)) >= pipeline.STORY_THRESHOLD:
            return []
        return list(UpgradeHypothesis.objects.filter(context_id=context_id))

    stories = wait_until(storied, timeout=60, what="stories once two values had none")
    assert isinstance(stories, list)
    assert stories
    assert {h.generator_model for h in stories} == {OFFLINE_GENERATOR}
    assert Value.objects.filter(study=study).count() == len(CARDS)  # three distinct values
    pairs = [frozenset((h.from_value_id, h.to_value_id)) for h in stories]
    assert len(pairs) == len(set(pairs))  # overlapping runs never store a pair twice

    story = stories[0]
    services.upgrade_vote_cast(
        participant_id=make_participant(study).pk,
        from_value_id=story.from_value_id,
        to_value_id=story.to_value_id,
        context_id=context_id,
        choice="upgrade",
        hypothesis_id=story.pk,
    )

    def snapshot() -> GraphSnapshot | None:
        celery_worker.assert_running()
        return GraphSnapshot.objects.filter(study=study, vote_count=1).first()

    assert wait_until(snapshot, timeout=60, what="a snapshot with the vote")
