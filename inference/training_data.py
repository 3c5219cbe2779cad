"""Fine-tuning datasets from a snapshot: SFT, DPO and KTO.

Each example pairs a scenario (a user message in a context) with answers the generation
model wrote while guided by one value of the graph (``inference/prompts/guided_answer.v1.md``
as the system message, the scenario as the user message). The guidance is not part of the
example: a model trained on it should answer in that spirit unprompted.

- ``sft``: the context's winning value guides the answer. One example per (context,
  scenario), in the OpenAI chat fine-tuning format (``{"messages": [user, assistant]}``),
  which TRL's SFT trainer also reads.
- ``dpo``: for every kept edge of the context (``from`` → ``to``, ``to`` the wiser), an answer
  guided by ``to`` is ``chosen`` and one guided by ``from`` is ``rejected``. TRL's
  conversational preference format: ``prompt`` / ``chosen`` / ``rejected`` message lists.
- ``kto``: unpaired binary labels (TRL's ``prompt`` / ``completion`` / ``label``). The answer
  guided by the winner is desirable; answers guided by each value the winner directly beat
  (the ``from`` of a kept edge into the winner, in this context) are undesirable. A value in
  the middle of the graph is never labelled, since it is wiser than some values and less wise
  than others and one label would contradict the votes.

Every example carries ``key`` (kind, context, scenario, values: a rerun resumes instead of
duplicating) and ``provenance`` (snapshot content hash, the values and their roles, the
context, the winner's support and the vote counts of the edge(s) that justify it, the
generation model and prompt hash). The folder also gets ``manifest.json`` (job state) and a
dataset card, ``README.md`` (``inference.dataset_card``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from inference.dataset_card import write_dataset_card
from inference.engine import JobResult, complete_text, prompt_tokens_estimate, run_job
from inference.gateway import Gateway
from inference.prompts import Prompt, load_prompt
from inference.scenarios import Scenario
from inference.targets import ContextWinner, GraphEdge, Snapshot, ValueCard

Kind = Literal["sft", "dpo", "kto"]
KINDS: tuple[Kind, ...] = ("sft", "dpo", "kto")
GUIDED_PROMPT = "guided_answer"
DEFAULT_MAX_TOKENS = 700
DEFAULT_TEMPERATURE = 0.7
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Guide:
    """One answer to generate: which value guides it and what it becomes in the example."""

    role: str  # "answer" (sft), "chosen"/"rejected" (dpo), "completion" (kto)
    value: ValueCard


@dataclass(frozen=True, slots=True)
class PlannedExample:
    kind: Kind
    winner: ContextWinner
    scenario: Scenario
    guides: tuple[Guide, ...]
    edge: GraphEdge | None = None  # dpo, and kto's undesirable examples
    label: bool | None = None  # kto

    @property
    def key(self) -> str:
        return (
            f"{self.kind}|ctx={self.winner.context_id}|scn={self.scenario.id}"
            f"|values={self.values_part}"
        )

    @property
    def values_part(self) -> str:
        if self.edge is not None:
            return f"{self.edge.from_id}>{self.edge.to_id}"
        return "+".join(str(g.value.id) for g in self.guides)


def plan_examples(
    snapshot: Snapshot,
    kind: Kind,
    scenarios: Mapping[str, Sequence[Scenario]],
    *,
    limit: int | None = None,
) -> list[PlannedExample]:
    """Every example of ``kind`` the snapshot and the scenarios justify, in a fixed order."""
    planned: list[PlannedExample] = []
    for winner in snapshot.winners:
        winning = snapshot.values[winner.value_id]
        edges = snapshot.kept_edges_in(winner.context)
        for scenario in scenarios.get(winner.context, ()):
            if kind == "sft":
                planned.append(PlannedExample(kind, winner, scenario, (Guide("answer", winning),)))
            elif kind == "dpo":
                for edge in edges:
                    guides = (
                        Guide("chosen", snapshot.values[edge.to_id]),
                        Guide("rejected", snapshot.values[edge.from_id]),
                    )
                    planned.append(PlannedExample(kind, winner, scenario, guides, edge=edge))
            else:
                planned.append(
                    PlannedExample(
                        kind, winner, scenario, (Guide("completion", winning),), label=True
                    )
                )
                for edge in edges:
                    if edge.to_id != winner.value_id:
                        continue
                    beaten = snapshot.values[edge.from_id]
                    planned.append(
                        PlannedExample(
                            kind,
                            winner,
                            scenario,
                            (Guide("completion", beaten),),
                            edge=edge,
                            label=False,
                        )
                    )
    return planned[:limit] if limit is not None else planned


def guidance(prompt: Prompt, context: str, value: ValueCard, *, max_words: int) -> str:
    return prompt.render(
        context=context,
        value_title=value.title,
        value_description=value.description,
        value_policies="\n".join(f"- {policy}" for policy in value.policies),
        max_words=max_words,
    )


@dataclass(frozen=True)
class GenerationSettings:
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float | None = DEFAULT_TEMPERATURE

    @property
    def max_words(self) -> int:
        # About 0.7 words per token, with room to finish the last sentence.
        return max(30, int(self.max_tokens * 0.6))


def build_example(
    snapshot: Snapshot,
    planned: PlannedExample,
    answers: Mapping[str, str],
    generation: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSONL record of one example, from its plan and the generated answers."""
    prompt_messages = [{"role": "user", "content": planned.scenario.text}]
    winner = planned.winner
    into_winner = [
        e.evidence() for e in snapshot.kept_edges_in(winner.context) if e.to_id == winner.value_id
    ]
    provenance: dict[str, Any] = {
        "snapshot_content_hash": snapshot.content_hash,
        "snapshot_id": snapshot.snapshot_id,
        "context": winner.context,
        "context_id": winner.context_id,
        "scenario_id": planned.scenario.id,
        "value_ids": [g.value.id for g in planned.guides],
        "values": [
            {
                "role": g.role,
                "value_id": g.value.id,
                "source_id": g.value.source_id,
                "title": g.value.title,
            }
            for g in planned.guides
        ],
        "winner": {
            "value_id": winner.value_id,
            "support": winner.support,
            "win_probability": winner.win_probability,
            "score": winner.score,
        },
        "generation": dict(generation),
    }
    record: dict[str, Any] = {"key": planned.key}
    if planned.kind == "sft":
        provenance["edges"] = into_winner
        record["messages"] = [
            *prompt_messages,
            {"role": "assistant", "content": answers["answer"]},
        ]
    elif planned.kind == "dpo":
        assert planned.edge is not None
        provenance["edge"] = planned.edge.evidence()
        record["prompt"] = prompt_messages
        record["chosen"] = [{"role": "assistant", "content": answers["chosen"]}]
        record["rejected"] = [{"role": "assistant", "content": answers["rejected"]}]
    else:
        provenance["edge"] = planned.edge.evidence() if planned.edge is not None else None
        provenance["edges"] = into_winner if planned.label else []
        record["prompt"] = prompt_messages
        record["completion"] = [{"role": "assistant", "content": answers["completion"]}]
        record["label"] = bool(planned.label)
    record["provenance"] = provenance
    return record


