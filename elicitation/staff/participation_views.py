"""Staff pages for who takes part: the study's state, how people enter, invite codes and
panel settings. Thin: forms check the input, services write, selectors read."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.exports import safe_cell
from elicitation.models import Study
from elicitation.staff.access import study_required
from elicitation.staff.lookups import study_or_404
from elicitation.staff.participation_forms import (
    InviteCodesForm,
    PanelSettingsForm,
    ParticipationForm,
)

State = Study.Status

# The state buttons: the state each one moves to, its label, and what it means.
STATE_ACTIONS = {
    State.OPEN: {
        State.CLOSED: (
            "Close the study",
            "Nobody new can enter, and people part-way through cannot send more answers. "
            "What was sent is kept; you can reopen it later.",
        )
    },
    State.DRAFT: {
        State.OPEN: (
            "Open the study",
            "Participants can enter by the study's link, as its participation mode says.",
        )
    },
    State.CLOSED: {
        State.OPEN: (
            "Reopen the study",
            "New participants can enter again, and people part-way through can carry on.",
        )
    },
}


@study_required
@require_http_methods(["GET", "POST"])
def study_participation(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = ParticipationForm(
        request.POST or None,
        initial={"participation_mode": study.participation_mode, "quota": study.quota},
    )
    if request.method == "POST" and form.is_valid():
        services.study_participation_update(
            study_id=study.pk,
            participation_mode=form.cleaned_data["participation_mode"],
            quota=form.cleaned_data["quota"],
        )
        messages.success(request, "Participation settings saved.")
        return redirect("staff:study_participation", slug=study.slug)
    actions = [
        {"state": state, "label": label, "meaning": meaning}
        for state, (label, meaning) in STATE_ACTIONS[State(study.status)].items()
    ]
    return render(
        request,
        "elicitation/staff/participation.html",
        {
            "study": study,
            "form": form,
            "actions": actions,
            "participants": selectors.study_participant_count(study=study),
            "entry_url": request.build_absolute_uri(f"/s/{study.slug}/"),
        },
        status=400 if form.errors else 200,
    )


@study_required
@require_POST
def study_state(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    try:
        study = services.study_state_set(study_id=study.pk, state=request.POST.get("state", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The study is now {study.get_status_display().lower()}.")
    return redirect("staff:study_participation", slug=study.slug)


@study_required
@require_http_methods(["GET", "POST"])
def invite_codes(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = InviteCodesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        made = services.invite_codes_generate(study_id=study.pk, count=form.cleaned_data["count"])
        messages.success(request, f"{len(made)} new invite code{'s' if len(made) != 1 else ''}.")
        return redirect("staff:invite_codes", slug=study.slug)
    rows = selectors.invite_code_rows(study=study)
    return render(
        request,
        "elicitation/staff/invite_codes.html",
        {
            "study": study,
            "form": form,
            "rows": rows,
            "used": sum(1 for row in rows if row.used_at),
            "is_invite_mode": study.participation_mode == Study.ParticipationMode.INVITE_CODES,
        },
        status=400 if form.errors else 200,
    )


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a quote (the
    rule of every CSV export, `elicitation.exports.safe_cell`)."""
    return str(safe_cell(value))


@study_required
def invite_codes_csv(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-invite-codes.csv"'
    writer = csv.writer(response)
    writer.writerow(["code", "used_at", "participant"])
    for row in selectors.invite_code_rows(study=study):
        used_at = row.used_at.isoformat() if row.used_at else ""
        writer.writerow([csv_cell(row.code), used_at, row.participant_public_id])
    return response


@study_required
@require_http_methods(["GET", "POST"])
def invite_code_free(request: HttpRequest, slug: str, code_id: int) -> HttpResponse:
    study = study_or_404(slug)
    row = next((r for r in selectors.invite_code_rows(study=study) if r.id == code_id), None)
    if row is None:
        raise Http404("No such invite code in this study.")
    if request.method == "POST":
        try:
            services.invite_code_free(
                study_id=study.pk,
                code_id=code_id,
                is_confirmed=request.POST.get("confirm") == "yes",
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"The code {row.code} can be used again.")
        return redirect("staff:invite_codes", slug=study.slug)
    return render(request, "elicitation/staff/invite_code_free.html", {"study": study, "row": row})


@study_required
@require_http_methods(["GET", "POST"])
def panel_settings(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = PanelSettingsForm(
        request.POST or None,
        initial={
            "panel_param": study.panel_param,
            "completion_url": study.completion_redirect_url,
            "completion_code": study.panel_completion_code,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.study_panel_settings_set(study_id=study.pk, **form.cleaned_data)
        messages.success(request, "Panel settings saved.")
        return redirect("staff:panel_settings", slug=study.slug)
    return render(
        request,
        "elicitation/staff/panel_settings.html",
        {
            "study": study,
            "form": form,
            "is_panel_mode": study.participation_mode == Study.ParticipationMode.PANEL,
            "entry_url": request.build_absolute_uri(f"/s/{study.slug}/"),
        },
        status=400 if form.errors else 200,
    )
