"""The People page of a study: an admin adds, lists and removes the study's researchers."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.staff.access import admin_required, study_required
from elicitation.staff.lookups import study_or_404


class MemberAddForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        help_text="A staff account; create it in the admin first if it does not exist.",
    )


@study_required
@admin_required
@require_http_methods(["GET", "POST"])
def study_people(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.study_member_add(
                study_id=study.pk,
                username=form.cleaned_data["username"],
                added_by_id=request.user.pk,
            )
        except ApplicationError as exc:
            form.add_error("username", exc.message)
        else:
            messages.success(request, f"{form.cleaned_data['username']} is now a researcher.")
            return redirect("staff:study_people", slug=study.slug)
    context = {
        "study": study,
        "form": form,
        "members": selectors.study_members(study_id=study.pk),
    }
    status = 400 if form.is_bound else 200
    return render(request, "elicitation/staff/people.html", context, status=status)


@study_required
@admin_required
@require_POST
def study_person_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    study = study_or_404(slug)
    if services.study_member_remove(study_id=study.pk, user_id=user_id):
        messages.success(request, "Researcher removed: they no longer see this study.")
    else:
        messages.error(request, "That person was not a researcher of this study.")
    return redirect("staff:study_people", slug=study.slug)
