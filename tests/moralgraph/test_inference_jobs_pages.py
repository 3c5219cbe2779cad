"""Inference jobs on a snapshot's researcher page, without a worker: who may start them, the
offline form, the compare-and-set claim, resuming, progress from the manifests, and the file
view that serves nothing outside a job's output folder."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from elicitation.models import Question, Study
from moralgraph import tasks
from moralgraph.errors import MoralGraphError
from moralgraph.inference_jobs import rules, runner
from moralgraph.inference_jobs import selectors as job_selectors
from moralgraph.inference_jobs import services as job_services
from moralgraph.models import GraphSnapshot, InferenceJob
from tests.factories import make_small_graph
from tests.support.celery_sent import tasks_sent

pytestmark = pytest.mark.django_db
ONLINE = override_settings(
    LLM_BASE_URL="http://127.0.0.1:9/v1", LLM_MODEL="served-model", LLM_API_KEY="k"
)
OFFLINE = override_settings(LLM_BASE_URL="", LLM_API_KEY="")
# The task a started job is sent as, by name: the contract between the service and the worker.
RUN_TASK = "moralgraph.tasks.inference_job_run"


@pytest.fixture
def staff(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user(
        username="researcher", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def snapshot() -> GraphSnapshot:
    """A small study with one kept edge, built through the services."""
    study = Study.objects.create(slug="small", title="A small study")
    question = Question.objects.create(study=study, title="Q", text="What now?")
    return make_small_graph(study, question)[2]


def start_url(snapshot: GraphSnapshot) -> str:
    return reverse("research:job_start", args=[snapshot.study.slug, snapshot.pk])


def page(client: Client, snapshot: GraphSnapshot) -> str:
    url = reverse("research:snapshot", args=[snapshot.study.slug, snapshot.pk])
    response = client.get(url)
    assert response.status_code == 200
    return str(response.content.decode())


def job_in(snapshot: GraphSnapshot, folder: Path, **fields: Any) -> InferenceJob:
    """A job whose output folder is `folder` (as a worker would have left it)."""
    defaults: dict[str, Any] = {
        "kind": InferenceJob.Kind.DATASET_SFT,
        "parameters": {"per_context": 2, "model": "m", "max_tokens_total": None},
        "status": InferenceJob.Status.DONE,
        "output_dir": str(folder),
    }
    return InferenceJob.objects.create(snapshot=snapshot, **{**defaults, **fields})


# --- who may start jobs -----------------------------------------------------------------------


def test_only_staff_start_jobs_or_read_them(
    snapshot: GraphSnapshot, staff: Client, django_user_model: Any, tmp_path: Path
) -> None:
    member = django_user_model.objects.create_user(username="participant")
    not_staff = Client()
    not_staff.force_login(member)
    job = job_in(snapshot, tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sft.jsonl").write_text('{"key": "k"}\n')
    slug = snapshot.study.slug
    guarded = [
        reverse("research:job_status", args=[slug, job.pk]),
        reverse("research:job_file", args=[slug, job.pk, "sft.jsonl"]),
    ]
    with ONLINE, tasks_sent() as sent:
        for client in (Client(), not_staff):
            response = client.post(start_url(snapshot), {"kind": "targets", "per_context": 2})
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/")
            resume = client.post(reverse("research:job_resume", args=[slug, job.pk]))
            assert resume["Location"].startswith("/admin/login/")
            for url in guarded:
                assert client.get(url)["Location"].startswith("/admin/login/"), url
        assert sent == []
    assert InferenceJob.objects.count() == 1
    for url in guarded:
        assert staff.get(url).status_code == 200, url
    assert staff.get(start_url(snapshot)).status_code == 405  # only a POST starts a job


def test_staff_start_a_job_and_it_is_queued_after_commit(
    snapshot: GraphSnapshot, staff: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with ONLINE, tasks_sent() as sent:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff.post(
                start_url(snapshot),
                {"kind": "dataset-dpo", "per_context": 3, "model": "", "max_tokens_total": 5000},
                follow=True,
            )
        job = InferenceJob.objects.get()
        assert sent == [(RUN_TASK, (job.pk,))]
        html = response.content.decode()
    assert job.kind == "dataset-dpo"
    assert job.status == "queued"
    assert job.parameters == {
        "per_context": 3,
        "model": "served-model",  # the configured model when none is named
        "max_tokens_total": 5000,
        "with_system_prompt": False,
    }
    assert "DPO preference pairs job" in html
    assert "is queued" in html
    assert f'data-status-url="{reverse("research:job_status", args=["small", job.pk])}"' in html
    assert 'data-active="true"' in html
    assert "frontend/jobs.js" in html
    assert "3 scenarios per context · model served-model · budget 5,000 tokens per run" in html


def test_bad_input_starts_nothing(snapshot: GraphSnapshot, staff: Client) -> None:
    with ONLINE, tasks_sent() as sent:
        for data in (
            {"kind": "rm -rf", "per_context": 2},
            {"kind": "scenarios", "per_context": 0},
            {"kind": "scenarios", "per_context": 2, "max_tokens_total": -5},
            {"kind": "scenarios", "per_context": 2, "model": "--base-url=http://evil"},
        ):
            response = staff.post(start_url(snapshot), data, follow=True)
            assert response.status_code == 200, data
            assert "The job was not started." in response.content.decode(), data
        assert sent == []
    assert not InferenceJob.objects.exists()
    other = Study.objects.create(slug="other", title="Other")
    wrong_study = reverse("research:job_start", args=[other.slug, snapshot.pk])
    assert staff.post(wrong_study, {"kind": "targets"}).status_code == 404


# --- offline --------------------------------------------------------------------------------------


def test_offline_the_form_allows_targets_only_and_says_why(
    snapshot: GraphSnapshot, staff: Client
) -> None:
    with OFFLINE, tasks_sent():
        html = page(staff, snapshot)
        form = html[
            html.index('class="panel job-form"') : html.index("</form>", html.index("job-form"))
        ]
        assert "No model server is configured" in html
        assert "need an OpenAI-compatible server" in html
        assert '<option value="targets" selected>' in form
        for kind in ("scenarios", "dataset-sft", "dataset-dpo", "dataset-kto", "evaluate"):
            assert f'<option value="{kind}" disabled>' in form, kind
        for name in ("per_context", "model", "max_tokens_total"):
            tag = form[form.index(f'name="{name}"') :]
            assert tag[: tag.index(">")].endswith(" disabled"), name

        response = staff.post(start_url(snapshot), {"kind": "dataset-sft"}, follow=True)
        assert "only alignment targets can be made offline" in response.content.decode()
        assert not InferenceJob.objects.exists()
        staff.post(start_url(snapshot), {"kind": "targets"})
    (job,) = InferenceJob.objects.all()
    assert job.kind == "targets"
    with ONLINE:
        html = page(staff, snapshot)
        assert "No model server is configured" not in html
        assert '<option value="dataset-sft">' in html


# --- the claim and resuming ------------------------------------------------------------------------


def test_a_redelivered_task_does_nothing_unless_the_job_is_queued(
    snapshot: GraphSnapshot, tmp_path: Path
) -> None:
    earlier = timezone.now() - timedelta(minutes=5)
    for status in ("running", "done", "failed", "stopped_budget"):
        job = job_in(
            snapshot, tmp_path / status, status=status, runs=1, started_at=earlier,
            heartbeat_at=timezone.now(), finished_at=None if status == "running" else earlier,
        )  # fmt: skip
        with mock.patch("moralgraph.inference_jobs.runner.subprocess.Popen") as popen:
            assert tasks.inference_job_run.apply(args=(job.pk,)).get() is None
            assert popen.call_count == 0
        again = InferenceJob.objects.get(pk=job.pk)
        assert (again.status, again.runs, again.started_at) == (status, 1, earlier)
        assert not (tmp_path / status).exists()
    # Two deliveries of a queued job's task: exactly one claims it.
    queued = job_in(snapshot, tmp_path / "queued", status="queued")
    assert job_services.inference_job_claim(job_id=queued.pk) is True
    assert job_services.inference_job_claim(job_id=queued.pk) is False
    assert InferenceJob.objects.get(pk=queued.pk).runs == 1


def test_resume_requeues_stopped_failed_and_abandoned_jobs_only(
    snapshot: GraphSnapshot,
    staff: Client,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    now = timezone.now()
    stopped = job_in(snapshot, tmp_path / "a", status="stopped_budget", exit_code=3)
    failed = job_in(snapshot, tmp_path / "b", status="failed", exit_code=1)
    lost = job_in(
        snapshot, tmp_path / "c", status="running", started_at=now - rules.STALE_AFTER * 3,
        heartbeat_at=now - rules.STALE_AFTER * 2,
    )  # fmt: skip
    alive = job_in(snapshot, tmp_path / "d", status="running", started_at=now, heartbeat_at=now)
    done = job_in(snapshot, tmp_path / "e", status="done", exit_code=0)

    html = page(staff, snapshot)
    assert html.count('class="job-resume"') == 5
    assert html.count('data-field="resume" hidden') == 2  # alive and done
    assert "Running (worker lost)" in html

    with ONLINE, tasks_sent() as sent:
        with django_capture_on_commit_callbacks(execute=True):
            url = reverse("research:job_resume", args=["small", stopped.pk])
            staff.post(url, {"max_tokens_total": "90000"})
            for job in (failed, lost):
                staff.post(reverse("research:job_resume", args=["small", job.pk]))
            for job in (alive, done):
                response = staff.post(
                    reverse("research:job_resume", args=["small", job.pk]), follow=True
                )
                assert "nothing to resume" in response.content.decode()
        assert sent == [(RUN_TASK, (job.pk,)) for job in (stopped, failed, lost)]
    for job, status in ((stopped, "queued"), (failed, "queued"), (lost, "queued")):
        assert InferenceJob.objects.get(pk=job.pk).status == status
    assert InferenceJob.objects.get(pk=stopped.pk).parameters["max_tokens_total"] == 90000
    assert InferenceJob.objects.get(pk=alive.pk).status == "running"
    assert InferenceJob.objects.get(pk=done.pk).status == "done"
    InferenceJob.objects.filter(pk=stopped.pk).update(status="failed")
    with OFFLINE, pytest.raises(MoralGraphError, match="No model server"):
        job_services.inference_job_resume(job_id=stopped.pk, max_tokens_total=None)


# --- progress and files -----------------------------------------------------------------------------


def write_manifest(path: Path, **fields: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fields))


def test_progress_follows_the_phase_manifests(
    snapshot: GraphSnapshot, staff: Client, tmp_path: Path
) -> None:
    job = job_in(snapshot, tmp_path, status="running")
    url = reverse("research:job_status", args=["small", job.pk])
    assert staff.get(url).json()["planned"] == 0  # nothing planned yet

    out = tmp_path / "out"
    write_manifest(
        out / "scenarios" / "manifest.json",
        status="running", done=2, planned=6, tokens_used=100, tokens_used_this_run=40,
    )  # fmt: skip
    data = staff.get(url).json()
    assert (data["phase"], data["done"], data["planned"]) == ("scenarios", 2, 6)
    assert data["tokens_used"] == 140
    assert data["is_active"] is True

    write_manifest(
        out / "scenarios" / "manifest.json", status="complete", done=6, planned=6, tokens_used=300
    )
    write_manifest(
        out / "manifest.json", status="running", done=5, planned=12, tokens_used=0,
        tokens_used_this_run=700,
    )  # fmt: skip
    data = staff.get(url).json()
    assert (data["phase"], data["done"], data["planned"], data["tokens_used"]) == (
        "examples", 5, 12, 1000,
    )  # fmt: skip
    assert data["progress_text"] == "5 of 12 examples · 1,000 tokens"

    html = page(staff, snapshot)
    assert '<progress data-field="progress" max="12" value="5"' in html
    assert "5 of 12 examples · 1,000 tokens" in html

    targets = job_in(snapshot, tmp_path / "t", kind="targets", status="done")
    data = staff.get(reverse("research:job_status", args=["small", targets.pk])).json()
    assert (data["done"], data["planned"], data["is_active"]) == (1, 1, False)


def test_the_file_view_serves_only_files_inside_the_job_output(
    snapshot: GraphSnapshot, staff: Client, tmp_path: Path
) -> None:
    folder = tmp_path / "jobs" / "1"
    out = folder / "out"
    (out / "scenarios").mkdir(parents=True)
    (folder / "snapshot.json").write_text('{"secret": "the whole snapshot"}')
    (folder / "stderr.log").write_text("log")
    (out / "sft.jsonl").write_text('{"key": "a"}\n')
    (out / "README.md").write_text("# card")
    (out / "scenarios" / "scenarios.jsonl").write_text('{"text": "s"}\n')
    (out / ".lock").write_text("")
    (out / "notes.sh").write_text("echo")
    (tmp_path / "outside.json").write_text('{"outside": true}')
    os.symlink(tmp_path / "outside.json", out / "link.json")
    other = tmp_path / "jobs" / "2" / "out"
    other.mkdir(parents=True)
    (other / "dpo.jsonl").write_text('{"key": "other"}\n')
    job = job_in(snapshot, folder)
    job_in(snapshot, tmp_path / "jobs" / "2")

    data = staff.get(reverse("research:job_status", args=["small", job.pk])).json()
    assert [f["name"] for f in data["files"]] == [
        "README.md",
        "sft.jsonl",
        "scenarios/scenarios.jsonl",
    ]
    base = reverse("research:job_file", args=["small", job.pk, "sft.jsonl"])[: -len("sft.jsonl")]
    ok = staff.get(base + "sft.jsonl")
    assert ok.status_code == 200
    assert ok.getvalue() == b'{"key": "a"}\n'
    assert ok["Content-Disposition"].startswith("attachment;")
    assert staff.get(base + "scenarios/scenarios.jsonl").getvalue()

    refused = [
        "../snapshot.json",
        "..%2Fsnapshot.json",
        "%2e%2e/snapshot.json",
        "scenarios/../../snapshot.json",
        "../stderr.log",
        "../../2/out/dpo.jsonl",
        str(tmp_path / "outside.json"),
        "/" + str(tmp_path / "outside.json"),
        "link.json",
        ".lock",
        "notes.sh",
        "missing.json",
        "",
    ]
    for name in refused:
        response = staff.get(base + name)
        assert response.status_code == 404, name
    assert job_selectors.inference_job_file_path(job, "../snapshot.json") is None
    # A job of another study is not reachable through this study's URL.
    Study.objects.create(slug="other", title="Other")
    assert staff.get(f"/research/other/jobs/{job.pk}/files/sft.jsonl").status_code == 404
    assert staff.get(f"/research/other/jobs/{job.pk}.json").status_code == 404


def test_a_queued_job_stops_at_once_and_its_task_then_does_nothing(
    snapshot: GraphSnapshot,
) -> None:
    job = InferenceJob.objects.create(snapshot=snapshot, kind="targets", parameters={})
    stopped = job_services.inference_job_stop(job_id=job.pk)
    assert stopped.status == InferenceJob.Status.STOPPED
    assert runner.inference_job_run(job_id=job.pk) is None  # the late task claims nothing
    assert InferenceJob.objects.get(pk=job.pk).status == InferenceJob.Status.STOPPED
    assert rules.is_resumable(InferenceJob.objects.get(pk=job.pk))
