"""The researcher pages (staff only): studies, a study's graph, snapshot history and diffs,
export downloads, and inference jobs started from a snapshot. Thin: reads through selectors
and the pure presenters, writes through services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from moralgraph import jobs, presenters, selectors, services
from moralgraph.errors import MoralGraphError
from moralgraph.export_files import FORMATS, export_file
from moralgraph.forms import InferenceJobForm, ResumeForm
from moralgraph.models import GraphSnapshot, InferenceJob
from moralgraph.svg import graph_picture

EDGE_LIMIT = 100
EXPORT_LABELS = {
    "reference-json": "Reference JSON",
    "json": "Snapshot JSON",
    "graphml": "GraphML",
    "gexf": "GEXF",
    "csv": "CSV tables (zip)",
}
JOB_FILE_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/jsonl; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
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
            job_form=InferenceJobForm(),
            jobs=[
                _job_summary(study.slug, job)
                for job in selectors.inference_jobs_for_snapshot(snapshot_id=snapshot.pk)
            ],
        )
    return render(request, "moralgraph/study_detail.html", context)


@require_POST
@staff_member_required
def snapshot_build_request(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue a rebuild of the study's live graph: a worker builds it with the live parameters
    (the same path as votes take, so bursts coalesce)."""
    study = _study_or_404(slug)
    services.snapshot_rebuild_force(study_id=study.pk)
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


# --- inference jobs -----------------------------------------------------------------------------


def _job_or_404(study_id: int, job_id: int) -> InferenceJob:
    job = selectors.inference_job_get(study_id=study_id, job_id=job_id)
    if job is None:
        raise Http404("No such job on this study's snapshots.")
    return job


def _job_summary(slug: str, job: InferenceJob) -> dict[str, Any]:
    """What the page and the JSON endpoint show of a job."""
    progress = selectors.inference_job_progress(job)
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": job.get_kind_display(),
        "status": job.status,
        "status_label": job.get_status_display(),
        "is_active": job.is_active,
        "is_resumable": jobs.is_resumable(job),
        "is_stale": jobs.is_stale(job),
        "parameters": job.parameters,
        "phase": progress.phase,
        "done": progress.done,
        "planned": progress.planned,
        "tokens_used": progress.tokens_used,
        "exit_code": job.exit_code,
        "exit_meaning": jobs.exit_meaning(job.exit_code),
        "message": job.message,
        "progress_text": _progress_text(job, progress),
        "is_progress_shown": bool(progress.planned) or job.is_active,
        "parameters_text": _parameters_text(job),
        "created_at": job.created_at,  # JsonResponse's encoder writes ISO 8601
        "finished_at": job.finished_at,
        "status_url": reverse("research:job_status", args=[slug, job.pk]),
        "resume_url": reverse("research:job_resume", args=[slug, job.pk]),
        "stop_url": reverse("research:job_stop", args=[slug, job.pk]),
        "is_stopping": job.stop_requested_at is not None and job.is_active,
        "files": [
            {
                "name": f.name,
                "size": f.size,
                "url": reverse("research:job_file", args=[slug, job.pk, f.name]),
            }
            for f in selectors.inference_job_files(job)
        ],
    }


PHASE_UNITS = {
    "scenarios": "scenario batches",
    "examples": "examples",
    "answers": "answers",
    "targets": "targets",
}


def _progress_text(job: InferenceJob, progress: selectors.JobProgress) -> str:
    if job.status == InferenceJob.Status.QUEUED:
        return "waiting for a worker"
    if not progress.planned:
        return "starting" if job.is_active else ""
    text = f"{progress.done:,} of {progress.planned:,} {PHASE_UNITS.get(progress.phase, '')}"
    if progress.tokens_used:
        text += f" · {progress.tokens_used:,} tokens"
    return text


def _parameters_text(job: InferenceJob) -> str:
    p = job.parameters
    if job.kind == InferenceJob.Kind.TARGETS:
        return "from the snapshot alone"
    budget = p.get("max_tokens_total")
    parts = [
        f"{p.get('per_context')} scenarios per context",
        f"model {p.get('model')}",
        f"budget {budget:,} tokens per run" if budget else "no token budget",
    ]
    if p.get("with_system_prompt"):
        parts.append("under the targets' system prompt")
    return " · ".join(parts)


def _jobs_anchor(slug: str, snapshot_id: int) -> str:
    return reverse("research:snapshot", args=[slug, snapshot_id]) + "#jobs"


@require_POST
@staff_member_required
def inference_job_start_request(request: HttpRequest, slug: str, snapshot_id: int) -> HttpResponse:
    study = _study_or_404(slug)
    snapshot = _snapshot_or_404(study.pk, snapshot_id)
    form = InferenceJobForm(request.POST)
    if not form.is_valid():
        errors = " ".join(
            f"{form.fields[name].label}: {' '.join(str(p) for p in problems)}"
            for name, problems in form.errors.items()
        )
        messages.error(request, f"The job was not started. {errors}")
        return redirect(_jobs_anchor(study.slug, snapshot.pk))
    try:
        job = jobs.inference_job_start(
            snapshot_id=snapshot.pk,
            kind=form.cleaned_data["kind"],
            parameters=form.parameters(),
            user_id=request.user.pk,
        )
    except MoralGraphError as error:
        messages.error(request, f"The job was not started. {error.message}")
    else:
        messages.success(request, f"{job.get_kind_display()} job {job.pk} is queued.")
    return redirect(_jobs_anchor(study.slug, snapshot.pk))


@require_POST
@staff_member_required
def inference_job_resume_request(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    study = _study_or_404(slug)
    job = _job_or_404(study.pk, job_id)
    form = ResumeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The token budget must be a positive number.")
    else:
        try:
            jobs.inference_job_resume(
                job_id=job.pk, max_tokens_total=form.cleaned_data["max_tokens_total"]
            )
        except MoralGraphError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"Job {job.pk} is queued again; it continues where it stopped."
            )
    return redirect(_jobs_anchor(study.slug, job.snapshot_id))


@require_POST
@staff_member_required
def inference_job_stop_request(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    study = _study_or_404(slug)
    job = _job_or_404(study.pk, job_id)
    try:
        stopped = jobs.inference_job_stop(job_id=job.pk)
    except MoralGraphError as error:
        messages.error(request, error.message)
    else:
        if stopped.status == InferenceJob.Status.STOPPED:
            messages.success(request, f"Job {job.pk} is stopped; it never started.")
        else:
            messages.success(
                request, f"Job {job.pk} is stopping; what it finished is kept for a resume."
            )
    return redirect(_jobs_anchor(study.slug, job.snapshot_id))


@require_GET
@staff_member_required
def inference_job_status(request: HttpRequest, slug: str, job_id: int) -> JsonResponse:
    """The job's status and progress, polled by `frontend/jobs.js` while it is active."""
    study = _study_or_404(slug)
    return JsonResponse(_job_summary(study.slug, _job_or_404(study.pk, job_id)))


@require_GET
@staff_member_required
def inference_job_file(request: HttpRequest, slug: str, job_id: int, name: str) -> FileResponse:
    """One output file of a job; only files inside that job's output folder."""
    study = _study_or_404(slug)
    job = _job_or_404(study.pk, job_id)
    path = selectors.inference_job_file_path(job, name)
    if path is None:
        raise Http404("No such file in this job's output.")
    download = f"{study.slug}-job-{job.pk}-{name.replace('/', '-')}"
    response = FileResponse(path.open("rb"), as_attachment=True, filename=download)
    response["Content-Type"] = JOB_FILE_TYPES.get(path.suffix, "text/plain; charset=utf-8")
    return response
