"""Writes to the graph's tables: one transaction each, keyword-only arguments."""

from __future__ import annotations

from django.db import transaction

from moralgraph.models import Context, Value


@transaction.atomic
def value_for_card(*, study_id: int, title: str, description: str, policies: list[str]) -> int:
    """The canonical value a confirmed card belongs to.

    The conservative rule: a card joins an existing value only when it says exactly the same
    thing (same title, description and policies); otherwise it becomes a value of its own.
    Embedding candidates and the LLM judge refine this (DESIGN §4.2).
    """
    same = Value.objects.filter(
        study_id=study_id, title=title, description=description, policies=policies
    ).first()
    if same is not None:
        return same.pk
    value = Value.objects.create(
        study_id=study_id, title=title, description=description, policies=policies
    )
    return value.pk


@transaction.atomic
def context_ensure(
    *, study_id: int, text: str, question_ids: list[int], origin: str = Context.Origin.CURATED
) -> Context:
    """The study's context with this text, linked to these questions (created once)."""
    context, _ = Context.objects.get_or_create(
        study_id=study_id, text=text, defaults={"origin": origin}
    )
    context.questions.add(*question_ids)
    return context
