"""Staff pages for a study's set-up: thin adapters from the forms to the services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.staff.access import (
    admin_required,
    staff_required,
    study_required,
    visible_study_ids,
)
from elicitation.staff.lookups import question_or_404, study_or_404
from elicitation.staff.study_forms import (
    DemographicQuestionForm,
    QuestionForm,
    StudyCreateForm,
    StudySettingsForm,
)

GET_POST = require_http_methods(["GET", "POST"])


def _offset(request: HttpRequest) -> int:
    return -1 if request.POST.get("direction") == "up" else 1


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], *, invalid: bool = False
) -> HttpResponse:
    return render(request, f"elicitation/staff/{template}", context, status=400 if invalid else 200)


@staff_required
def study_list(request: HttpRequest) -> HttpResponse:
    allowed = visible_study_ids(request.user)
    studies = [s for s in selectors.staff_study_list() if allowed is None or s.pk in allowed]
    return _page(request, "study_list.html", {"studies": studies})


@admin_required
@GET_POST
def study_create(request: HttpRequest) -> HttpResponse:
    form = StudyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = services.study_create(slug=form.cleaned_data["slug"], values=form.settings())
        except ApplicationError as exc:
            form.add_error("slug", exc.message)
        else:
            messages.success(request, f"Study “{study.title}” created, in draft.")
            return redirect("staff:study_edit", slug=study.slug)
    return _page(request, "study_form.html", {"form": form}, invalid=form.is_bound)


@study_required
@GET_POST
def study_edit(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = StudySettingsForm(request.POST or None, instance=study)
    if request.method == "POST" and form.is_valid():
        services.study_settings_update(study_id=study.pk, values=form.settings())
        messages.success(request, "Settings saved.")
        return redirect("staff:study_edit", slug=study.slug)
    context = {
        "study": study,
        "form": form,
        "questions": selectors.staff_study_questions(study=study),
        "demographics": selectors.study_demographic_questions(study=study),
    }
    return _page(request, "study_form.html", context, invalid=form.is_bound)


@study_required
@GET_POST
def question_add(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = QuestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.question_add(study_id=study.pk, values=form.cleaned_data)
        messages.success(request, "Question added.")
        return redirect("staff:study_edit", slug=study.slug)
    context = {"study": study, "form": form}
    return _page(request, "study_question_form.html", context, invalid=form.is_bound)


@study_required
@GET_POST
def question_edit(request: HttpRequest, slug: str, question_id: int) -> HttpResponse:
    study = study_or_404(slug)
    question = question_or_404(study, question_id)
    form = QuestionForm(request.POST or None, instance=question)
    if request.method == "POST" and form.is_valid():
        services.question_update(question_id=question.pk, values=form.cleaned_data)
        messages.success(request, "Question saved.")
        return redirect("staff:study_edit", slug=study.slug)
    context = {"study": study, "form": form, "question": question}
    return _page(request, "study_question_form.html", context, invalid=form.is_bound)


@study_required
@require_POST
def question_move(request: HttpRequest, slug: str, question_id: int) -> HttpResponse:
    study = study_or_404(slug)
    question = question_or_404(study, question_id)
    services.question_move(question_id=question.pk, offset=_offset(request))
    return redirect(reverse("staff:study_edit", args=[study.slug]) + "#questions")


@study_required
@require_POST
def question_delete(request: HttpRequest, slug: str, question_id: int) -> HttpResponse:
    study = study_or_404(slug)
    question = question_or_404(study, question_id)
    try:
        services.question_delete(question_id=question.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Question “{question.title}” deleted.")
    return redirect(reverse("staff:study_edit", args=[study.slug]) + "#questions")


@study_required
@GET_POST
def demographics(request: HttpRequest, slug: str) -> HttpResponse:
    """The builder: the study's questions about participants, and a form to add one."""
    study = study_or_404(slug)
    form = DemographicQuestionForm(request.POST or None, initial={"kind": "single_choice"})
    if request.method == "POST" and form.is_valid():
        try:
            services.demographic_question_add(study_id=study.pk, data=form.definition())
        except services.DemographicDefinitionError as exc:
            form.add_definition_error(exc)
        else:
            messages.success(request, f"Question “{form.cleaned_data['label']}” added.")
            return redirect("staff:demographics", slug=study.slug)
    context = {
        "study": study,
        "form": form,
        "questions": selectors.study_demographic_questions(study=study),
        "skipped": selectors.study_demographic_skipped(study=study),
    }
    return _page(request, "study_demographics.html", context, invalid=form.is_bound)


@study_required
@GET_POST
def demographic_edit(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    study = study_or_404(slug)
    found = [q for q in selectors.study_demographic_questions(study=study) if q.key == key]
    if not found:
        raise Http404("No such question about participants.")
    initial = DemographicQuestionForm.initial_for(found[0])
    form = DemographicQuestionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.demographic_question_update(study_id=study.pk, key=key, data=form.definition())
        except services.DemographicDefinitionError as exc:
            form.add_definition_error(exc)
        else:
            messages.success(request, "Question saved.")
            return redirect("staff:demographics", slug=study.slug)
    context = {"study": study, "form": form, "question": found[0]}
    return _page(request, "study_demographic_form.html", context, invalid=form.is_bound)


@study_required
@require_POST
def demographic_move(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    study = study_or_404(slug)
    try:
        services.demographic_question_move(study_id=study.pk, key=key, offset=_offset(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("staff:demographics", slug=study.slug)


@study_required
@require_POST
def demographic_delete(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    study = study_or_404(slug)
    try:
        services.demographic_question_remove(study_id=study.pk, key=key)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Question removed.")
    return redirect("staff:demographics", slug=study.slug)
