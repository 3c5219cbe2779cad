"""Inference jobs through a real Celery worker over Redis, against the fake OpenAI-compatible
server: the reference study's snapshot → targets, an SFT dataset, a budget stop and its
resume; the progress endpoint, the downloads, and what the fake received.

The tasks go to a queue of this test's own, consumed by a worker whose settings point at the
fake server: the session's worker (started by other tests, on `light,llm`) has no model
server. That the task is routed to `llm` in production is asserted apart."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from config.celery import app
from inference.testing import FakeLLMServer
from moralgraph import tasks
from moralgraph.models import GraphSnapshot, InferenceJob
from tests.support.processes import ManagedProcess, start_worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
CUTOFF = "2023-10-18T00:00:00Z"
DEADLINE_S = 90
QUEUE = f"inference-jobs-test-{os.getpid()}"
RUN_TASK = "moralgraph.tasks.inference_job_run"


def test_the_task_is_routed_to_the_llm_queue() -> None:
    assert tasks.inference_job_run.name == RUN_TASK
    route = app.amqp.router.route({}, RUN_TASK)
    assert route["queue"].name == "llm"


@pytest.fixture
def reference(realdata: Path) -> GraphSnapshot:
    dump = realdata / "mai-dft-moral-graph" / "db-dump"
    call_command("import_mai", str(dump), study="mai", stdout=StringIO())
    call_command(
        "build_graph", "mai", "--mode", "reference", "--before", CUTOFF, "--bootstrap", "0",
        stdout=StringIO(),
    )  # fmt: skip
    # The import also queues a live rebuild, which a session worker may build meanwhile.
    return GraphSnapshot.objects.get(parameters__mode="reference")


@pytest.fixture
def llm_worker(subprocess_env: dict[str, str], fake_llm: FakeLLMServer) -> Iterator[ManagedProcess]:
    """A worker whose settings point the LLM queue at the fake server (the session's worker
    has no model server)."""
    env = {
        **subprocess_env,
        "LLM_BASE_URL": fake_llm.base_url,
        "LLM_API_KEY": "x",
        "LLM_MODEL": "fake-model",
    }
    worker = start_worker(env, queues=QUEUE)
    # The job services send the task by name; route that name to this test's queue meanwhile.
    routes = app.conf.task_routes
    app.conf.update(task_routes={**routes, RUN_TASK: {"queue": QUEUE}})
    try:
        yield worker
    finally:
        app.conf.update(task_routes=routes)
        worker.stop()


@pytest.fixture
def staff(django_user_model: Any, fake_llm: FakeLLMServer) -> Iterator[Client]:
    user = django_user_model.objects.create_user(
        username="researcher", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    with override_settings(LLM_BASE_URL=fake_llm.base_url, LLM_MODEL="fake-model", LLM_API_KEY="x"):
        yield client


def script_scenarios(fake_llm: FakeLLMServer, contexts: list[str]) -> None:
    """Distinct scenarios per context, so deduplication keeps what was asked for."""
    fake_llm.script(
        *(
            {
                "json": {
                    "scenarios": [
                        f"My sister asks for help with money ({context}). What should I do?",
                        f"A colleague took credit for my idea ({context}). Do I say something?",
                        f"My son wants to drop out of college ({context}). How do I respond?",
                    ]
                },
                "match": f"Situation: {context}\n",
                "repeat": 1000,
            }
            for context in contexts
        )
    )


def start(client: Client, snapshot: GraphSnapshot, **data: Any) -> InferenceJob:
    before = set(InferenceJob.objects.values_list("pk", flat=True))
    url = reverse("research:job_start", args=["mai", snapshot.pk])
    response = client.post(url, data)
    assert response.status_code == 302, response.content
    (job,) = InferenceJob.objects.exclude(pk__in=before)
    return job


def finished(job: InferenceJob, worker: ManagedProcess) -> InferenceJob:
    def settled() -> InferenceJob | None:
        worker.assert_running()
        fresh = InferenceJob.objects.get(pk=job.pk)
        return None if fresh.is_active else fresh

    result = wait_until(settled, timeout=DEADLINE_S, interval=0.2, what=f"job {job.pk}")
    assert isinstance(result, InferenceJob)
    return result


def status_of(client: Client, job: InferenceJob) -> dict[str, Any]:
    response = client.get(reverse("research:job_status", args=["mai", job.pk]))
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def download(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return bytes(response.getvalue())


def sft_contexts(document: dict[str, Any]) -> list[str]:
    """The contexts an SFT dataset trains on by default: untied winners that won at least
    half the bootstrap resamples (inference.uncertainty)."""
    return [
        w["context"]
        for w in document["winners"]
        if not w.get("tie") and (w["win_probability"] is None or w["win_probability"] >= 0.5)
    ]


def read_jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines() if line]


def test_targets_and_an_sft_dataset_through_the_worker(
    reference: GraphSnapshot,
    staff: Client,
    fake_llm: FakeLLMServer,
    llm_worker: ManagedProcess,
) -> None:
    document = reference.document
    contexts = [w["context"] for w in document["winners"]]
    assert contexts, "the reference snapshot has winners"
    script_scenarios(fake_llm, contexts)

    # Targets: from the snapshot alone.
    targets = finished(start(staff, reference, kind="targets"), llm_worker)
    assert targets.status == "done", targets.message
    assert targets.exit_code == 0
    assert targets.runs == 1
    data = status_of(staff, targets)
    assert data["done"] == data["planned"] == 1
    files = {f["name"]: f["url"] for f in data["files"]}
    assert {"targets.json", "system_prompt.md"} <= set(files)
    target_doc = json.loads(download(staff, files["targets.json"]))
    assert target_doc["snapshot"]["content_hash"] == reference.content_hash
    assert "Targets for" in targets.message
    assert fake_llm.chat_requests() == []  # targets need no model

    # An SFT dataset: scenarios first, then one example per scenario of each winner.
    job = start(staff, reference, kind="dataset-sft", per_context=2, model="fake-model")
    # While it runs, the page polls; the endpoint answers whatever the state.
    assert status_of(staff, job)["status"] in ("queued", "running", "done")
    job = finished(job, llm_worker)
    assert job.status == "done", job.message
    data = status_of(staff, job)
    assert data["phase"] == "examples"
    assert data["done"] == data["planned"] == 2 * len(sft_contexts(reference.document))
    assert data["tokens_used"] > 0
    assert data["is_active"] is False
    assert data["progress_text"].startswith(f"{data['done']} of {data['planned']} examples")
    files = {f["name"]: f["url"] for f in data["files"]}
    assert {"sft.jsonl", "README.md", "manifest.json", "scenarios/scenarios.jsonl"} <= set(files)
    examples = read_jsonl(download(staff, files["sft.jsonl"]))
    assert len({e["key"] for e in examples}) == len(examples) == data["planned"]
    assert reference.content_hash in download(staff, files["README.md"]).decode()

    # The fake was asked for scenarios per context, then answers guided by the winning values.
    bodies = fake_llm.chat_requests()
    answers = [b for b in bodies if b["messages"][0]["role"] == "system"]
    asked = [b["messages"][-1]["content"] for b in bodies if b not in answers]
    assert {c for c in contexts if any(f"Situation: {c}\n" in text for text in asked)} == set(
        contexts
    )
    assert len(answers) == data["planned"]
    values = {v["id"]: v for v in document["values"]}
    winner = values[document["winners"][0]["value_id"]]
    systems = [m["content"] for b in answers for m in b["messages"] if m["role"] == "system"]
    assert any(winner["policies"][0] in s for s in systems)
    assert all(b["model"] == "fake-model" for b in bodies)

    # The page lists both jobs with their files.
    html = staff.get(reverse("research:snapshot", args=["mai", reference.pk])).content.decode()
    assert html.count('class="job panel"') == 2
    assert 'data-active="false"' in html
    assert "sft.jsonl" in html
    assert "targets.json" in html

    # A redelivered task for a done job does nothing (the worker logs None and no new run).
    before = len(fake_llm.chat_requests())
    result = tasks.inference_job_run.delay(job.pk)
    wait_until(
        lambda: f"inference_job_run[{result.id}] succeeded" in llm_worker.log(),
        timeout=DEADLINE_S,
        what="the redelivered task",
    )
    again = InferenceJob.objects.get(pk=job.pk)
    assert (again.status, again.runs, again.finished_at) == ("done", 1, job.finished_at)
    assert len(fake_llm.chat_requests()) == before


def test_a_budget_stop_shows_and_resume_finishes_it(
    reference: GraphSnapshot,
    staff: Client,
    fake_llm: FakeLLMServer,
    llm_worker: ManagedProcess,
) -> None:
    contexts = [w["context"] for w in reference.document["winners"]]
    script_scenarios(fake_llm, contexts)
    # Enough for the scenarios (about 720 tokens of estimate per context), too little for
    # the examples (each is estimated at 700 answer tokens and more).
    budget = 900 * len(contexts)
    job = start(staff, reference, kind="dataset-sft", per_context=2, max_tokens_total=budget)
    job = finished(job, llm_worker)
    assert job.status == "stopped_budget", job.message
    assert job.exit_code == 3
    assert "Stopped at the token budget" in job.message
    data = status_of(staff, job)
    assert data["is_resumable"] is True
    assert data["status_label"] == "Stopped at the token budget"
    # The scenarios were made; the examples stopped part of the way.
    assert data["phase"] == "examples", data
    assert data["done"] < data["planned"], data
    assert "scenarios/scenarios.jsonl" in {f["name"] for f in data["files"]}
    html = staff.get(reverse("research:snapshot", args=["mai", reference.pk])).content.decode()
    assert "Exit code 3: stopped at the token budget; resume to continue." in html
    requests_before = len(fake_llm.chat_requests())

    # Resume without a budget: the command continues from its folder and finishes.
    response = staff.post(reverse("research:job_resume", args=["mai", job.pk]), {})
    assert response.status_code == 302
    job = finished(job, llm_worker)
    assert job.status == "done", job.message
    assert job.runs == 2
    assert job.parameters["max_tokens_total"] is None
    data = status_of(staff, job)
    assert data["done"] == data["planned"] == 2 * len(sft_contexts(reference.document))
    files = {f["name"]: f["url"] for f in data["files"]}
    examples = read_jsonl(download(staff, files["sft.jsonl"]))
    assert len({e["key"] for e in examples}) == len(examples) == data["planned"]
    assert len(fake_llm.chat_requests()) > requests_before
    manifest = json.loads(download(staff, files["manifest.json"]))
    assert [run["status"] for run in manifest["runs"]][-1] == "complete"


def test_stop_ends_a_running_job_and_resume_finishes_it(
    reference: GraphSnapshot,
    staff: Client,
    fake_llm: FakeLLMServer,
    llm_worker: ManagedProcess,
) -> None:
    contexts = [w["context"] for w in reference.document["winners"]]
    script_scenarios(fake_llm, contexts)
    fake_llm.configure(delay_s=2.0)  # slow answers: the job is still running when stopped
    job = start(staff, reference, kind="dataset-sft", per_context=2)

    def writing_examples() -> bool:
        llm_worker.assert_running()
        return status_of(staff, job)["phase"] == "examples"

    wait_until(writing_examples, timeout=DEADLINE_S, interval=0.2, what="the examples phase")
    response = staff.post(reverse("research:job_stop", args=["mai", job.pk]))
    assert response.status_code == 302
    assert status_of(staff, job)["is_stopping"] is True
    job = finished(job, llm_worker)
    assert job.status == "stopped", job.message
    assert "Stopped by a researcher" in job.message
    data = status_of(staff, job)
    assert data["is_resumable"] is True
    assert data["done"] < data["planned"]
    # Stopping a job that is not running says so and changes nothing.
    again = staff.post(reverse("research:job_stop", args=["mai", job.pk]), follow=True)
    assert "nothing to stop" in again.content.decode()

    fake_llm.configure(delay_s=0.0)
    staff.post(reverse("research:job_resume", args=["mai", job.pk]), {})
    job = finished(job, llm_worker)
    assert job.status == "done", job.message
    data = status_of(staff, job)
    assert data["done"] == data["planned"] == 2 * len(sft_contexts(reference.document))
    files = {f["name"]: f["url"] for f in data["files"]}
    examples = read_jsonl(download(staff, files["sft.jsonl"]))
    assert len({e["key"] for e in examples}) == len(examples) == data["planned"]
