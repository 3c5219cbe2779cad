"""Answer pairs for the ratification phase: the graph's alignment target against a baseline.

Participants close the loop by judging, blind and side by side, two answers to the same user
prompt in a context of their own question: one written under the graph's alignment target for
that context, one by a baseline. This module prepares those pairs from a snapshot file
(``python -m inference ratify-sample``); moralgraph opens a round from the ``pairs.jsonl`` it
writes.

- **Contexts**: every context with a winner (a tied context's target names every tied value).
- **Prompts**: up to ``per_context`` per context, from a scenarios file (``python -m inference
  scenarios`` writes one) in file order; without one, the study questions the context belongs
  to (schema version 2 lists them: a question is the user message the study posed to the AI),
  else the context text itself.
- **Target answer**: the target model answers under the context's system prompt
  (``inference.targets.render_system_prompt`` for that context alone); with
  ``use_target_prompt=False`` the target model is taken to be fine-tuned on the graph's data
  and answers the prompt alone.
- **Baseline answer**: the baseline model (by default the same model) answers the prompt
  alone, with no system prompt.

Each line records its key (context, prompt, and a hash of the exact messages, so a changed
prompt is never served an old pair), the context, its id and question ids, the prompt, both
answers, the winning value id(s), the snapshot's content hash, both model names and the
hashes of the prompt file and of the rendered system prompt. A pair whose answers are the
same text (``inference.scenarios.normalise``) gives participants nothing to choose between:
it is dropped and counted (``pairs.dropped.jsonl``). The job resumes like the others
(``inference.engine.run_job``), and its lines are written in plan order.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.engine import Dropped, JobResult, complete_text, prompt_tokens_estimate, run_job
from inference.gateway import Gateway
from inference.prompts import load_prompt
from inference.scenarios import Scenario, normalise
from inference.targets import TARGET_PROMPT, ContextWinner, Snapshot, render_system_prompt
from inference.uncertainty import question_ids, tied_value_ids

__all__ = [
    "DEFAULT_PER_CONTEXT",
    "FORMAT",
    "FORMAT_VERSION",
    "IDENTICAL",
    "PAIRS",
    "PairPlan",
    "RatifySettings",
    "generate_pairs",
    "plan_pairs",
]

FORMAT = "mge-ratification-pairs"
FORMAT_VERSION = 1
PAIRS = "pairs"  # the job's name: pairs.jsonl, pairs.dropped.jsonl
DEFAULT_PER_CONTEXT = 3
IDENTICAL = "identical"


@dataclass(frozen=True)
class RatifySettings:
    max_tokens: int = 700
    temperature: float | None = 0.7
    use_target_prompt: bool = True


@dataclass(frozen=True, slots=True)
class PairPlan:
    """One pair to generate: a prompt in a context with a winner."""

    key: str
    winner: ContextWinner
    prompt_id: str
    prompt: str
    prompt_source: str
    system_prompt: str | None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _prompts_for(
    snapshot: Snapshot,
    winner: ContextWinner,
    scenarios: Mapping[str, Sequence[Scenario]] | None,
    per_context: int,
) -> list[tuple[str, str, str]]:
    """(id, text, source) of the context's prompts."""
    if scenarios is not None:
        return [(s.id, s.text, s.source) for s in scenarios.get(winner.context, ())][:per_context]
    wanted = question_ids(snapshot, winner.context)
    if wanted is not None:
        questions = [
            (f"question-{q['id']}", str(q["text"]), "question")
            for q in snapshot.study["questions"]
            if q["id"] in wanted
        ]
        if questions:
            return questions[:per_context]
    return [("context", winner.context, "context")]


def plan_pairs(
    snapshot: Snapshot,
    *,
    scenarios: Mapping[str, Sequence[Scenario]] | None = None,
    per_context: int = DEFAULT_PER_CONTEXT,
    use_target_prompt: bool = True,
) -> list[PairPlan]:
    """The pairs to generate, in snapshot order (contexts with a winner, then prompts)."""
    target_prompt = load_prompt(TARGET_PROMPT)
    plans: list[PairPlan] = []
    seen: set[str] = set()
    for winner in snapshot.winners:
        system = (
            render_system_prompt(snapshot, [winner], prompt=target_prompt)
            if use_target_prompt
            else None
        )
        for prompt_id, text, source in _prompts_for(snapshot, winner, scenarios, per_context):
            digest = _sha256(f"{system or ''}\0{text}")[:16]
            key = f"ratify|ctx={winner.context_id}|p={prompt_id}|h={digest}"
            if key in seen:
                continue
            seen.add(key)
            plans.append(PairPlan(key, winner, prompt_id, text, source, system))
    return plans


