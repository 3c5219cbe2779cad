"""The study page's live winners as JSON, for frontend/static/frontend/live.js: the snapshot the
page shows when loaded afresh (the study's newest), its vote count and time, and each context's
winner with its title, formatted as the page formats them. For the study's researchers and
admins, like the page it keeps current (moralgraph/web/access.py)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.views.decorators.http import require_GET

from moralgraph.selectors import snapshots as snapshot_selectors
from moralgraph.selectors import supersession as supersession_selectors
from moralgraph.web import presenters
from moralgraph.web.access import study_required
from moralgraph.web.lookups import study_or_404

# Markup characters as JSON escapes: the text is the same once parsed, and the body never holds
# a tag even if something treats it as HTML.
_HTML_SAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


@require_GET
@study_required
def live_winners_json(request: HttpRequest, slug: str) -> HttpResponse:
    """`snapshot_id` is null while the study has no snapshot."""
    study = study_or_404(slug)
    snapshot = snapshot_selectors.snapshot_get(study_id=study.id)
    body: dict[str, Any] = {"snapshot_id": None, "winners": []}
    if snapshot is not None and supersession_selectors.snapshot_supersession(
        snapshot_id=snapshot.pk
    ):
        # Superseded (a participant it counted withdrew): no text until the rebuild is stored.
        body = {"snapshot_id": snapshot.pk, "superseded": True, "winners": []}
    elif snapshot is not None:
        document = snapshot_selectors.snapshot_document_get(snapshot)
        body = {
            "snapshot_id": snapshot.pk,
            "vote_count": snapshot.vote_count,
            "created_at": snapshot.created_at.isoformat(),
            "created_label": formats.date_format(
                timezone.localtime(snapshot.created_at), "j M Y, H:i e"
            ),
            "winners": [_winner(w) for w in presenters.winner_rows(document)],
        }
    response = HttpResponse(json.dumps(body).translate(_HTML_SAFE), content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _winner(w: presenters.WinnerRow) -> dict[str, Any]:
    return {
        "context": w.context,
        "title": w.title,
        "support": w.support,
        "support_class": w.support_class,
        "win_percent": w.win_percent,
        "score": f"{w.score:.3f}",
        "same_winner_cells": w.same_winner_cells,
        "grid_wins": w.grid_wins,
        "grid_cells": w.grid_cells,
        # A tie: every tied value (one entry when there is none), lowest id first.
        "tied": [{"title": t.title, "win_percent": t.win_percent} for t in w.tied],
        "tie_percent": w.tie_percent,
        "runner_up_title": w.runner_up_title,
        "runner_up_score": None if w.runner_up_score is None else f"{w.runner_up_score:.3f}",
    }
