"""The demo study's values and upgrade stories."""

from __future__ import annotations

from django.db import transaction

from moralgraph.errors import MoralGraphError
from moralgraph.models import (
    Context,
    UpgradeHypothesis,
    Value,
)


@transaction.atomic
def demo_graph_seed(*, study_id: int) -> dict[str, int]:
    """The demo study's values and upgrade stories (written for the demo); idempotent."""
    from moralgraph.services.demo_data import DEMO_HYPOTHESES, DEMO_RUN_ID, DEMO_VALUES

    values: dict[str, Value] = {}
    for spec in DEMO_VALUES:
        value, _ = Value.objects.update_or_create(
            study_id=study_id,
            source_id=f"demo:{spec['key']}",
            defaults={
                "title": spec["title"],
                "description": spec["description"],
                "policies": list(spec["policies"]),
                "language": "en",  # written in English: other languages' pages say so
            },
        )
        values[str(spec["key"])] = value
    contexts = {c.text: c for c in Context.objects.filter(study_id=study_id)}
    stored = 0
    for hypothesis in DEMO_HYPOTHESES:
        context = contexts.get(str(hypothesis["context"]))
        if context is None:
            raise MoralGraphError(
                "unknown_context", f"The demo has no context {hypothesis['context']!r}."
            )
        UpgradeHypothesis.objects.update_or_create(
            from_value=values[str(hypothesis["from"])],
            to_value=values[str(hypothesis["to"])],
            context=context,
            run_id=DEMO_RUN_ID,
            defaults={
                "study_id": study_id,
                "story": hypothesis["story"],
                "generator_model": "written for the demo",
            },
        )
        stored += 1
    return {"values": len(values), "hypotheses": stored}