def _record(
    snapshot: Snapshot,
    plan: PairPlan,
    target: str,
    baseline: str,
    models: Mapping[str, str],
    target_prompt: Mapping[str, str],
) -> dict[str, Any]:
    winner = plan.winner
    questions = question_ids(snapshot, winner.context)
    return {
        "key": plan.key,
        "context": winner.context,
        "context_id": winner.context_id,
        "question_ids": list(questions) if questions is not None else [],
        "prompt_id": plan.prompt_id,
        "prompt_source": plan.prompt_source,
        "prompt": plan.prompt,
        "target_answer": target,
        "baseline_answer": baseline,
        "value_ids": list(tied_value_ids(snapshot, winner)),
        "tie": len(tied_value_ids(snapshot, winner)) > 1,
        "support": winner.support,
        "win_probability": winner.win_probability,
        "snapshot_content_hash": snapshot.content_hash,
        "snapshot_id": snapshot.snapshot_id,
        "target_model": models["target"],
        "baseline_model": models["baseline"],
        "prompt_sha256": _sha256(plan.prompt),
        "target_prompt": dict(target_prompt),
        "target_system_sha256": _sha256(plan.system_prompt) if plan.system_prompt else None,
    }


async def generate_pairs(
    snapshot: Snapshot,
    target: Gateway,
    baseline: Gateway,
    *,
    out_dir: Path,
    scenarios: Mapping[str, Sequence[Scenario]] | None = None,
    scenarios_source: Mapping[str, Any] | None = None,
    per_context: int = DEFAULT_PER_CONTEXT,
    settings: RatifySettings | None = None,
    concurrency: int = 64,
    max_tokens_total: int | None = None,
    progress: bool = True,
    base_urls: Mapping[str, str] | None = None,
) -> JobResult:
    """Generate (or resume) ``out_dir/pairs.jsonl`` and its ``manifest.json``."""
    settings = settings or RatifySettings()
    plans = plan_pairs(
        snapshot,
        scenarios=scenarios,
        per_context=per_context,
        use_target_prompt=settings.use_target_prompt,
    )
    prompt_file = load_prompt(TARGET_PROMPT)
    target_prompt = (
        {"ref": prompt_file.ref, "sha256": prompt_file.sha256}
        if settings.use_target_prompt
        else {"ref": "none (a fine-tuned target model)", "sha256": ""}
    )
    models = {"target": target.model, "baseline": baseline.model}

    async def answer(gateway: Gateway, system: str | None, prompt: str) -> str:
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        return await complete_text(
            gateway, messages, max_tokens=settings.max_tokens, temperature=settings.temperature
        )

    async def produce(plan: PairPlan) -> dict[str, Any]:
        targeted, plain = await asyncio.gather(
            answer(target, plan.system_prompt, plan.prompt), answer(baseline, None, plan.prompt)
        )
        if normalise(targeted) == normalise(plain):
            raise Dropped(IDENTICAL, {"context": plan.winner.context, "prompt_id": plan.prompt_id})
        return _record(snapshot, plan, targeted, plain, models, target_prompt)

    def estimate(plan: PairPlan) -> int:
        texts = [(plan.system_prompt or "") + plan.prompt, plan.prompt]
        return prompt_tokens_estimate(texts) + 2 * settings.max_tokens

    return await run_job(
        plans,
        produce,
        out_dir=out_dir,
        name=PAIRS,
        identity={
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "snapshot_content_hash": snapshot.content_hash,
            "target_model": models["target"],
            "baseline_model": models["baseline"],
            "target_prompt": target_prompt,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
        },
        concurrency=concurrency,
        max_tokens_total=max_tokens_total,
        estimate_tokens=estimate,
        progress=progress,
        description="ratification pairs",
        extra_manifest={
            "format": FORMAT,
            "snapshot": snapshot.summary(),
            "scenarios": dict(scenarios_source or {"file": None, "source": "questions"}),
            "per_context": per_context,
            "base_urls": dict(base_urls or {}),
            "contexts": len({p.winner.context for p in plans}),
        },
        ordered=True,
    )
