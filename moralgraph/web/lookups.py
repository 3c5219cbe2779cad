"""What a researcher page's URL names, or a 404: the study by its slug, and a snapshot or a job
only when it belongs to that study."""

from __future__ import annotations

from django.http import Http404

from moralgraph.inference_jobs import selectors as job_selectors
from moralgraph.models import GraphSnapshot, InferenceJob
from moralgraph.selectors import snapshots as snapshot_selectors
from moralgraph.selectors import studies as study_selectors
from moralgraph.studies import StudyRef


def study_or_404(slug: str) -> StudyRef:
    study = study_selectors.study_by_slug(slug=slug)
    if study is None:
        raise Http404("No such study.")
    return study


def snapshot_or_404(study_id: int, snapshot_id: int) -> GraphSnapshot:
    snapshot = snapshot_selectors.snapshot_get(study_id=study_id, snapshot_id=snapshot_id)
    if snapshot is None:
        raise Http404("No such snapshot of this study.")
    return snapshot


def job_or_404(study_id: int, job_id: int) -> InferenceJob:
    job = job_selectors.inference_job_get(study_id=study_id, job_id=job_id)
    if job is None:
        raise Http404("No such job on this study's snapshots.")
    return job
