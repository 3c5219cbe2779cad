"""Reads of inference jobs: the jobs of a snapshot, how far each is, and the files it wrote.
Nothing here writes, and nothing here imports the services."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moralgraph.inference_jobs.rules import OUTPUT_DIR
from moralgraph.models import InferenceJob

# What a job's folder may serve: its outputs (JSON, JSONL, the cards and reports), nothing else.
JOB_FILE_SUFFIXES = frozenset({".json", ".jsonl", ".md", ".txt"})


@dataclass(frozen=True)
class JobProgress:
    """How far a job is, from the manifest(s) the command keeps beside its output."""

    phase: str  # "scenarios", "examples", "answers", "targets", or "" before anything
    done: int
    planned: int
    tokens_used: int


@dataclass(frozen=True)
class JobFile:
    name: str  # relative to the job's output folder, with "/" separators
    size: int


@dataclass(frozen=True)
class JobReport:
    """A job with what its folder says of it: what the researcher pages show."""

    job: InferenceJob
    progress: JobProgress
    files: list[JobFile]


def inference_jobs_for_snapshot(*, snapshot_id: int) -> list[InferenceJob]:
    return list(InferenceJob.objects.filter(snapshot_id=snapshot_id).order_by("-created_at", "-id"))


def inference_job_get(*, study_id: int, job_id: int) -> InferenceJob | None:
    """A job on one of the study's snapshots."""
    return (
        InferenceJob.objects.filter(pk=job_id, snapshot__study_id=study_id)
        .select_related("snapshot")
        .first()
    )


def _job_output(job: InferenceJob) -> Path | None:
    if not job.output_dir:
        return None
    return Path(job.output_dir) / OUTPUT_DIR


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        # Written atomically (a rename) by the command, so never seen half-written.
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest


def _manifest_tokens(manifest: dict[str, Any]) -> int:
    tokens = int(manifest.get("tokens_used", 0))
    if manifest.get("status") == "running":  # the finished runs, plus this one so far
        tokens += int(manifest.get("tokens_used_this_run", 0))
    return tokens


def inference_job_progress(job: InferenceJob) -> JobProgress:
    """done/planned of the job's current phase. A dataset or an evaluation generates its
    scenarios first (`out/scenarios/manifest.json`), then its examples (`out/manifest.json`);
    scenario generation counts batches per round."""
    if job.kind == InferenceJob.Kind.TARGETS:
        done = int(job.status == InferenceJob.Status.DONE)
        return JobProgress(phase="targets", done=done, planned=1, tokens_used=0)
    out = _job_output(job)
    if out is None:
        return JobProgress(phase="", done=0, planned=0, tokens_used=0)
    scenarios = _manifest(out / "scenarios" / "manifest.json")
    main = _manifest(out / "manifest.json")
    tokens = sum(_manifest_tokens(m) for m in (scenarios, main) if m is not None)
    current = main if main is not None else scenarios
    if current is None:
        return JobProgress(phase="", done=0, planned=0, tokens_used=0)
    if job.kind == InferenceJob.Kind.SCENARIOS or current is scenarios:
        phase = "scenarios"
    elif job.kind == InferenceJob.Kind.EVALUATE:
        phase = "answers"
    else:
        phase = "examples"
    return JobProgress(
        phase=phase,
        done=int(current.get("done", 0)),
        planned=int(current.get("planned", 0)),
        tokens_used=tokens,
    )


def inference_job_files(job: InferenceJob) -> list[JobFile]:
    """The output files a job has written so far (no hidden files, no links)."""
    out = _job_output(job)
    if out is None or not out.is_dir():
        return []
    found: list[JobFile] = []
    for folder, subfolders, names in os.walk(out):  # os.walk does not follow links
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith(".") or path.suffix not in JOB_FILE_SUFFIXES or path.is_symlink():
                continue
            with contextlib.suppress(OSError):
                found.append(JobFile(path.relative_to(out).as_posix(), path.stat().st_size))
    return found


def inference_job_file_path(job: InferenceJob, name: str) -> Path | None:
    """The file `name` of the job's output, only if it is one that `inference_job_files`
    lists: nothing outside the output folder (no `..`, no absolute path, no link)."""
    out = _job_output(job)
    if out is None or name not in {f.name for f in inference_job_files(job)}:
        return None
    root = out.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def inference_job_report(job: InferenceJob) -> JobReport:
    return JobReport(job=job, progress=inference_job_progress(job), files=inference_job_files(job))


def inference_job_reports_for_snapshot(*, snapshot_id: int) -> list[JobReport]:
    """The snapshot's jobs, newest first, each with its progress and files."""
    return [
        inference_job_report(job) for job in inference_jobs_for_snapshot(snapshot_id=snapshot_id)
    ]
