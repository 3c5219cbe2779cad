"""The Celery app: two queues, `light` (graph, canonicalisation bookkeeping) and `llm` (work
that waits on a model). The broker is Redis in production and kombu's filesystem transport in
the embedded default, so `make run` needs no server."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Tasks that wait on a model go to the `llm` queue, so slow model calls never hold up the
# light work (graph rebuilds). Everything else goes to `light`.
LLM_TASKS = (
    "elicitation.tasks.values_card_canonicalise",
    "elicitation.tasks.contexts_mine",
    "elicitation.tasks.study_cards_canonicalise",
    "moralgraph.tasks.contexts_generate",
    "moralgraph.tasks.hypotheses_generate",
    "moralgraph.tasks.context_stories_generate",
    "moralgraph.tasks.inference_job_run",
)

app = Celery("mge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=(Queue("light"), Queue("llm")),
    task_default_queue="light",
    task_routes={name: {"queue": "llm"} for name in LLM_TASKS},
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
app.autodiscover_tasks()

# The sweep (run by beat: `make run` embeds it in the worker, compose runs a `beat` service)
# catches what a lost task missed: cards without a value, contexts due for stories, live
# snapshots older than the newest vote. Both tasks only request work, each idempotently.
SWEEP_TASKS = ("elicitation.tasks.cards_canonicalise_sweep", "moralgraph.tasks.pipeline_sweep")


def _sweep_schedule() -> dict[str, dict[str, object]]:
    from django.conf import settings  # read lazily: the settings module imports this package

    seconds = float(settings.MGE_SWEEP_SECONDS)
    return {
        name.rsplit(".", 1)[1]: {"task": name, "schedule": seconds, "options": {"expires": seconds}}
        for name in SWEEP_TASKS
    }


app.conf.beat_schedule = _sweep_schedule()
