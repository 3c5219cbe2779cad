"""The researcher pages (staff only): studies, a study's graph, snapshot history and diffs,
export downloads. Thin: reads through selectors and the pure presenters, writes through
services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from moralgraph import presenters, selectors, services, tasks
from moralgraph.errors import MoralGraphError
from moralgraph.export_files import FORMATS, export_file
from moralgraph.models import GraphSnapshot
from moralgraph.svg import graph_picture

EDGE_LIMIT = 100
EXPORT_LABELS = {
    "reference-json": "Reference JSON",
    "json": "Snapshot JSON",
    "graphml": "GraphML",
    "gexf": "GEXF",
    "csv": "CSV tables (zip)",
}


def _study_or_404(slug: str) -> Any:
    study = selectors.study_by_slug(slug=slug)
    if study is None:
        raise Http404("No such study.")
    return study


def _snapshot_or_404(study_id: int, snapshot_id: int) -> GraphSnapshot:
    snapshot = selectors.snapshot_get(study_id=study_id, snapshot_id=snapshot_id)
    if snapshot is None:
        raise Http404("No such snapshot of this study.")
    return snapshot


@require_GET
@staff_member_required
def study_list(request: HttpRequest) -> HttpResponse:
    return render(request, "moralgraph/study_list.html", {"studies": selectors.studies_overview()})


@require_GET
@staff_member_required
def study_detail(request: HttpRequest, slug: str, snapshot_id: int | None = None) -> HttpResponse:
    """The study's newest snapshot (or the one asked for), its history and exports."""
    study = _study_or_404(slug)
    history = selectors.snapshot_history(study_id=study.pk)
    predecessors = {newer.pk: older for newer, older in zip(history, history[1:], strict=False)}
    snapshot: GraphSnapshot | None
    if snapshot_id is not None:
        snapshot = _snapshot_or_404(study.pk, snapshot_id)
    else:
        snapshot = selectors.snapshot_get(study_id=study.pk)
    context: dict[str, Any] = {
        "study": study,
        "snapshot": snapshot,
        "is_latest": snapshot is not None and bool(history) and history[0].pk == snapshot.pk,
        "history": [(s, predecessors.get(s.pk)) for s in history],
        "rebuild": selectors.rebuild_state_get(study_id=study.pk),
        "exports": [(fmt, EXPORT_LABELS[fmt]) for fmt in FORMATS],
    }
    if snapshot is not None:
        document = selectors.snapshot_document_get(snapshot)
        edges = presenters.edge_rows(document)
        show_all = request.GET.get("edges") == "all"
        picture = graph_picture(document)
        context.update(
            document=document,
            winners=presenters.winner_rows(document),
            edges=edges if show_all else edges[:EDGE_LIMIT],
            edge_total=len(edges),
            kept_total=sum(1 for e in edges if e.is_kept),
            is_edges_capped=not show_all and len(edges) > EDGE_LIMIT,
            picture=picture,
            # Built by `graph_picture`, which escapes every piece of text it places.
            picture_svg=mark_safe(picture.svg) if picture else None,  # noqa: S308
        )
    return render(request, "moralgraph/study_detail.html", context)


@require_POST
@staff_member_required
def snapshot_build_request(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue a rebuild of the study's live graph: a worker builds it with the live parameters
    (the same path as votes take, so bursts coalesce)."""
    study = _study_or_404(slug)
    with transaction.atomic():
        if not services.snapshot_rebuild_request(study_id=study.pk):
            # Already marked queued: send the task again all the same, in case the queued one
            # was lost (a flushed broker). The worker's compare-and-set claim coalesces them.
            transaction.on_commit(lambda: tasks.snapshot_rebuild.delay(study.pk))
    messages.success(request, "A new snapshot is being built. Refresh this page in a few seconds.")
    return redirect("research:study", slug=study.slug)


@require_GET
@staff_member_required
def snapshot_diff(request: HttpRequest, slug: str, snapshot_id: int) -> HttpResponse:
    """What changed from another snapshot (by default the one just before) to this one."""
    study = _study_or_404(slug)
    snapshot = _snapshot_or_404(study.pk, snapshot_id)
    against_id = request.GET.get("against", "")
    if against_id:
        if not against_id.isdigit():
            raise Http404("No such snapshot of this study.")
        against: GraphSnapshot | None = _snapshot_or_404(study.pk, int(against_id))
    else:
        against = selectors.snapshot_predecessor(snapshot=snapshot)
    context: dict[str, Any] = {
        "study": study,
        "snapshot": snapshot,
        "against": against,
        "history": selectors.snapshot_history(study_id=study.pk),
    }
    if against is not None:
        try:
            change = services.snapshot_diff(snapshot_a_id=against.pk, snapshot_b_id=snapshot.pk)
        except MoralGraphError as error:  # cannot happen for two snapshots of one study
            raise Http404(error.message) from error
        context["diff"] = presenters.diff_rows(change, against.document, snapshot.document)
        context["is_same_mode"] = against.parameters.get("mode") == snapshot.parameters.get("mode")
    return render(request, "moralgraph/snapshot_diff.html", context)


@require_GET
@staff_member_required
def snapshot_export(request: HttpRequest, slug: str, snapshot_id: int, fmt: str) -> HttpResponse:
    study = _study_or_404(slug)
    if fmt not in FORMATS:
        raise Http404("No such export format.")
    snapshot = _snapshot_or_404(study.pk, snapshot_id)
    exported = export_file(snapshot, fmt, slug=study.slug)
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    return response
