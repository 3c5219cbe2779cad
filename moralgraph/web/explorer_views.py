"""The graph explorer's data: one value of one snapshot as JSON (its card, the raw cards that
joined it, its edges with counts and their stories), for frontend/static/frontend/graph.js.
For the study's researchers and admins, like the study page it enhances
(moralgraph/web/access.py)."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from moralgraph.selectors import explorer
from moralgraph.selectors import snapshots as snapshot_selectors
from moralgraph.web.access import study_required
from moralgraph.web.lookups import snapshot_or_404, study_or_404
from moralgraph.web.superseded import gone_if_superseded


@require_GET
@study_required
def value_details_json(
    request: HttpRequest, slug: str, snapshot_id: int, value_id: int
) -> HttpResponse:
    """404 for another study's snapshot or a value the snapshot does not hold."""
    study = study_or_404(slug)
    snapshot = snapshot_or_404(study.id, snapshot_id)
    gone = gone_if_superseded(snapshot, slug=study.slug, as_json=True)
    if gone is not None:
        return gone
    details = explorer.value_details(
        study_id=study.id,
        document=snapshot_selectors.snapshot_document_get(snapshot),
        value_id=value_id,
    )
    if details is None:
        raise Http404("No such value in this snapshot.")
    body = json.dumps({"snapshot_id": snapshot.pk, **asdict(details)})
    return HttpResponse(body.translate(_HTML_SAFE), content_type="application/json")


# Markup characters as JSON escapes: the text stays the same once parsed, and the body never
# holds a tag even if something treats it as HTML.
_HTML_SAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}
