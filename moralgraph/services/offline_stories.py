"""Upgrade stories without a model: what the offline backend (the embedded default) stores,
so a study made in the browser still yields a graph to try the journey end to end.

Each story is a short first-person template filled with the two values' own policies, and it
opens with `OFFLINE_STORY_LABEL`, so a participant and a researcher both see it was not
written by a person or a model. Stored with `OFFLINE_GENERATOR`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count

from moralgraph.models import CanonicalisationDecision, Value

OFFLINE_GENERATOR = "offline-template-v1"
OFFLINE_STORY_LABEL = "[Example story made from a template, without an AI model]"
OFFLINE_REASON = (
    "Offline placeholder: the value more participants' cards expressed is taken as the wiser "
    "one (ties: the newer value). A model's judgement replaces this when LLM_BASE_URL is set."
)


def _attention(value: Value) -> str:
    """What the value attends to, as a clause: its first policy, else its description."""
    policies = [" ".join(str(p).split()) for p in value.policies if str(p).strip()]
    text = policies[0] if policies else " ".join(value.description.split())
    text = text.rstrip(".!?;: ") or "what seemed to matter"
    first, _, rest = text.partition(" ")
    # Policies start with a capitalised kind of attention ("MOMENTS when …"): lower it for prose.
    if first.isupper() or first[1:].islower():
        first = first.lower()
    return f"{first} {rest}".strip()


def card_support(value_ids: Iterable[int]) -> dict[int, int]:
    """How many distinct cards became each value (the graph's own decisions table)."""
    rows = (
        CanonicalisationDecision.objects.filter(value_id__in=set(value_ids), card_id__isnull=False)
        .values("value_id")
        .annotate(cards=Count("card_id", distinct=True))
        .values_list("value_id", "cards")
        .order_by()
    )
    return {value_id: cards for value_id, cards in rows}


def offline_direction(a: Value, b: Value, support: dict[int, int]) -> tuple[Value, Value]:
    """(less wise, wiser) for a pair. A placeholder for a model's judgement: the value with more
    supporting cards is taken as the wiser one, ties going to the higher id (the newer value),
    so the answer is deterministic and the graph has a direction to vote on."""
    key_a = (support.get(a.pk, 0), a.pk)
    key_b = (support.get(b.pk, 0), b.pk)
    return (a, b) if key_a < key_b else (b, a)


def offline_story(low: Value, high: Value) -> str:
    """A short first-person story from the less wise value's policy to the wiser one's."""
    return (
        f"{OFFLINE_STORY_LABEL}\n"
        f"I used to pay most attention to {_attention(low)}. "
        f"Over time I found that {_attention(high)} mattered more to me in this situation. "
        "Now that is what I look for first."
    )
