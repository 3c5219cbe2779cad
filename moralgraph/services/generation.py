"""Generation through the gateway: contexts from a study's questions, and
upgrade hypotheses (A → B with a first-person story) per context, in both directions.
Contexts need a model; stories have an offline fallback (labelled template stories).

Answers come through `structured_sync` with a JSON schema: a malformed answer is retried by
the gateway and never stored. All model calls happen before any write, and the writes happen
in one transaction at the end, so a timeout or a failure stores nothing.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction

from inference.gateway import Gateway, LLMError, LLMTimeout, Message, gateway_from_settings
from inference.prompts import Prompt, load_prompt
from inference.schemas import CONTEXTS_SCHEMA, UPGRADE_STORY_SCHEMA, count_sentences
from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.models import Context, UpgradeHypothesis, Value
from moralgraph.services import offline_stories
from moralgraph.services.offline_stories import OFFLINE_GENERATOR

CONTEXT_PROMPT = "context_generation"
MINING_PROMPT = "context_mining"
MAX_EXCERPTS = 60
MAX_EXCERPT_CHARS = 600
STORY_PROMPT = "upgrade_story"
MAX_CONTEXT_WORDS = 10
MAX_VALUES_SHOWN = 30
STORY_SENTENCES = (2, 7)


def _ask(
    gateway: Gateway, prompt: Prompt, schema: dict[str, object], name: str, **variables: object
) -> dict[str, object]:
    messages: list[Message] = [{"role": "user", "content": prompt.render(**variables)}]
    try:
        return gateway.structured_sync(messages, schema=schema, name=name)
    except LLMTimeout as error:
        raise MoralGraphError(
            "llm_timeout",
            f"The model did not answer in time while generating {name.replace('_', ' ')}; "
            f"nothing was stored. ({error})",
        ) from error
    except LLMError as error:
        raise MoralGraphError(
            "llm_failed", f"Generating {name.replace('_', ' ')} failed: {error}"
        ) from error


def _require_model(gateway: Gateway) -> None:
    if gateway.backend_name == "offline":
        raise MoralGraphError(
            "no_model",
            "Generation needs a model: set LLM_BASE_URL (OpenAI or a vLLM server). The offline "
            "backend only runs the interviewer and the canonicaliser's conservative rule.",
        )


def _values_for_question(study_id: int, question_id: int) -> list[Value]:
    from_cards = studies.card_value_ids(question_ids=[question_id])
    values = Value.objects.filter(study_id=study_id, status=Value.Status.ACTIVE, pk__in=from_cards)
    chosen = list(values.order_by("id")[:MAX_VALUES_SHOWN])
    if not chosen:
        chosen = list(
            Value.objects.filter(study_id=study_id, status=Value.Status.ACTIVE).order_by("id")[
                :MAX_VALUES_SHOWN
            ]
        )
    return chosen


def valid_context(text: str) -> str | None:
    """The context cleaned up, or None when it breaks the prompt's rules."""
    cleaned = " ".join(text.split()).rstrip(".")
    if not cleaned.startswith("When ") or len(cleaned.split()) > MAX_CONTEXT_WORDS:
        return None
    return cleaned[:300]


def contexts_generate(
    *, study_id: int, question_id: int, count: int = 5, gateway: Gateway | None = None
) -> list[Context]:
    """Propose contexts for a question from the values people brought to it; store the valid
    ones (origin "generated", model and prompt hash recorded), linked to the question."""
    gateway = gateway or gateway_from_settings(settings)
    _require_model(gateway)
    question = studies.question_ref(study_id=study_id, question_id=question_id)
    if question is None:
        raise MoralGraphError("unknown_question", "That question does not belong to this study.")
    prompt = load_prompt(CONTEXT_PROMPT)
    values = _values_for_question(study_id, question_id)
    listing = "\n".join(f"- {v.title}: {v.description}" for v in values) or "(none yet)"
    answer = _ask(
        gateway,
        prompt,
        CONTEXTS_SCHEMA,
        "contexts",
        question=question.text,
        values=listing,
        count=count,
    )
    return _store_contexts(
        answer,
        study_id=study_id,
        question_id=question_id,
        count=count,
        origin=Context.Origin.GENERATED,
        model=gateway.model,
        prompt=prompt,
    )


