"""Reads of a study's contexts for the staff pages: per question, each context with where it
came from and its review state."""

from __future__ import annotations

from dataclasses import dataclass

from moralgraph.models import Context


@dataclass(frozen=True)
class ContextItem:
    id: int
    text: str
    origin: str  # "curated", "generated", "mined" or "imported"
    origin_label: str
    status: str  # "proposed", "approved" or "rejected"
    status_label: str
    question_ids: tuple[int, ...]
    stories: int


def _items(contexts: list[Context]) -> list[ContextItem]:
    return [
        ContextItem(
            id=c.pk,
            text=c.text,
            origin=c.origin,
            origin_label=c.get_origin_display(),
            status=c.status,
            status_label=c.get_status_display(),
            question_ids=tuple(sorted(q.pk for q in c.questions.all())),
            stories=c.hypotheses.count(),
        )
        for c in contexts
    ]


def question_contexts(*, study_id: int, question_id: int) -> list[ContextItem]:
    """The question's contexts: proposed ones first (they wait for a review), then by text."""
    contexts = (
        Context.objects.filter(study_id=study_id, questions=question_id)
        .prefetch_related("questions")
        .order_by("text")
    )
    order = {Context.Status.PROPOSED: 0, Context.Status.APPROVED: 1, Context.Status.REJECTED: 2}
    return sorted(_items(list(contexts)), key=lambda c: order.get(Context.Status(c.status), 3))


def context_item(*, study_id: int, context_id: int) -> ContextItem | None:
    context = Context.objects.filter(pk=context_id, study_id=study_id).first()
    return _items([context])[0] if context is not None else None
