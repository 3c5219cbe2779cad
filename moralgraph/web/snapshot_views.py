"""The researcher pages of studies and snapshots (staff only): the study list, a study's graph,
its snapshot history and diffs, and the export downloads. Thin: reads through selectors and the
pure presenters, writes through services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from moralgraph.errors import MoralGraphError
from moralgraph.exports.files import FORMATS, export_file
from moralgraph.inference_jobs import selectors as job_selectors
from moralgraph.models import GraphSnapshot
from moralgraph.selectors import snapshots as snapshot_selectors
from moralgraph.selectors import studies as study_selectors
from moralgraph.selectors import supersession as supersession_selectors
from moralgraph.services import named_snapshots
from moralgraph.services import snapshots as snapshot_services
from moralgraph.studies import StudyRef
from moralgraph.web import job_presenters, presenters
from moralgraph.web.access import staff_required, study_required, visible_study_ids
from moralgraph.web.forms import InferenceJobForm, SnapshotBuildForm
from moralgraph.web.lookups import snapshot_or_404, study_or_404
from moralgraph.web.pipeline_views import pipeline_context
from moralgraph.web.superseded import gone_if_superseded
from moralgraph.web.svg import graph_picture

EDGE_LIMIT = 100
EXPORT_LABELS = {
    "reference-json": "Reference JSON",
    "json": "Snapshot JSON",
    "graphml": "GraphML",
    "gexf": "GEXF",
    "csv": "CSV tables (zip)",
}


@require_GET
@staff_required
def study_list(request: HttpRequest) -> HttpResponse:
    allowed = visible_study_ids(request.user)
    rows = [s for s in study_selectors.studies_overview() if allowed is None or s.id in allowed]
    return render(request, "moralgraph/study_list.html", {"studies": rows})


@require_GET
@study_required
def study_detail(request: HttpRequest, slug: str, snapshot_id: int | None = None) -> HttpResponse:
    """The study's newest snapshot (or the one asked for), its history and exports."""
    study = study_or_404(slug)
    return _study_page(request, study, snapshot_id, SnapshotBuildForm(study_id=study.id))


def _study_page(
    request: HttpRequest, study: StudyRef, snapshot_id: int | None, build_form: SnapshotBuildForm
) -> HttpResponse:
    history = snapshot_selectors.snapshot_history(study_id=study.id)
    snapshot: GraphSnapshot | None
    if snapshot_id is not None:
        snapshot = snapshot_or_404(study.id, snapshot_id)
    else:
        snapshot = snapshot_selectors.snapshot_get(study_id=study.id)
    context: dict[str, Any] = {
        "study": study,
        "snapshot": snapshot,
        "is_latest": snapshot is not None and bool(history) and history[0].pk == snapshot.pk,
        "history": presenters.history_rows(history),
        "rebuild": snapshot_selectors.rebuild_state_get(study_id=study.id),
        "exports": [(fmt, EXPORT_LABELS[fmt]) for fmt in FORMATS],
        # The page's own address: a refused build form is shown at the form's POST address.
        "page_url": (
            reverse("research:snapshot", args=[study.slug, snapshot_id])
            if snapshot_id is not None
            else reverse("research:study", args=[study.slug])
        ),
        "build_form": build_form,
        "building": _named_build_state(study, request.GET.get("building", "")),
        **pipeline_context(study.id),
        **_supersession_context(study, snapshot),
    }
    if snapshot is not None and context["superseded"] is None:
        context.update(
            _snapshot_context(study, snapshot, show_all=request.GET.get("edges") == "all")
        )
    return render(request, "moralgraph/study_detail.html", context)


def _supersession_context(study: StudyRef, snapshot: GraphSnapshot | None) -> dict[str, Any]:
    """A superseded snapshot shows a banner instead of its text; every inference job made
    from a superseded snapshot of the study is listed as affected."""
    return {
        "superseded": (
            supersession_selectors.snapshot_supersession(snapshot_id=snapshot.pk)
            if snapshot is not None
            else None
        ),
        "affected_jobs": supersession_selectors.affected_inference_jobs(study_id=study.id),
        "superseded_ids": supersession_selectors.superseded_snapshot_ids(study_id=study.id),
    }


def _snapshot_context(
    study: StudyRef, snapshot: GraphSnapshot, *, show_all: bool
) -> dict[str, Any]:
    """What the study page shows of one snapshot: winners, picture, edges and its jobs."""
    document = snapshot_selectors.snapshot_document_get(snapshot)
    edges = presenters.edge_rows(document)
    picture = graph_picture(document)
    reports = job_selectors.inference_job_reports_for_snapshot(snapshot_id=snapshot.pk)
    return {
        "document": document,
        "winners": presenters.winner_rows(document),
        "edges": edges if show_all else edges[:EDGE_LIMIT],
        "edge_total": len(edges),
        "kept_total": sum(1 for e in edges if e.is_kept),
        "is_edges_capped": not show_all and len(edges) > EDGE_LIMIT,
        "picture": picture,
        # Built by `graph_picture`, which escapes every piece of text it places.
        "picture_svg": mark_safe(picture.svg) if picture else None,  # noqa: S308
        "job_form": InferenceJobForm(),
        "jobs": [job_presenters.job_summary(study.slug, report) for report in reports],
    }


