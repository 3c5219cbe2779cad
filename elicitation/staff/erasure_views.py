"""Erasure on request: a staff member names a participant by their withdrawal code or public
id, says why, sees what will go, and confirms. The erasure itself is
`services.participant_erase`: what the participant wrote goes, and the graph follows."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.staff.access import study_required
from elicitation.staff.lookups import study_or_404

TEMPLATE = "elicitation/staff/erasure.html"
NOT_FOUND = "No participant of this study has that withdrawal code or public id."


class ErasureForm(forms.Form):
    key = forms.CharField(
        label="Withdrawal code or participant id",
        max_length=60,
        help_text="The W-… code the participant was shown, or their public id (a UUID, as in exports).",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The request this answers (e.g. “email from the participant, 2 May”). Logged; "
        "never write the participant's own words here.",
    )


@study_required
@require_http_methods(["GET", "POST"])
def participant_erasure(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = ErasureForm(request.POST or None)
    context: dict[str, Any] = {"study": study, "form": form, "target": None}
    if request.method == "POST" and form.is_valid():
        target = selectors.erasure_target(study_id=study.pk, key=form.cleaned_data["key"])
        if target is None:
            form.add_error("key", NOT_FOUND)
        elif request.POST.get("confirm") != "yes":
            context["target"] = target  # the confirmation step
            return _page(request, context, status=200)
        else:
            try:
                outcome = services.participant_erase(
                    study_id=study.pk,
                    participant_id=target.participant_id,
                    actor_id=request.user.pk,
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                if outcome.is_new:
                    messages.success(
                        request,
                        f"Participant {target.public_id} is erased; the graph is being rebuilt.",
                    )
                else:
                    messages.info(
                        request,
                        f"Participant {target.public_id} had already withdrawn or been erased.",
                    )
                return redirect("staff:erasure", slug=study.slug)
    return _page(request, context, status=400 if form.is_bound else 200)


def _page(request: HttpRequest, context: dict[str, Any], *, status: int) -> HttpResponse:
    context["log"] = selectors.erasure_log(study_id=context["study"].pk)
    return render(request, TEMPLATE, context, status=status)
