"""Evaluate any OpenAI-compatible model against the winning values of a snapshot.

For each context with a winner and each of its scenarios, the evaluated model answers the
scenario (optionally under a system prompt, e.g. the targets' ``system_prompt.md``, to test
in-context alignment); a judge model (its own base URL and model) reads the winning value and
the answer (``inference/prompts/adherence_judge.v1.md``) and says, for each of the value's
policies, whether the answer attends to it, and rates the whole answer 1–5.

Adherence of an answer = the share of the value's policies it attends to. The report gives,
per context and overall (the mean over answers, and the mean over contexts), the adherence,
the mean score and the share of answers scored 4 or 5: ``report.json`` and ``report.txt``.
``compare_reports`` sets two reports side by side (both in ``inference.evaluation_report``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.engine import (
    COMPLETE,
    JobResult,
    complete_text,
    prompt_tokens_estimate,
    read_records,
    run_job,
)
from inference.evaluation_report import build_report, report_table
from inference.gateway import Gateway
from inference.prompts import load_prompt
from inference.scenarios import Scenario
from inference.targets import ContextWinner, Snapshot, ValueCard, write_text_atomic

JUDGE_PROMPT = "adherence_judge"
ANSWERS = "answers"


def judge_schema(policy_count: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "attended": {
                "type": "array",
                "items": {"type": "boolean"},
                "minItems": policy_count,
                "maxItems": policy_count,
            },
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "reason": {"type": "string"},
        },
        "required": ["attended", "score", "reason"],
        "additionalProperties": False,
    }


@dataclass(frozen=True, slots=True)
class EvaluationItem:
    winner: ContextWinner
    value: ValueCard
    scenario: Scenario

    @property
    def key(self) -> str:
        return f"eval|ctx={self.winner.context_id}|scn={self.scenario.id}|values={self.value.id}"


@dataclass(frozen=True)
class ModelSpec:
    """Who answers or judges: a gateway and where it points (recorded in the report)."""

    gateway: Gateway
    base_url: str


class _Evaluator:
    """Has the model answer one item, then the judge read the answer against the value."""

    def __init__(
        self,
        snapshot: Snapshot,
        answerer: ModelSpec,
        judge: ModelSpec,
        *,
        system_prompt: str | None,
        max_tokens: int,
        temperature: float | None,
    ) -> None:
        self.snapshot = snapshot
        self.answerer = answerer
        self.judge = judge
        self.prompt = load_prompt(JUDGE_PROMPT)
        self.system_prompt = system_prompt
        self.max_tokens = max_tokens
        self.temperature = temperature

    def setup(self, system_prompt_source: str | None) -> dict[str, Any]:
        """Who answered and judged, and how: recorded in the report."""
        system_prompt = self.system_prompt
        return {
            "model": self.answerer.gateway.model,
            "base_url": self.answerer.base_url,
            "judge_model": self.judge.gateway.model,
            "judge_base_url": self.judge.base_url,
            "judge_prompt": self.prompt.ref,
            "judge_prompt_sha256": self.prompt.sha256,
            "system_prompt_sha256": (
                hashlib.sha256(system_prompt.encode()).hexdigest() if system_prompt else None
            ),
            "system_prompt_source": system_prompt_source,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

    async def produce(self, item: EvaluationItem) -> dict[str, Any]:
        messages = [{"role": "user", "content": item.scenario.text}]
        if self.system_prompt:
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        answer = await complete_text(
            self.answerer.gateway,
            messages,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
        )
        verdict = await self._verdict(item, answer)
        attended = [bool(flag) for flag in verdict["attended"]]
        return {
            "key": item.key,
            "context": item.winner.context,
            "context_id": item.winner.context_id,
            "scenario_id": item.scenario.id,
            "scenario": item.scenario.text,
            "value_id": item.value.id,
            "answer": answer,
            "attended": attended,
            "adherence": sum(attended) / len(attended) if attended else 0.0,
            "score": int(verdict["score"]),
            "reason": str(verdict["reason"]),
            "snapshot_content_hash": self.snapshot.content_hash,
        }

    async def _verdict(self, item: EvaluationItem, answer: str) -> dict[str, Any]:
        policies = item.value.policies
        content = self.prompt.render(
            context=item.winner.context,
            value_title=item.value.title,
            value_description=item.value.description,
            value_policies="\n".join(
                f"{i}. {policy}" for i, policy in enumerate(policies, start=1)
            ),
            policy_count=len(policies),
            scenario=item.scenario.text,
            answer=answer,
        )
        return await self.judge.gateway.structured(
            [{"role": "user", "content": content}],
            schema=judge_schema(len(policies)),
            name="adherence",
            temperature=0.0,
        )

    def estimate(self, item: EvaluationItem) -> int:
        texts = [item.scenario.text, self.prompt.text, *item.value.policies]
        return prompt_tokens_estimate([*texts, self.system_prompt or ""]) + 2 * self.max_tokens


async def evaluate_model(
    snapshot: Snapshot,
    scenarios: Mapping[str, Sequence[Scenario]],
    answerer: ModelSpec,
    judge: ModelSpec,
    *,
    out_dir: Path,
    system_prompt: str | None = None,
    system_prompt_source: str | None = None,
    max_tokens: int = 700,
    temperature: float | None = None,
    concurrency: int = 64,
    max_tokens_total: int | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> tuple[JobResult, dict[str, Any]]:
    """Answer, judge, and write ``answers.jsonl``, ``report.json`` and ``report.txt``."""
    evaluator = _Evaluator(
        snapshot,
        answerer,
        judge,
        system_prompt=system_prompt,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    setup = evaluator.setup(system_prompt_source)
    items = [
        EvaluationItem(winner, snapshot.values[winner.value_id], scenario)
        for winner in snapshot.winners
        for scenario in scenarios.get(winner.context, ())
    ]
    if limit is not None:
        items = items[:limit]
    result = await run_job(
        items,
        evaluator.produce,
        out_dir=out_dir,
        name=ANSWERS,
        identity={
            "kind": "evaluation",
            "snapshot_content_hash": snapshot.content_hash,
            **{k: v for k, v in setup.items() if k != "system_prompt_source"},
        },
        concurrency=concurrency,
        max_tokens_total=max_tokens_total,
        estimate_tokens=evaluator.estimate,
        progress=progress,
        description="evaluation",
        extra_manifest={"snapshot": snapshot.summary()},
    )
    keys = {item.key for item in items}
    records = [r for r in read_records(out_dir / f"{ANSWERS}.jsonl") if r["key"] in keys]
    report = build_report(snapshot, records, setup, is_complete=result.status == COMPLETE)
    report["planned"] = len(items)
    write_text_atomic(
        out_dir / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    )
    write_text_atomic(out_dir / "report.txt", report_table(report))
    return result, report
