"""Tasks that wait on a model go to the `llm` queue; the rest to `light`."""

from __future__ import annotations

from config.celery import LLM_TASKS
from config.celery import app as celery_app


def _queue(task_name: str) -> str:
    route = celery_app.amqp.router.route({}, task_name, args=(), kwargs={})
    return str(route["queue"].name)


def test_every_llm_route_names_a_real_task() -> None:
    celery_app.loader.import_default_modules()
    ours = {name for name in celery_app.tasks if not name.startswith("celery.")}
    assert set(LLM_TASKS) <= ours
    assert "moralgraph.tasks.snapshot_rebuild" in ours


def test_queues() -> None:
    assert _queue("elicitation.tasks.values_card_canonicalise") == "llm"
    assert _queue("moralgraph.tasks.hypotheses_generate") == "llm"
    assert _queue("moralgraph.tasks.snapshot_rebuild") == "light"


def test_beat_sends_the_pipeline_sweeps_every_sweep_interval() -> None:
    from django.conf import settings

    celery_app.loader.import_default_modules()
    schedule = celery_app.conf.beat_schedule
    sent = {entry["task"]: entry["schedule"] for entry in schedule.values()}
    assert sent == {
        "elicitation.tasks.cards_canonicalise_sweep": float(settings.MGE_SWEEP_SECONDS),
        "moralgraph.tasks.pipeline_sweep": float(settings.MGE_SWEEP_SECONDS),
    }
    assert set(sent) <= set(celery_app.tasks)
    assert _queue("moralgraph.tasks.context_stories_generate") == "llm"
    assert _queue("moralgraph.tasks.pipeline_sweep") == "light"
