"""Fine-tuning datasets from a snapshot: SFT, DPO and KTO (DESIGN §4.7).

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
dataset card, ``README.md``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from inference.engine import (
    COMPLETE,
    JobResult,
    complete_text,
    prompt_tokens_estimate,
    read_records,
    run_job,
)
from inference.gateway import Gateway
from inference.prompts import Prompt, load_prompt
from inference.scenarios import SCENARIOS_FILE, Scenario
from inference.targets import (
    ContextWinner,
    GraphEdge,
    Snapshot,
    ValueCard,
    support_phrase,
    write_text_atomic,
)

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
    settings = settings or GenerationSettings()
    prompt = load_prompt(GUIDED_PROMPT)
    generation = {
        "model": gateway.model,
        "prompt": prompt.ref,
        "prompt_sha256": prompt.sha256,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
    }
    identity = {
        "kind": kind,
        "format_version": FORMAT_VERSION,
        "snapshot_content_hash": snapshot.content_hash,
        **generation,
    }
    planned = plan_examples(snapshot, kind, scenarios, limit=limit)
    systems: dict[tuple[str, int], str] = {}

    def system_for(context: str, value: ValueCard) -> str:
        cache_key = (context, value.id)
        text = systems.get(cache_key)
        if text is None:
            text = systems[cache_key] = guidance(
                prompt, context, value, max_words=settings.max_words
            )
        return text

    async def answer(context: str, scenario: Scenario, value: ValueCard) -> str:
        messages = [
            {"role": "system", "content": system_for(context, value)},
            {"role": "user", "content": scenario.text},
        ]
        return await complete_text(
            gateway, messages, max_tokens=settings.max_tokens, temperature=settings.temperature
        )

    async def produce(example: PlannedExample) -> dict[str, Any]:
        context = example.winner.context
        if len(example.guides) == 1:  # no task for a lone request: less CPU per example
            texts = [await answer(context, example.scenario, example.guides[0].value)]
        else:
            texts = await asyncio.gather(
                *(answer(context, example.scenario, g.value) for g in example.guides)
            )
        answers = {g.role: text for g, text in zip(example.guides, texts, strict=True)}
        return build_example(snapshot, example, answers, generation)

    def estimate(example: PlannedExample) -> int:
        texts = [system_for(example.winner.context, g.value) for g in example.guides]
        prompt_part = prompt_tokens_estimate(texts) + len(example.guides) * prompt_tokens_estimate(
            [example.scenario.text]
        )
        return prompt_part + len(example.guides) * settings.max_tokens

    result = await run_job(
        planned,
        produce,
        out_dir=out_dir,
        name=kind,
        identity=identity,
        concurrency=concurrency,
        max_tokens_total=max_tokens_total,
        estimate_tokens=estimate,
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


# -- the dataset card ------------------------------------------------------------------------------

_FORMATS = {
    "sft": (
        "OpenAI chat fine-tuning format (also read by TRL's `SFTTrainer`): "
        '`{"messages": [{"role": "user", …}, {"role": "assistant", …}]}`. The assistant '
        "answer was written under the guidance of the context's winning value."
    ),
    "dpo": (
        "TRL conversational preference format: `prompt` (the user message), `chosen` and "
        "`rejected` (one assistant message each). For a kept edge A → B of the context (B "
        "judged wiser than A), `chosen` was guided by B and `rejected` by A."
    ),
    "kto": (
        "TRL unpaired preference format: `prompt`, `completion` (one assistant message) and "
        "`label`. `true`: guided by the context's winning value; `false`: guided by a value "
        "the winner directly beat (the less-wise side of a kept edge into the winner)."
    ),
}


def write_dataset_card(
    snapshot: Snapshot,
    kind: Kind,
    out_dir: Path,
    *,
    result: JobResult,
    generation: Mapping[str, Any],
    scenarios_source: Mapping[str, Any],
) -> Path:
    records = list(read_records(out_dir / f"{kind}.jsonl"))
    per_context: Counter[str] = Counter(r["provenance"]["context"] for r in records)
    labels: Counter[tuple[str, bool]] = Counter(
        (r["provenance"]["context"], bool(r["label"])) for r in records if kind == "kto"
    )
    scenario_counts: Counter[str] = Counter()
    for context, _scenario in {
        (r["provenance"]["context"], r["provenance"]["scenario_id"]) for r in records
    }:
        scenario_counts[context] += 1
    study = snapshot.study
    stats = snapshot.document["stats"]
    status = (
        "complete"
        if result.status == COMPLETE
        else f"**not complete** ({result.status}: {result.done} of {result.planned} examples; "
        "rerun the same command to continue)"
    )
    header = ["context", "winning value", "support", "scenarios", "examples"]
    if kind == "kto":
        header += ["desirable", "undesirable"]
    rows = []
    for winner in snapshot.winners:
        row = [
            winner.context,
            f"{snapshot.values[winner.value_id].title} (#{winner.value_id})",
            support_phrase(winner),
            str(scenario_counts[winner.context]),
            str(per_context[winner.context]),
        ]
        if kind == "kto":
            row += [str(labels[(winner.context, True)]), str(labels[(winner.context, False)])]
        rows.append(row)
    table = _markdown_table(header, rows)
    text = f"""---
pretty_name: "{kind.upper()} data from the moral graph of {study["title"]}"
license: other
tags: [moral-graph, alignment, {kind}]
configs:
  - config_name: default
    data_files: {kind}.jsonl
---

# {kind.upper()} examples from the moral graph of "{study["title"]}"

Status: {status}. {len(records)} examples in `{kind}.jsonl`.

## Source

- Snapshot content hash: `{snapshot.content_hash}` (snapshot id `{snapshot.snapshot_id}`,
  created {snapshot.document["created_at"]}, scoring `{snapshot.document["scoring_version"]}`,
  {snapshot.document["parameters"]["mode"]} mode)
- Study: `{study["slug"]}`, {stats["participants"]} participants, {stats["votes"]} votes in scope
- Scenarios: `{scenarios_source.get("file", "?")}` (sha256 `{scenarios_source.get("sha256", "?")}`)

## Format

{_FORMATS[kind]}

Every line also has `key` (`{kind}|ctx=<context id>|scn=<scenario id>|values=<value ids>`,
unique; a rerun skips keys already present) and `provenance`: the snapshot content hash, the
context, the scenario id, the guiding value ids and their roles, the winner's support and
win probability, the vote counts of the edge that justifies the example (`edge`, `edges`),
and the generation settings. Drop the two fields for uploads that accept only the training
fields, e.g. `jq -c '{{messages}}' sft.jsonl`.

```python
import datasets
data = datasets.load_dataset("json", data_files="{kind}.jsonl", split="train")
```

## Counts per context

{table}

## Generation

- Model: `{generation["model"]}`, temperature {generation["temperature"]}, at most
  {generation["max_tokens"]} tokens per answer
- Prompt: `{generation["prompt"]}` (sha256 `{generation["prompt_sha256"]}`), as the system
  message, with the scenario as the user message; the guidance is not in the examples
- Tokens used by the last run: {result.tokens_used:,}

## Licence

No licence is granted by this card. The answers were written by `{generation["model"]}` and
are subject to that model's licence and terms of use; the values and judgements come from
the participants of "{study["title"]}", under the terms of that study's consent and data
release. Check both before training on or sharing this data, and state a licence when you
publish it.
"""
    path = out_dir / "README.md"
    write_text_atomic(path, text)
    return path


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def default_scenarios_path(out_dir: Path) -> Path:
    return out_dir / "scenarios" / SCENARIOS_FILE
