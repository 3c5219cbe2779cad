"""The researcher pages' inference jobs (staff only): start one from a snapshot, stop or resume
it, poll its status, download its output files. Thin: the job services change state, the job
selectors read, `job_presenters` shapes what is shown."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from moralgraph.errors import MoralGraphError
from moralgraph.inference_jobs import selectors as job_selectors
from moralgraph.inference_jobs import services as job_services
from moralgraph.models import InferenceJob
from moralgraph.web.access import study_required
from moralgraph.web.forms import InferenceJobForm, ResumeForm
from moralgraph.web.job_presenters import job_summary
from moralgraph.web.lookups import job_or_404, snapshot_or_404, study_or_404

JOB_FILE_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/jsonl; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}


def _jobs_anchor(slug: str, snapshot_id: int) -> str:
    return reverse("research:snapshot", args=[slug, snapshot_id]) + "#jobs"


def _form_problems(form: InferenceJobForm) -> str:
    return " ".join(
        f"{form.fields[name].label}: {' '.join(str(p) for p in problems)}"
        for name, problems in form.errors.items()
    )


@require_POST
@study_required
def inference_job_start_request(request: HttpRequest, slug: str, snapshot_id: int) -> HttpResponse:
    study = study_or_404(slug)
    snapshot = snapshot_or_404(study.id, snapshot_id)
    form = InferenceJobForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The job was not started. {_form_problems(form)}")
        return redirect(_jobs_anchor(study.slug, snapshot.pk))
    try:
        job = job_services.inference_job_start(
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
@study_required
def inference_job_resume_request(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    study = study_or_404(slug)
    job = job_or_404(study.id, job_id)
    form = ResumeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The token budget must be a positive number.")
        return redirect(_jobs_anchor(study.slug, job.snapshot_id))
    try:
        job_services.inference_job_resume(
            job_id=job.pk, max_tokens_total=form.cleaned_data["max_tokens_total"]
        )
    except MoralGraphError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Job {job.pk} is queued again; it continues where it stopped.")
    return redirect(_jobs_anchor(study.slug, job.snapshot_id))


@require_POST
@study_required
def inference_job_stop_request(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    study = study_or_404(slug)
    job = job_or_404(study.id, job_id)
    try:
        stopped = job_services.inference_job_stop(job_id=job.pk)
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
@study_required
def inference_job_status(request: HttpRequest, slug: str, job_id: int) -> JsonResponse:
    """The job's status and progress, polled by `frontend/jobs.js` while it is active."""
    study = study_or_404(slug)
    job = job_or_404(study.id, job_id)
    return JsonResponse(job_summary(study.slug, job_selectors.inference_job_report(job)))


@require_GET
@study_required
def inference_job_file(request: HttpRequest, slug: str, job_id: int, name: str) -> FileResponse:
    """One output file of a job; only files inside that job's output folder."""
    study = study_or_404(slug)
    job = job_or_404(study.id, job_id)
    path = job_selectors.inference_job_file_path(job, name)
    if path is None:
        raise Http404("No such file in this job's output.")
    download = f"{study.slug}-job-{job.pk}-{name.replace('/', '-')}"
    response = FileResponse(path.open("rb"), as_attachment=True, filename=download)
    response["Content-Type"] = JOB_FILE_TYPES.get(path.suffix, "text/plain; charset=utf-8")
    return response
