"""Staff page for a study's contexts, per question: typed ones (approved at once), ones
generated from the question or mined from interviews by the model (proposed, each approved or
rejected here before it is used). Thin: forms check the input, services write."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.models import Study
from elicitation.staff.access import study_required
from elicitation.staff.contexts_forms import ContextAddForm, ContextEditForm
from elicitation.staff.lookups import question_or_404, study_or_404
from moralgraph import selectors as graph_selectors
from moralgraph import services as graph_services
from moralgraph.services import MoralGraphError

TEMPLATES = "elicitation/staff/"


def _page(
    request: HttpRequest, study: Study, bound: tuple[int, ContextAddForm] | None = None
) -> HttpResponse:
    """The contexts page; `bound` is a question's add form with its errors, shown in place."""
    sections: list[dict[str, Any]] = []
    for row in selectors.staff_study_questions(study=study):
        form = bound[1] if bound and bound[0] == row.pk else ContextAddForm(auto_id=f"q{row.pk}_%s")
        items = graph_selectors.question_contexts(study_id=study.pk, question_id=row.pk)
        sections.append({"question": row, "contexts": items, "form": form})
    context = {
        "study": study,
        "sections": sections,
        "can_generate": graph_services.contexts_generation_available(),
        "proposed": sum(1 for s in sections for c in s["contexts"] if c.status == "proposed"),
    }
    return render(request, TEMPLATES + "contexts.html", context, status=400 if bound else 200)


@study_required
def contexts(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, study_or_404(slug))


@study_required
@require_POST
def context_add(request: HttpRequest, slug: str, question_id: int) -> HttpResponse:
    study = study_or_404(slug)
    question = question_or_404(study, question_id)
    form = ContextAddForm(request.POST, auto_id=f"q{question.pk}_%s")
    if form.is_valid():
        try:
            graph_services.context_add(
                study_id=study.pk,
                question_id=question.pk,
                text=form.cleaned_data["text"],
                user_id=request.user.pk,
            )
        except MoralGraphError as exc:
            form.add_error("text", exc.message)
        else:
            messages.success(request, f"Context added to “{question.title}”; it is in use.")
            return redirect(f"/staff/{study.slug}/contexts/#question-{question.pk}")
    return _page(request, study, (question.pk, form))


def _request(request: HttpRequest, study: Study, question_id: int, *, mined: bool) -> HttpResponse:
    question = question_or_404(study, question_id)
    try:
        if mined:
            services.contexts_mine_request(study_id=study.pk, question_id=question.pk)
        else:
            graph_services.contexts_generate_request(study_id=study.pk, question_id=question.pk)
    except (ApplicationError, MoralGraphError) as exc:
        messages.error(request, exc.message)
    else:
        source = "what participants said about" if mined else "the question"
        messages.success(
            request,
            f"Requested: the model is proposing contexts from {source} “{question.title}”. "
            "They appear below as proposed in a minute or so (reload the page); approve or "
            "reject each.",
        )
    return redirect(f"/staff/{study.slug}/contexts/#question-{question.pk}")


@study_required
@require_POST
def contexts_generate(request: HttpRequest, slug: str, question_id: int) -> HttpResponse:
    return _request(request, study_or_404(slug), question_id, mined=False)


@study_required
@require_POST
def contexts_mine(request: HttpRequest, slug: str, question_id: int) -> HttpResponse:
    return _request(request, study_or_404(slug), question_id, mined=True)


@study_required
@require_POST
def context_review(request: HttpRequest, slug: str, context_id: int) -> HttpResponse:
    study = study_or_404(slug)
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, "Choose Approve or Reject.")
        return redirect(f"/staff/{study.slug}/contexts/")
    approve = decision == "approve"
    try:
        graph_services.context_review(
            study_id=study.pk, context_id=context_id, approve=approve, reviewer_id=request.user.pk
        )
    except MoralGraphError as exc:
        raise Http404(exc.message) from exc
    item = graph_selectors.context_item(study_id=study.pk, context_id=context_id)
    text = item.text if item else "The context"
    messages.success(
        request,
        f"“{text}” approved: stories are generated for it and shown to participants."
        if approve
        else f"“{text}” rejected: it is not used.",
    )
    return redirect(f"/staff/{study.slug}/contexts/")


@study_required
@require_http_methods(["GET", "POST"])
def context_edit(request: HttpRequest, slug: str, context_id: int) -> HttpResponse:
    study = study_or_404(slug)
    item = graph_selectors.context_item(study_id=study.pk, context_id=context_id)
    if item is None:
        raise Http404("No such context in this study.")
    choices = [(q.pk, q.title) for q in selectors.staff_study_questions(study=study)]
    initial = {"text": item.text, "questions": list(item.question_ids)}
    form = ContextEditForm(request.POST or None, initial=initial, questions=choices)
    if request.method == "POST" and form.is_valid():
        try:
            graph_services.context_edit(
                study_id=study.pk,
                context_id=item.id,
                text=form.cleaned_data["text"],
                question_ids=form.cleaned_data["questions"],
            )
        except MoralGraphError as exc:
            form.add_error("questions" if exc.code.endswith("question") else "text", exc.message)
        else:
            messages.success(request, "Context saved.")
            return redirect(f"/staff/{study.slug}/contexts/")
    status = 400 if form.errors else 200
    page = {"study": study, "item": item, "form": form}
    return render(request, TEMPLATES + "contexts_edit.html", page, status=status)
