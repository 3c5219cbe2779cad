"""Fine-tuning datasets from a snapshot: SFT, DPO and KTO.

Each example pairs a scenario (a user message in a context) with answers the generation
model wrote while guided by one value of the graph (``inference.answer_store``: the
guidance as the system message, the scenario as the user message, each answer generated once
and shared by every kind). The guidance is not part of the example: a model trained on it
should answer in that spirit unprompted. Which examples exist is the plan
(``inference.dataset_plan``), under the uncertainty rules (``inference.uncertainty``).

- ``sft``: the context's winning value guides the answer. One example per (context,
  scenario), in the OpenAI chat fine-tuning format (``{"messages": [user, assistant]}``),
  which TRL's SFT trainer also reads.
- ``dpo``: for every kept edge of the context (``from`` → ``to``, ``to`` the wiser), an answer
  guided by ``to`` is ``chosen`` and one guided by ``from`` is ``rejected``. TRL's
  conversational preference format: ``prompt`` / ``chosen`` / ``rejected`` message lists.
- ``kto``: unpaired binary labels (TRL's ``prompt`` / ``completion`` / ``label``). The answer
  guided by the winner is desirable; answers guided by each value that clearly lost to the
  winner in this context are undesirable.

Pairs (DPO's, and each KTO undesirable answer with the winner's answer to the same scenario)
pass ``inference.pair_quality``; a pair that fails is dropped, recorded with its reason in
``<kind>.dropped.jsonl`` and counted in the manifest and the card.

Every example carries ``key`` (kind, context, scenario, values: a rerun resumes instead of
duplicating), ``weight`` (``inference.uncertainty``) and ``provenance`` (snapshot content
hash, the values and their roles, the context and its questions, the winner's support, win
probability and ties, the vote counts and interval of the edge(s) that justify it, the
generation model and prompt hash, and for pairs the judge's verdict). The lines are in plan
order, so the same plan and answers give the same bytes. The folder also gets
``manifest.json`` (job state) and a dataset card, ``README.md`` (``inference.dataset_card``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inference.answer_store import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    GUIDED_PROMPT,
    AnswerRequest,
    AnswerStore,
    GenerationSettings,
    guidance,
)
from inference.dataset_card import write_dataset_card
from inference.dataset_plan import (
    KINDS,
    Guide,
    Kind,
    PlannedExample,
    plan_dataset,
    plan_examples,
)
from inference.engine import Dropped, JobResult, run_job
from inference.gateway import Gateway
from inference.pair_quality import Verdict, judge_pair
from inference.scenarios import Scenario
from inference.targets import Snapshot
from inference.uncertainty import Thresholds, question_ids, tied_value_ids

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_TEMPERATURE",
    "FORMAT_VERSION",
    "GUIDED_PROMPT",
    "KINDS",
    "GenerationSettings",
    "Guide",
    "Kind",
    "PlannedExample",
    "build_example",
    "generate_dataset",
    "guidance",
    "plan_dataset",
    "plan_examples",
    "scenarios_fingerprint",
]

FORMAT_VERSION = 2  # 2: weight, ties, questions and the pair verdict on every line
REFERENCE = "reference"  # kto: the winner's answer an undesirable one is judged against


def build_example(
    snapshot: Snapshot,
    planned: PlannedExample,
    answers: Mapping[str, str],
    generation: Mapping[str, Any],
    verdict: Verdict | None = None,
) -> dict[str, Any]:
    """The JSONL record of one example, from its plan and the generated answers."""
    prompt_messages = [{"role": "user", "content": planned.scenario.text}]
    winner = planned.winner
    into_winner = [
        e.evidence() for e in snapshot.kept_edges_in(winner.context) if e.to_id == winner.value_id
    ]
    questions = question_ids(snapshot, winner.context)
    provenance: dict[str, Any] = {
        "snapshot_content_hash": snapshot.content_hash,
        "snapshot_id": snapshot.snapshot_id,
        "context": winner.context,
        "context_id": winner.context_id,
        "question_ids": list(questions) if questions is not None else None,
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
            "tied_value_ids": list(tied_value_ids(snapshot, winner)),
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
    if verdict is not None:
        provenance["pair_quality"] = verdict.as_json()
    record["weight"] = planned.weight
    record["provenance"] = provenance
    return record


def answer_requests(snapshot: Snapshot, example: PlannedExample) -> dict[str, AnswerRequest]:
    """The answers an example needs, by role (KTO's undesirable ones also need the winner's,
    to be judged against)."""
    winner = example.winner

    def request(value_id: int) -> AnswerRequest:
        return AnswerRequest(
            winner.context, winner.context_id, example.scenario, snapshot.values[value_id]
        )

    requests = {g.role: request(g.value.id) for g in example.guides}
    if example.kind == "kto" and example.label is False:
        requests[REFERENCE] = request(winner.value_id)
    return requests


def judge(
    snapshot: Snapshot, example: PlannedExample, answers: Mapping[str, str]
) -> Verdict | None:
    """The pair check of a DPO pair or a KTO undesirable answer (None for the others)."""
    edge = example.edge
    if edge is None:
        return None
    wiser, less_wise = snapshot.values[edge.to_id], snapshot.values[edge.from_id]
    if example.kind == "dpo":
        return judge_pair(answers["chosen"], answers["rejected"], wiser, less_wise)
    return judge_pair(answers[REFERENCE], answers["completion"], wiser, less_wise)


async def generate_dataset(
    snapshot: Snapshot,
    kind: Kind,
    scenarios: Mapping[str, Sequence[Scenario]],
    gateway: Gateway,
    *,
    out_dir: Path,
    settings: GenerationSettings | None = None,
    thresholds: Thresholds | None = None,
    answers_dir: Path | None = None,
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
    plan = plan_dataset(snapshot, kind, scenarios, thresholds=thresholds, limit=limit)
    answers_dir = answers_dir or out_dir / "answers"
    store = AnswerStore(gateway, answers_dir, settings)
    generation = store.generation()
    requests = {e.key: answer_requests(snapshot, e) for e in plan.examples}

    async def produce(example: PlannedExample) -> dict[str, Any]:
        answers = await store.answers(requests[example.key])
        verdict = judge(snapshot, example, answers)
        if verdict is not None and not verdict.is_kept:
            raise Dropped(
                verdict.verdict,
                {
                    "context": example.winner.context,
                    "scenario_id": example.scenario.id,
                    "value_ids": [g.value.id for g in example.guides],
                    "pair_quality": verdict.as_json(),
                },
            )
        return build_example(snapshot, example, answers, generation, verdict)

    store.open(r for example_requests in requests.values() for r in example_requests.values())
    try:
        result = await run_job(
            plan.examples,
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
            estimate_tokens=lambda e: store.estimate(requests[e.key].values()),
            progress=progress,
            description=f"{kind} examples",
            extra_manifest={
                "snapshot": snapshot.summary(),
                "scenarios": dict(scenarios_source or {}),
                "answers": relative_path(answers_dir, out_dir),
                "base_url": base_url,
                "selection": plan.as_json(),
            },
            ordered=True,
        )
    finally:
        store.close()
    write_dataset_card(
        snapshot,
        kind,
        out_dir,
        result=result,
        generation=generation,
        scenarios_source=scenarios_source or {},
        selection=plan.as_json(),
    )
    return result


def relative_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies inside it, else just its name: outputs
    never record where on this machine they were made."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.name


def scenarios_fingerprint(path: Path, out_dir: Path | None = None) -> dict[str, Any]:
    """What a dataset records about the scenarios file it used (its path relative to the
    dataset's folder, or its name only)."""
    return {
        "file": relative_path(path, out_dir) if out_dir is not None else path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None,
    }