class _Answerer:
    """Writes the answers of planned examples: one request per guide, its value's guidance
    as the system message (rendered once per context and value)."""

    def __init__(self, gateway: Gateway, prompt: Prompt, settings: GenerationSettings) -> None:
        self.gateway = gateway
        self.prompt = prompt
        self.settings = settings
        self._systems: dict[tuple[str, int], str] = {}

    def generation(self) -> dict[str, Any]:
        """How the answers are written: recorded in every example and in the job's identity."""
        return {
            "model": self.gateway.model,
            "prompt": self.prompt.ref,
            "prompt_sha256": self.prompt.sha256,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }

    def system_for(self, context: str, value: ValueCard) -> str:
        cache_key = (context, value.id)
        text = self._systems.get(cache_key)
        if text is None:
            text = self._systems[cache_key] = guidance(
                self.prompt, context, value, max_words=self.settings.max_words
            )
        return text

    async def answer(self, context: str, scenario: Scenario, value: ValueCard) -> str:
        messages = [
            {"role": "system", "content": self.system_for(context, value)},
            {"role": "user", "content": scenario.text},
        ]
        return await complete_text(
            self.gateway,
            messages,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
        )

    async def answers(self, example: PlannedExample) -> dict[str, str]:
        """Each guide's answer, by the guide's role."""
        context = example.winner.context
        if len(example.guides) == 1:  # no task for a lone request: less CPU per example
            texts = [await self.answer(context, example.scenario, example.guides[0].value)]
        else:
            texts = await asyncio.gather(
                *(self.answer(context, example.scenario, g.value) for g in example.guides)
            )
        return {g.role: text for g, text in zip(example.guides, texts, strict=True)}

    def estimate(self, example: PlannedExample) -> int:
        """Tokens an example may take: its prompts, and the answers at their longest."""
        guides = len(example.guides)
        texts = [self.system_for(example.winner.context, g.value) for g in example.guides]
        prompt_part = prompt_tokens_estimate(texts) + guides * prompt_tokens_estimate(
            [example.scenario.text]
        )
        return prompt_part + guides * self.settings.max_tokens


async def generate_dataset(
    snapshot: Snapshot,
    kind: Kind,
    scenarios: Mapping[str, Sequence[Scenario]],
    gateway: Gateway,
    *,
    out_dir: Path,
    settings: GenerationSettings | None = None,
    concurrency: int = 64,
    max_tokens_total: int | None = None,
    limit: int | None = None,
    progress: bool = True,
    scenarios_source: Mapping[str, Any] | None = None,
    base_url: str | None = None,
) -> JobResult:
    """Generate (or resume) ``out_dir/<kind>.jsonl`` and write its dataset card."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; one of {', '.join(KINDS)}")
    answerer = _Answerer(gateway, load_prompt(GUIDED_PROMPT), settings or GenerationSettings())
    generation = answerer.generation()

    async def produce(example: PlannedExample) -> dict[str, Any]:
        return build_example(snapshot, example, await answerer.answers(example), generation)

    result = await run_job(
        plan_examples(snapshot, kind, scenarios, limit=limit),
        produce,
        out_dir=out_dir,
        name=kind,
        identity={
            "kind": kind,
            "format_version": FORMAT_VERSION,
            "snapshot_content_hash": snapshot.content_hash,
            **generation,
        },
        concurrency=concurrency,
        max_tokens_total=max_tokens_total,
        estimate_tokens=answerer.estimate,
        progress=progress,
        description=f"{kind} examples",
        extra_manifest={
            "snapshot": snapshot.summary(),
            "scenarios": dict(scenarios_source or {}),
            "base_url": base_url,
        },
    )
    write_dataset_card(
        snapshot,
        kind,
        out_dir,
        result=result,
        generation=generation,
        scenarios_source=scenarios_source or {},
    )
    return result


def scenarios_fingerprint(path: Path) -> dict[str, Any]:
    """What a dataset records about the scenarios file it used."""
    return {
        "file": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None,
    }