@require_POST
@study_required
def snapshot_build_request(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue a rebuild of the study's live graph: a worker builds it with the live parameters
    (the same path as votes take, so bursts coalesce)."""
    study = study_or_404(slug)
    snapshot_services.snapshot_rebuild_force(study_id=study.id)
    messages.success(request, "A new snapshot is being built. Refresh this page in a few seconds.")
    return redirect("research:study", slug=study.slug)


def _named_build_state(study: StudyRef, name: str) -> dict[str, Any] | None:
    """A named build this page was asked to follow (`?building=NAME`): still building, or its
    snapshot once a worker stored it."""
    if not name.strip():
        return None
    snapshot = snapshot_selectors.snapshot_by_name(study_id=study.id, name=name)
    return {"name": name.strip(), "snapshot": snapshot}


@require_POST
@study_required
def snapshot_build_named_request(request: HttpRequest, slug: str) -> HttpResponse:
    """Build a named snapshot with the researcher's parameters, on a worker; the study page
    follows it. Bad input re-renders the page with each error next to its field."""
    study = study_or_404(slug)
    form = SnapshotBuildForm(request.POST, study_id=study.id)
    if form.is_valid():
        try:
            name = named_snapshots.snapshot_build_named_request(
                study_id=study.id,
                name=form.cleaned_data["name"],
                params=form.params(),
                before=form.cleaned_data["before"],
            )
        except MoralGraphError as error:
            form.add_error("name", error.message)
        else:
            messages.success(request, f"Snapshot “{name}” is being built.")
            target = reverse("research:study", args=[study.slug])
            return redirect(f"{target}?{urlencode({'building': name})}#build")
    return _study_page(request, study, None, form)


def _side(study: StudyRef, raw: str) -> GraphSnapshot:
    if not (raw.isascii() and raw.isdigit()):
        raise Http404("No such snapshot of this study.")
    return snapshot_or_404(study.id, int(raw))


@require_GET
@study_required
def study_diff(request: HttpRequest, slug: str) -> HttpResponse:
    """Any two snapshots of the study, picked from its history (`?from=A&to=B`)."""
    study = study_or_404(slug)
    against = _side(study, request.GET.get("from", ""))
    snapshot = _side(study, request.GET.get("to", ""))
    return _diff_page(request, study, snapshot, against)


@require_GET
@study_required
def snapshot_diff(request: HttpRequest, slug: str, snapshot_id: int) -> HttpResponse:
    """What changed from another snapshot (by default the one just before) to this one."""
    study = study_or_404(slug)
    snapshot = snapshot_or_404(study.id, snapshot_id)
    against_id = request.GET.get("against", "")
    against: GraphSnapshot | None
    if not against_id:
        against = snapshot_selectors.snapshot_predecessor(snapshot=snapshot)
    else:
        against = _side(study, against_id)
    return _diff_page(request, study, snapshot, against)


def _diff_page(
    request: HttpRequest, study: StudyRef, snapshot: GraphSnapshot, against: GraphSnapshot | None
) -> HttpResponse:
    context: dict[str, Any] = {
        "study": study,
        "snapshot": snapshot,
        "against": against,
        "history": snapshot_selectors.snapshot_history(study_id=study.id),
    }
    for side in (snapshot, against):
        gone = gone_if_superseded(side, slug=study.slug) if side is not None else None
        if gone is not None:
            return gone
    if against is not None:
        try:
            change = snapshot_services.snapshot_diff(
                snapshot_a_id=against.pk, snapshot_b_id=snapshot.pk
            )
        except MoralGraphError as error:  # cannot happen for two snapshots of one study
            raise Http404(error.message) from error
        context["diff"] = presenters.diff_rows(change, against.document, snapshot.document)
        context["is_same_mode"] = against.parameters.get("mode") == snapshot.parameters.get("mode")
    return render(request, "moralgraph/snapshot_diff.html", context)


@require_GET
@study_required
def snapshot_export(request: HttpRequest, slug: str, snapshot_id: int, fmt: str) -> HttpResponse:
    study = study_or_404(slug)
    if fmt not in FORMATS:
        raise Http404("No such export format.")
    snapshot = snapshot_or_404(study.id, snapshot_id)
    gone = gone_if_superseded(snapshot, slug=study.slug)
    if gone is not None:
        return gone
    exported = export_file(snapshot, fmt, slug=study.slug)
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    return response
