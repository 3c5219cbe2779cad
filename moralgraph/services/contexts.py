"""Writes of a study's contexts and of its values' moderation status.

A context is used (stories generated for it and drawn for participants) only once approved:
typed by staff and imported ones are approved at once; generated and mined ones are proposed
and wait for a staff member to approve or reject each. A context belongs to questions of its
own study only, never to another study's question."""

from __future__ import annotations

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.models import (
    Context,
    Value,
)
from moralgraph.services.generation import MAX_CONTEXT_WORDS, valid_context
from moralgraph.services.pipeline import context_stories_request_if_due
from moralgraph.services.snapshots import snapshot_rebuild_request

GENERATE_TASK = "moralgraph.tasks.contexts_generate"
MINE_TASK = "elicitation.tasks.contexts_mine"
NO_MODEL = (
    "Generating or mining contexts needs a model, and this server runs the offline "
    "interviewer only (set LLM_BASE_URL to an OpenAI-compatible server). Type contexts by hand "
    "meanwhile."
)


@transaction.atomic
def context_ensure(
    *, study_id: int, text: str, question_ids: list[int], origin: str = Context.Origin.CURATED
) -> int:
    """The study's context with this text, linked to these questions (created once); its id."""
    context, _ = Context.objects.get_or_create(
        study_id=study_id, text=text, defaults={"origin": origin}
    )
    context.questions.add(*question_ids)
    return context.pk


@transaction.atomic
def values_status_set(*, value_ids: list[int], status: str) -> int:
    """Hide values from the graph (moderation) or show them again; every study touched gets
    its live graph rebuilt. Returns how many values changed."""
    if status not in Value.Status.values:
        raise MoralGraphError("bad_status", f"Unknown value status {status!r}.")
    changing = Value.objects.filter(pk__in=value_ids).exclude(status=status)
    study_ids = set(changing.values_list("study_id", flat=True))
    changed = changing.update(status=status)
    for study_id in sorted(study_ids):
        snapshot_rebuild_request(study_id=study_id)
    return changed


def _check_questions(study_id: int, question_ids: list[int]) -> None:
    if not question_ids:
        raise MoralGraphError("no_question", "Choose at least one question for the context.")
    for question_id in question_ids:
        if studies.question_ref(study_id=study_id, question_id=question_id) is None:
            raise MoralGraphError(
                "unknown_question", "A context can only belong to this study's questions."
            )


def context_text_clean(text: str) -> str:
    """The context's text tidied up, or a clear error saying which rule it breaks."""
    cleaned = valid_context(text)
    if cleaned is None:
        raise MoralGraphError(
            "bad_context",
            f'A context starts with "When" and has at most {MAX_CONTEXT_WORDS} words, '
            'e.g. "When they are in distress".',
        )
    return cleaned


def _study_context(study_id: int, context_id: int) -> Context:
    context = Context.objects.select_for_update().filter(pk=context_id, study_id=study_id).first()
    if context is None:
        raise MoralGraphError("unknown_context", "That context does not belong to this study.")
    return context


def _duplicate(study_id: int, text: str, *, exclude_id: int | None = None) -> Context | None:
    same = Context.objects.filter(study_id=study_id, text__iexact=text)
    return same.exclude(pk=exclude_id).first() if exclude_id else same.first()


@transaction.atomic
def context_add(*, study_id: int, question_id: int, text: str, user_id: int | None = None) -> int:
    """A context typed by staff for a question: approved at once. The same text already in the
    study is linked to this question too (and approved: staff typed it), unless the question
    has it already, which is an error. Returns the context's id."""
    _check_questions(study_id, [question_id])
    cleaned = context_text_clean(text)
    context = _duplicate(study_id, cleaned)
    if context is not None and context.questions.filter(pk=question_id).exists():
        raise MoralGraphError("duplicate_context", "This question has that context already.")
    if context is None:
        context = Context.objects.create(
            study_id=study_id, text=cleaned, origin=Context.Origin.CURATED
        )
    elif context.status != Context.Status.APPROVED:
        context.status = Context.Status.APPROVED
        context.reviewed_by_id, context.reviewed_at = user_id, timezone.now()
        context.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    context.questions.add(question_id)
    context_stories_request_if_due(study_id=study_id, context_id=context.pk)
    return context.pk


@transaction.atomic
def context_review(
    *, study_id: int, context_id: int, approve: bool, reviewer_id: int | None
) -> str:
    """Approve a context (it is used from now on: stories are requested if due) or reject it
    (its stories are no longer drawn). Returns the new status."""
    context = _study_context(study_id, context_id)
    context.status = Context.Status.APPROVED if approve else Context.Status.REJECTED
    context.reviewed_by_id, context.reviewed_at = reviewer_id, timezone.now()
    context.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    if approve:
        context_stories_request_if_due(study_id=study_id, context_id=context.pk)
    return context.status


@transaction.atomic
def context_edit(*, study_id: int, context_id: int, text: str, question_ids: list[int]) -> None:
    """Change a context's text and the questions (of its own study) it belongs to."""
    context = _study_context(study_id, context_id)
    _check_questions(study_id, question_ids)
    cleaned = context_text_clean(text)
    if _duplicate(study_id, cleaned, exclude_id=context.pk) is not None:
        raise MoralGraphError("duplicate_context", "The study has a context with that text.")
    context.text = cleaned
    context.save(update_fields=["text"])
    context.questions.set(question_ids)


def contexts_generation_available() -> bool:
    """Whether a model is configured to generate or mine contexts (not the offline backend)."""
    return bool(getattr(settings, "LLM_BASE_URL", ""))


@transaction.atomic
def contexts_generate_request(*, study_id: int, question_id: int, mined: bool = False) -> None:
    """Staff ask for contexts generated from the question (or, `mined`, from what participants
    said about it), in the background: they arrive as proposed. Refused clearly when no model
    is configured."""
    _check_questions(study_id, [question_id])
    if not contexts_generation_available():
        raise MoralGraphError("no_model", NO_MODEL)
    task, args = (MINE_TASK if mined else GENERATE_TASK), [study_id, question_id]
    transaction.on_commit(lambda: current_app.send_task(task, args=args), robust=True)
