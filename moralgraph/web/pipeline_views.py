"""The pipeline panel of a study's researcher page (staff only): what is still waiting at each
step (cards without a value, values without stories, a snapshot behind the votes, the last
sweep), and buttons that start each step now instead of waiting for the sweep."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from moralgraph.selectors.pipeline import pipeline_progress
from moralgraph.services import pipeline as pipeline_services
from moralgraph.web.access import study_required
from moralgraph.web.lookups import study_or_404


def pipeline_context(study_id: int) -> dict[str, Any]:
    """What `moralgraph/_pipeline.html` shows (merged into the study page's context)."""
    return {"pipeline": pipeline_progress(study_id=study_id)}


@require_POST
@study_required
def pipeline_cards_request(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    pipeline_services.study_cards_canonicalise_request(study_id=study.id)
    messages.success(
        request, "Cards without a value are being canonicalised. Refresh to see the counts."
    )
    return redirect("research:study", slug=study.slug)


@require_POST
@study_required
def pipeline_stories_request(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    runs = pipeline_services.study_stories_request(study_id=study.id)
    if runs:
        messages.success(
            request,
            f"Stories are being generated for {len(runs)} context"
            f"{'s' if len(runs) != 1 else ''}. Refresh to see the counts.",
        )
    else:
        messages.info(request, "Every value already has a story in each of its contexts.")
    return redirect("research:study", slug=study.slug)


@require_POST
@study_required
def pipeline_sweep_request(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    pipeline_services.pipeline_sweep_request()
    messages.success(request, "The sweep is running now. Refresh to see the counts.")
    return redirect("research:study", slug=study.slug)