def contexts_mine(
    *,
    study_id: int,
    question_id: int,
    excerpts: list[str],
    count: int = 5,
    gateway: Gateway | None = None,
) -> list[int]:
    """Contexts found in what participants said in their interviews (origin "mined").

    The caller (the elicitation side, which owns interviews) hands over the excerpts; the
    newest `MAX_EXCERPTS`, each cut to `MAX_EXCERPT_CHARS`, go to the model. Returns the
    contexts' ids."""
    gateway = gateway or gateway_from_settings(settings)
    _require_model(gateway)
    question = studies.question_ref(study_id=study_id, question_id=question_id)
    if question is None:
        raise MoralGraphError("unknown_question", "That question does not belong to this study.")
    cleaned = [" ".join(e.split())[:MAX_EXCERPT_CHARS] for e in excerpts if e.strip()]
    if len(cleaned) < 2:
        raise MoralGraphError(
            "too_few_interviews",
            "Mining contexts needs at least two interview answers for this question.",
        )
    prompt = load_prompt(MINING_PROMPT)
    answer = _ask(
        gateway,
        prompt,
        CONTEXTS_SCHEMA,
        "contexts",
        question=question.text,
        excerpts="\n".join(f"- {e}" for e in cleaned[-MAX_EXCERPTS:]),
        count=count,
    )
    stored = _store_contexts(
        answer,
        study_id=study_id,
        question_id=question_id,
        count=count,
        origin=Context.Origin.MINED,
        model=gateway.model,
        prompt=prompt,
    )
    return [context.pk for context in stored]


def _store_contexts(
    answer: dict[str, object],
    *,
    study_id: int,
    question_id: int,
    count: int,
    origin: str,
    model: str,
    prompt: Prompt,
) -> list[Context]:
    """The valid, distinct contexts of an answer, stored once per study and text; new ones
    are proposed (a staff member approves or rejects each), known ones keep their state."""
    proposed = answer["contexts"]
    assert isinstance(proposed, list)  # the schema guarantees it
    texts = list(dict.fromkeys(t for t in (valid_context(str(p)) for p in proposed) if t))[:count]
    with transaction.atomic():
        stored: list[Context] = []
        for text in texts:
            context, _ = Context.objects.get_or_create(
                study_id=study_id,
                text=text,
                defaults={
                    "origin": origin,
                    "status": Context.Status.PROPOSED,  # used only once staff approve it
                    "generator_model": model,
                    "prompt_hash": prompt.sha256,
                },
            )
            context.questions.add(question_id)
            stored.append(context)
    return stored


@dataclass(frozen=True)
class StoryVerdict:
    from_value_id: int
    to_value_id: int
    story: str
    reason: str


def _value_text(value: Value) -> str:
    policies = "; ".join(str(p) for p in value.policies)
    return f"{value.title}. {value.description} Attends to: {policies}"


def valid_story(story: str, titles: tuple[str, str]) -> bool:
    sentences = count_sentences(story)
    lowered = story.lower()
    return STORY_SENTENCES[0] <= sentences <= STORY_SENTENCES[1] and not any(
        t.lower() in lowered for t in titles if len(t) > 3
    )


def candidate_pairs(values: list[Value], max_pairs: int) -> list[tuple[Value, Value]]:
    """The most similar pairs first (a deepening is between related values); by id when the
    values have no embeddings."""
    pairs = list(itertools.combinations(values, 2))
    if all(v.embedding for v in values) and values:
        matrix = np.asarray([v.embedding for v in values], dtype=np.float64)
        position = {v.pk: i for i, v in enumerate(values)}
        similarity = matrix @ matrix.T
        pairs.sort(key=lambda p: -float(similarity[position[p[0].pk], position[p[1].pk]]))
    return pairs[:max_pairs]


def _story_values(study_id: int, context: Context, value_ids: list[int] | None) -> list[Value]:
    """The values to pair: those given, else the active values participants' cards on the
    context's questions became (at most `MAX_VALUES_SHOWN`)."""
    if value_ids is not None:
        return list(Value.objects.filter(study_id=study_id, pk__in=value_ids).order_by("id"))
    question_ids = list(context.questions.values_list("id", flat=True))
    from_cards = studies.card_value_ids(question_ids=question_ids)
    return list(
        Value.objects.filter(
            study_id=study_id, status=Value.Status.ACTIVE, pk__in=from_cards
        ).order_by("id")[:MAX_VALUES_SHOWN]
    )


