"""What a superseded snapshot answers instead of its text: a participant it counted withdrew
(or was erased), so its values' words are no longer served; the rebuilt live graph is."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.urls import reverse

from moralgraph.models import GraphSnapshot
from moralgraph.selectors import supersession as supersession_selectors

GONE_MESSAGE = (
    "Snapshot {id} is superseded: a participant it counted withdrew or was erased, so it no "
    "longer serves their words. Use the live graph instead: {url}"
)


def gone_if_superseded(
    snapshot: GraphSnapshot, *, slug: str, as_json: bool = False
) -> HttpResponse | None:
    """A 410 Gone with a clear message for a superseded snapshot, else None."""
    if supersession_selectors.snapshot_supersession(snapshot_id=snapshot.pk) is None:
        return None
    message = GONE_MESSAGE.format(id=snapshot.pk, url=reverse("research:study", args=[slug]))
    if as_json:
        body = json.dumps({"error": "superseded", "snapshot_id": snapshot.pk, "message": message})
        return HttpResponse(body, status=410, content_type="application/json")
    return HttpResponse(message + "\n", status=410, content_type="text/plain; charset=utf-8")
