"""A study's ratification page (research pages, study access rules): the per-context report of
a round (how many judged, the share preferring the alignment target's answer and the share
saying it embodies their own card, with Wilson 95% intervals), and the buttons that open a
round from an uploaded pairs file and close it. Thin: moralgraph/services/ratification.py and
moralgraph/selectors/ratification.py do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from moralgraph.errors import MoralGraphError
from moralgraph.selectors import snapshots as snapshot_selectors
from moralgraph.selectors.ratification import (
    RoundRef,
    ratification_report,
    ratification_rounds,
)
from moralgraph.services.ratification import ratification_round_close, ratification_round_open
from moralgraph.studies import StudyRef
from moralgraph.web.access import study_required
from moralgraph.web.lookups import study_or_404

MAX_PAIRS_FILE_BYTES = 20 * 1024 * 1024


class RoundOpenForm(forms.Form):
    snapshot = forms.TypedChoiceField(label="Snapshot", coerce=int)
    pairs = forms.FileField(
        label="Pairs file",
        help_text="pairs.jsonl from python -m inference ratify-sample on this snapshot",
    )

    def __init__(self, *args: Any, study_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["snapshot"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            (
                s.pk,
                f"#{s.pk} {s.name or ('live' if s.is_live else 'ad hoc')} · {s.content_hash[:12]}",
            )
            for s in snapshot_selectors.snapshot_history(study_id=study_id)
        ]

    def pairs_lines(self) -> list[str]:
        upload = self.cleaned_data["pairs"]
        if upload.size > MAX_PAIRS_FILE_BYTES:
            raise MoralGraphError("too_large", "The pairs file is larger than 20 MB.")
        try:
            return bytes(upload.read()).decode("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise MoralGraphError("bad_pairs_file", "The pairs file is not UTF-8 text.") from exc


def _chosen_round(request: HttpRequest, rounds: list[RoundRef]) -> RoundRef | None:
    raw = request.GET.get("round", "")
    if raw.isascii() and raw.isdigit():
        return next((r for r in rounds if r.id == int(raw)), None)
    return rounds[0] if rounds else None


def _page(
    request: HttpRequest, study: StudyRef, form: RoundOpenForm, *, status: int = 200
) -> HttpResponse:
    rounds = ratification_rounds(study_id=study.id)
    chosen = _chosen_round(request, rounds)
    context = {
        "study": study,
        "rounds": rounds,
        "chosen": chosen,
        "open_round": next((r for r in rounds if r.is_open), None),
        "report": ratification_report(round_id=chosen.id) if chosen else [],
        "form": form,
    }
    return render(request, "moralgraph/ratification.html", context, status=status)


@require_GET
@study_required
def ratification(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    return _page(request, study, RoundOpenForm(study_id=study.id))


@require_POST
@study_required
def ratification_open(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = RoundOpenForm(request.POST, request.FILES, study_id=study.id)
    if not form.is_valid():
        return _page(request, study, form, status=400)
    try:
        opened = ratification_round_open(
            study_id=study.id,
            snapshot_id=form.cleaned_data["snapshot"],
            pairs_lines=form.pairs_lines(),
            opened_by_id=request.user.pk,
        )
    except MoralGraphError as error:
        form.add_error("pairs", error.message)
        return _page(request, study, form, status=400)
    messages.success(
        request,
        f"Round {opened.id} is open with {opened.pair_count} pairs: finished participants now "
        "see “Help check the result” on their finish page.",
    )
    return redirect("research:ratification", slug=study.slug)


@require_POST
@study_required
def ratification_close(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    try:
        closed = ratification_round_close(study_id=study.id)
    except MoralGraphError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Round {closed.id} is closed; its report stays here.")
    return redirect("research:ratification", slug=study.slug)