def _story_verdicts(
    gateway: Gateway, prompt: Prompt, context: Context, pairs: list[tuple[Value, Value]]
) -> list[StoryVerdict]:
    """The model's valid stories for the pairs (model calls: no transaction here)."""
    verdicts: list[StoryVerdict] = []
    for a, b in pairs:
        answer = _ask(
            gateway,
            prompt,
            UPGRADE_STORY_SCHEMA,
            "upgrade_story",
            context=context.text,
            value_a=_value_text(a),
            value_b=_value_text(b),
        )
        direction = str(answer["direction"])
        story = " ".join(str(answer["story"]).split())
        if direction == "neither":
            continue
        low, high = (a, b) if direction == "a_to_b" else (b, a)
        if not valid_story(story, (a.title, b.title)):
            continue  # the model broke the story rules: rejected, never stored
        verdicts.append(StoryVerdict(low.pk, high.pk, story, str(answer["reason"])))
    return verdicts


def _offline_verdicts(pairs: list[tuple[Value, Value]]) -> list[StoryVerdict]:
    """Template stories for the pairs, labelled as such (the offline backend)."""
    support = offline_stories.card_support(v.pk for pair in pairs for v in pair)
    verdicts: list[StoryVerdict] = []
    for a, b in pairs:
        low, high = offline_stories.offline_direction(a, b, support)
        story = offline_stories.offline_story(low, high)
        verdicts.append(StoryVerdict(low.pk, high.pk, story, offline_stories.OFFLINE_REASON))
    return verdicts


def _storied_pairs(context_id: int) -> set[frozenset[int]]:
    rows = UpgradeHypothesis.objects.filter(context_id=context_id).values_list(
        "from_value_id", "to_value_id"
    )
    return {frozenset(row) for row in rows}


def _story_pairs(
    context_id: int, values: list[Value], fresh_value_ids: list[int] | None, max_pairs: int
) -> list[tuple[Value, Value]]:
    """The pairs to ask about: the closest ones; with `fresh_value_ids`, only pairs with a
    fresh value that have no story in this context yet."""
    if fresh_value_ids is None:
        return candidate_pairs(values, max_pairs)
    fresh, storied = set(fresh_value_ids), _storied_pairs(context_id)
    pairs = [
        (a, b)
        for a, b in candidate_pairs(values, len(values) ** 2)
        if (a.pk in fresh or b.pk in fresh) and frozenset((a.pk, b.pk)) not in storied
    ]
    return pairs[:max_pairs]


def hypotheses_generate(
    *,
    study_id: int,
    context_id: int,
    run_id: str | None = None,
    value_ids: list[int] | None = None,
    fresh_value_ids: list[int] | None = None,
    max_pairs: int = 20,
    gateway: Gateway | None = None,
) -> list[UpgradeHypothesis]:
    """Ask the model, for pairs of the context's values, whether one deepens the other (either
    direction) and for a short first-person story; store the valid ones under one run id.

    With `fresh_value_ids` (the automatic pipeline), only pairs with a fresh value and no story
    in this context yet are asked about, and the write re-checks that under a lock on the
    context, so overlapping runs never store a pair twice. The offline backend stores labelled
    template stories instead (`offline_stories`)."""
    gateway = gateway or gateway_from_settings(settings)
    context = Context.objects.filter(pk=context_id, study_id=study_id).first()
    if context is None:
        raise MoralGraphError("unknown_context", "That context does not belong to this study.")
    if context.status != Context.Status.APPROVED:
        raise MoralGraphError(
            "context_not_approved", "Stories are generated only for approved contexts."
        )
    values = _story_values(study_id, context, value_ids)
    pairs = _story_pairs(context_id, values, fresh_value_ids, max_pairs)
    if gateway.backend_name == "offline":
        verdicts, model, prompt_hash = _offline_verdicts(pairs), OFFLINE_GENERATOR, ""
    else:
        prompt = load_prompt(STORY_PROMPT)
        verdicts = _story_verdicts(gateway, prompt, context, pairs)
        model, prompt_hash = gateway.model, prompt.sha256
    run = run_id or uuid.uuid4().hex[:26]
    with transaction.atomic():
        if fresh_value_ids is not None:
            Context.objects.select_for_update().filter(pk=context_id).first()
            storied = _storied_pairs(context_id)
            verdicts = [
                v for v in verdicts if frozenset((v.from_value_id, v.to_value_id)) not in storied
            ]
        stored = [
            UpgradeHypothesis.objects.update_or_create(
                from_value_id=v.from_value_id,
                to_value_id=v.to_value_id,
                context_id=context_id,
                run_id=run,
                defaults={
                    "study_id": study_id,
                    "story": v.story,
                    "reason": v.reason,
                    "generator_model": model,
                    "prompt_hash": prompt_hash,
                },
            )[0]
            for v in verdicts
        ]
    return stored
