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
    "elicitation.tasks.values_card_screen",  # may ask the moderation judge
    "elicitation.tasks.contexts_mine",
    "elicitation.tasks.study_cards_canonicalise",
    "moralgraph.tasks.contexts_generate",
    "moralgraph.tasks.hypotheses_generate",
    "moralgraph.tasks.context_stories_generate",
    "moralgraph.tasks.inference_job_run",
    "moralgraph.tasks.value_translate",
)

app = Celery("mge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=(Queue("light"), Queue("llm")),
    task_default_queue="light",
    task_routes={name: {"queue": "llm"} for name in LLM_TASKS},
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    # Workers outlive their broker: reconnect forever (kombu backs off, up to 30 s between
    # tries) at startup and after a lost connection, instead of giving up after 100 tries.
    broker_connection_retry_on_startup=True,
    broker_connection_retry=True,
    broker_connection_max_retries=None,
    broker_channel_error_retry=True,
    # A late-acknowledged task running when the connection drops is let finish: ours are
    # idempotent (a redelivered rebuild finds its snapshot by content hash), and finishing
    # beats killing a rebuild halfway over a broker blip.
    worker_cancel_long_running_tasks_on_connection_loss=False,
    worker_hijack_root_logger=False,
)
# A worker that held a late-acknowledged task when Redis went away died with
# AttributeError("'NoneType' object has no attribute 'hostname'"): the broker transport in
# config/broker.py (set in settings) repairs that. Workers also run with --without-gossip
# --without-mingle (compose.yaml, scripts/run.sh): closing gossip's broadcast channel after a
# lost connection fails the same way (celery/kombu#582), and we use neither step.

# Each worker writes a heartbeat file (config/worker_health.py) that /healthz reads.
from config import worker_health  # noqa: E402

worker_health.connect(app)
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
