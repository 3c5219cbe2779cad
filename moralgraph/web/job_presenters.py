"""What the researcher page and its JSON endpoint show of an inference job: one plain dict per
job, the same for the server-rendered row and for `frontend/jobs.js`, which keeps the row
current. No database: the job's report (progress and files) is read before."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from moralgraph.inference_jobs import rules
from moralgraph.inference_jobs.selectors import JobProgress, JobReport
from moralgraph.models import InferenceJob

PHASE_UNITS = {
    "scenarios": "scenario batches",
    "examples": "examples",
    "answers": "answers",
    "targets": "targets",
}


def progress_text(job: InferenceJob, progress: JobProgress) -> str:
    if job.status == InferenceJob.Status.QUEUED:
        return "waiting for a worker"
    if not progress.planned:
        return "starting" if job.is_active else ""
    text = f"{progress.done:,} of {progress.planned:,} {PHASE_UNITS.get(progress.phase, '')}"
    if progress.tokens_used:
        text += f" · {progress.tokens_used:,} tokens"
    return text


def parameters_text(job: InferenceJob) -> str:
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


def _urls(slug: str, job_id: int) -> dict[str, str]:
    return {
        "status_url": reverse("research:job_status", args=[slug, job_id]),
        "resume_url": reverse("research:job_resume", args=[slug, job_id]),
        "stop_url": reverse("research:job_stop", args=[slug, job_id]),
    }


def job_summary(slug: str, report: JobReport) -> dict[str, Any]:
    """The job as the page's row and the status endpoint show it."""
    job, progress = report.job, report.progress
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": job.get_kind_display(),
        "status": job.status,
        "status_label": job.get_status_display(),
        "is_active": job.is_active,
        "is_resumable": rules.is_resumable(job),
        "is_stale": rules.is_stale(job),
        "is_stopping": job.stop_requested_at is not None and job.is_active,
        "parameters": job.parameters,
        "parameters_text": parameters_text(job),
        "phase": progress.phase,
        "done": progress.done,
        "planned": progress.planned,
        "tokens_used": progress.tokens_used,
        "progress_text": progress_text(job, progress),
        "is_progress_shown": bool(progress.planned) or job.is_active,
        "exit_code": job.exit_code,
        "exit_meaning": rules.exit_meaning(job.exit_code),
        "message": job.message,
        "created_at": job.created_at,  # JsonResponse's encoder writes ISO 8601
        "finished_at": job.finished_at,
        **_urls(slug, job.pk),
        "files": [
            {
                "name": f.name,
                "size": f.size,
                "url": reverse("research:job_file", args=[slug, job.pk, f.name]),
            }
            for f in report.files
        ],
    }
