"""The values API (`/api/v1/`, read-only): guidance for an agent's context from a study's moral
graph, and the OpenAPI document that describes it (moralgraph/api/openapi.py).

Authentication is a bearer token staff issued (moralgraph/api/tokens.py), checked before
anything else so an unauthenticated client learns nothing about which studies exist. A token
for another study answers the same 404 as an unknown study, as the research pages do for
another study's researcher. Per request: two small indexed queries (the token; the snapshot's
row, joined to its study by slug); the snapshot's document is read and indexed once per process (cache.py)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from moralgraph import studies
from moralgraph.api import cache, selectors, tokens
from moralgraph.api.openapi import API_VERSION, OPENAPI

MAX_CONTEXT_CHARS = 1000
DEFAULT_LIMIT = 3
MAX_LIMIT = 10
REALM = 'Bearer realm="moral-graph-api"'
REBUILD_RETRY_SECONDS = 30


def _json(body: dict[str, Any], status: int = 200) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )
    response["Cache-Control"] = "no-store"
    return response


def _error(status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return _json({"error": code, "message": message, **extra}, status=status)


def _unauthorised(code: str, message: str) -> HttpResponse:
    response = _error(401, code, message)
    # RFC 6750: no error code when the request had no credentials at all.
    response["WWW-Authenticate"] = (
        REALM if code == "unauthorized" else f'{REALM}, error="invalid_token"'
    )
    return response


def _bearer(request: HttpRequest) -> tokens.Bearer | HttpResponse:
    header = request.headers.get("Authorization", "")
    if not header.strip():
        return _unauthorised(
            "unauthorized", "Send a token issued by staff: `Authorization: Bearer <token>`."
        )
    scheme, _, token = header.strip().partition(" ")
    bearer = (
        tokens.api_token_authenticate(token=token.strip())
        if scheme.lower() == "bearer" and token.strip()
        else None
    )
    if bearer is None:
        return _unauthorised("invalid_token", "The token is unknown or revoked.")
    return bearer


def _positive_int(raw: str, *, name: str, maximum: int | None = None) -> int | HttpResponse:
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or len(raw) > 18:
        return _error(400, "bad_request", f"`{name}` must be a positive whole number.")
    if maximum is not None and int(raw) > maximum:
        return _error(400, "bad_request", f"`{name}` is at most {maximum}.")
    return int(raw)


@require_GET
def guidance(request: HttpRequest, slug: str) -> HttpResponse:
    bearer = _bearer(request)
    if isinstance(bearer, HttpResponse):
        return bearer
    text = request.GET.get("context", "").strip()
    if not text or len(text) > MAX_CONTEXT_CHARS or not text.isprintable():
        return _error(
            400,
            "bad_request",
            f"Give `context`: the situation in words, 1 to {MAX_CONTEXT_CHARS} characters.",
        )
    limit = _positive_int(
        request.GET.get("limit", str(DEFAULT_LIMIT)), name="limit", maximum=MAX_LIMIT
    )
    if isinstance(limit, HttpResponse):
        return limit
    pinned: int | None = None
    if "snapshot" in request.GET:
        parsed = _positive_int(request.GET["snapshot"], name="snapshot")
        if isinstance(parsed, HttpResponse):
            return parsed
        pinned = parsed
    row = selectors.snapshot_row(slug=slug, snapshot_id=pinned)
    if row is None or not bearer.may_read(row.study_id):
        return _no_snapshot(slug, bearer, pinned)
    if row.is_superseded:
        return _superseded(row.snapshot_id, is_pinned=pinned is not None)
    index = cache.guidance_index_get(snapshot_id=row.snapshot_id)
    if index is None:  # deleted between the two reads (a compacted live snapshot)
        return _error(404, "snapshot_not_found", f"Snapshot {row.snapshot_id} is gone.")
    found = index.matches(text, limit=limit)
    if not found:
        return _error(
            404,
            "no_matching_context",
            "No context of this snapshot matches the text; try the words of a situation "
            "such as 'When in distress'.",
            snapshot_id=row.snapshot_id,
        )
    return _json(
        {
            "api_version": API_VERSION,
            "study": {"slug": slug},
            "snapshot": {
                "id": row.snapshot_id,
                "created_at": row.created_at.isoformat(),
                "schema_version": index.schema_version,
                "scoring_version": index.scoring_version,
                "mode": index.mode,
                "is_live": row.is_live,
                "name": row.name,
            },
            "query": {"context": text, "limit": limit},
            "matches": [
                {"match": "exact" if m.is_exact else "similar", "score": m.score, **entry}
                for m, entry in found
            ],
        }
    )


def _no_snapshot(slug: str, bearer: tokens.Bearer, pinned: int | None) -> HttpResponse:
    """Why no snapshot was found: no such study (or one the token does not cover), none
    built yet, or not this study's. Off the hot path: one more query."""
    study_id = studies.study_id_for_slug(slug=slug)
    if study_id is None or not bearer.may_read(study_id):
        return _error(404, "study_not_found", "No such study (or the token does not cover it).")
    if pinned is None:
        return _error(404, "no_snapshot", "The study has no snapshot of its graph yet.")
    return _error(404, "snapshot_not_found", f"Snapshot {pinned} is not one of this study's.")


def _superseded(snapshot_id: int, *, is_pinned: bool) -> HttpResponse:
    """A pinned superseded snapshot is gone for good (410, as its exports answer); the study's
    newest being superseded means its rebuild is on the way (503, retry)."""
    if is_pinned:
        return _error(
            410,
            "superseded",
            f"Snapshot {snapshot_id} is superseded: a participant it counted withdrew or was "
            "erased, so it no longer serves their words. Ask without `snapshot` for the "
            "study's current graph.",
            snapshot_id=snapshot_id,
        )
    response = _error(
        503,
        "rebuilding",
        "The study's graph is being rebuilt after a participant withdrew; retry shortly.",
        snapshot_id=snapshot_id,
    )
    response["Retry-After"] = str(REBUILD_RETRY_SECONDS)
    return response


_OPENAPI_BODY = json.dumps(OPENAPI, indent=1).encode()


@require_GET
def openapi(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_OPENAPI_BODY, content_type="application/json")
    response["Cache-Control"] = "public, max-age=300"
    return response
