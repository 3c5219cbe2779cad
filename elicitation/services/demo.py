"""The demo study, created or brought up to date."""

from __future__ import annotations

from django.db import transaction

from elicitation.demo import DEMO_QUESTIONS, DEMO_SLUG, DEMO_STUDY
from elicitation.models import Question, Study
from moralgraph.services import context_ensure, demo_graph_seed


@transaction.atomic
def demo_study_seed() -> Study:
    """Create or bring up to date the demo study; running it twice changes nothing."""
    study, _ = Study.objects.update_or_create(
        slug=DEMO_SLUG,
        defaults={
            **DEMO_STUDY,
            "status": Study.Status.OPEN,
            "visibility": Study.Visibility.PUBLIC,
        },
    )
    for order, spec in enumerate(DEMO_QUESTIONS):
        question, _ = Question.objects.update_or_create(
            study=study,
            source_id=f"demo-{order}",
            defaults={
                "title": spec["title"],
                "text": spec["text"],
                "seed_message": spec["seed_message"],
                "order": order,
            },
        )
        for text in spec["contexts"]:
            context_ensure(study_id=study.pk, text=text, question_ids=[question.pk])
    demo_graph_seed(study_id=study.pk)
    return study
