"""The integrity page of a study: participants flagged as likely manipulation (straight-lining,
implausible speed, a shared browser or network, a duplicate card) with each flag explained,
Quarantine (a reason required) and Release, and for each of those actions the difference it
made to the graph. Thin: the form checks the input, services write, selectors read."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.models import Study
from elicitation.services.quarantine import MAX_QUARANTINE_REASON
from elicitation.staff.access import study_required
from elicitation.staff.lookups import study_or_404

TEMPLATE = "elicitation/staff/integrity.html"


class QuarantineForm(forms.Form):
    participant = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Why set this participant aside?",
        required=False,
        max_length=MAX_QUARANTINE_REASON,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _page(
    request: HttpRequest, study: Study, bound: QuarantineForm | None = None, error: str = ""
) -> HttpResponse:
    rows = selectors.integrity_rows(study_id=study.pk)
    bound_participant = str(bound.data.get("participant", "")) if bound is not None else ""
    context: dict[str, Any] = {
        "study": study,
        "rows": rows,
        "log": selectors.quarantine_log(study_id=study.pk),
        "bound_participant": bound_participant,
        "error": error,
        # An error about one listed participant is shown at their form, not at the top.
        "is_row_error": any(str(row.public_id) == bound_participant for row in rows),
        "thresholds": {
            "straight": settings.MGE_FLAG_STRAIGHT_LINE_VOTES,
            "speed_votes": settings.MGE_FLAG_SPEED_MIN_VOTES,
            "gap": settings.MGE_FLAG_VOTE_GAP_SECONDS,
            "interview": settings.MGE_FLAG_INTERVIEW_SECONDS,
            "network": settings.MGE_FLAG_SHARED_NETWORK,
        },
    }
    return render(request, TEMPLATE, context, status=400 if error else 200)


@require_GET
@study_required
def integrity(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, study_or_404(slug))


def _act(request: HttpRequest, slug: str, *, quarantine: bool) -> HttpResponse:
    study = study_or_404(slug)
    form = QuarantineForm(request.POST)
    if not form.is_valid():
        return _page(request, study, form, "Choose a participant from the list (and say why).")
    participant_id = selectors.study_participant_id(
        study_id=study.pk, public_id=form.cleaned_data["participant"]
    )
    if participant_id is None:
        return _page(request, study, form, "No such participant in this study.")
    act = services.participant_quarantine if quarantine else services.participant_release
    try:
        participant = act(
            study_id=study.pk,
            participant_id=participant_id,
            actor_id=request.user.pk,
            reason=form.cleaned_data["reason"],
        )
    except ApplicationError as exc:
        return _page(request, study, form, exc.message)
    short = str(participant.public_id)[:8]
    if quarantine:
        note = f"Participant {short} set aside: the graph is rebuilt without their votes."
    else:
        note = f"Participant {short} released: the graph is rebuilt counting their votes again."
    messages.success(request, note)
    return redirect("staff:integrity", slug=study.slug)


@require_POST
@study_required
def integrity_quarantine(request: HttpRequest, slug: str) -> HttpResponse:
    return _act(request, slug, quarantine=True)


@require_POST
@study_required
def integrity_release(request: HttpRequest, slug: str) -> HttpResponse:
    return _act(request, slug, quarantine=False)
