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
