"""Evaluation: a model's answers judged against the winning values; two reports compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.cli import EXIT_OK, main
from inference.prompts import load_prompt
from inference.targets import Snapshot
from inference.testing import FakeLLMServer
from tests.inference_jobs.conftest import SCENARIOS_PER_CONTEXT, llm_args, read_jsonl


def script_judge(fake: FakeLLMServer, snapshot: Snapshot, attended_share: float) -> None:
    """The judge finds the first ``attended_share`` of each winner's policies attended."""
    for winner in snapshot.winners:
        value = snapshot.values[winner.value_id]
        count = len(value.policies)
        hits = round(count * attended_share)
        fake.script(
            {
                "json": {
                    "attended": [i < hits for i in range(count)],
                    "score": 4 if attended_share >= 0.5 else 2,
                    "reason": "scripted",
                },
                "match": f"The value: {value.title}\n{value.description}\n",
                "repeat": SCENARIOS_PER_CONTEXT,
            }
        )


def evaluate(
    fake: FakeLLMServer,
    snapshot_path: Path,
    scenarios_path: Path,
    out: Path,
    *,
    model: str,
    extra: tuple[str, ...] = (),
) -> int:
    args = llm_args(fake)
    args[args.index("fake-model")] = model
    return main(
        [
            "evaluate",
            str(snapshot_path),
            "--out",
            str(out),
            "--scenarios",
            str(scenarios_path),
            "--judge-model",
            "judge-model",
            *args,
            *extra,
        ]
    )


def test_answers_are_judged_against_the_winning_values_policies(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    script_judge(fake_llm, snapshot, 0.5)

    code = evaluate(fake_llm, snapshot_path, scenarios_path, tmp_path, model="model-a")

    assert code == EXIT_OK
    chats = fake_llm.chat_requests()
    answers = [b for b in chats if b["model"] == "model-a"]
    judged = [b for b in chats if b["model"] == "judge-model"]
    assert len(answers) == len(judged) == SCENARIOS_PER_CONTEXT * len(snapshot.winners)
    # The evaluated model saw only the scenario; the judge saw the value, the answer, a schema.
    assert all([m["role"] for m in b["messages"]] == ["user"] for b in answers)
    for body in judged:
        prompt = body["messages"][0]["content"]
        winner = next(w for w in snapshot.winners if f"Situation: {w.context}\n" in prompt)
        value = snapshot.values[winner.value_id]
        assert all(f"{i}. {p}" in prompt for i, p in enumerate(value.policies, start=1))
        assert "<answer>\nFake answer:" in prompt
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["properties"]["attended"]["minItems"] == len(value.policies)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"] == "model-a"
    assert report["judge_model"] == "judge-model"
    assert report["judge_prompt_sha256"] == load_prompt("adherence_judge").sha256
    assert report["snapshot"]["content_hash"] == snapshot.content_hash
    assert report["is_complete"] is True
    for context in report["contexts"]:
        count = len(snapshot.values[context["value_id"]].policies)
        assert context["n"] == SCENARIOS_PER_CONTEXT
        assert context["adherence"] == pytest.approx(round(count * 0.5) / count)
        assert context["score"] == 4
    assert report["overall"]["n"] == SCENARIOS_PER_CONTEXT * len(snapshot.winners)
    assert report["overall"]["share_high"] == 1.0
    records = read_jsonl(tmp_path / "answers.jsonl")
    assert all(r["answer"].startswith("Fake answer:") for r in records)
    table = (tmp_path / "report.txt").read_text()
    assert "model-a" in table
    assert "When in distress" in table
    assert "overall" in table


def test_an_evaluation_can_use_the_targets_system_prompt(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    main(["targets", str(snapshot_path), "--out", str(tmp_path / "targets")])
    system_prompt = tmp_path / "targets" / "system_prompt.md"

    code = evaluate(
        fake_llm,
        snapshot_path,
        scenarios_path,
        tmp_path / "eval",
        model="model-a",
        extra=("--system-prompt", str(system_prompt), "--limit", "3"),
    )

    assert code == EXIT_OK
    answers = [b for b in fake_llm.chat_requests() if b["model"] == "model-a"]
    assert len(answers) == 3
    assert all(b["messages"][0]["content"] == system_prompt.read_text() for b in answers)


def test_two_reports_compare_side_by_side(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script_judge(fake_llm, snapshot, 0.25)
    assert evaluate(fake_llm, snapshot_path, scenarios_path, tmp_path / "a", model="model-a") == 0
    script_judge(fake_llm, snapshot, 1.0)
    assert evaluate(fake_llm, snapshot_path, scenarios_path, tmp_path / "b", model="model-b") == 0
    capsys.readouterr()

    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b" / "report.json")]) == 0

    table = capsys.readouterr().out
    assert "A: model-a" in table
    assert "B: model-b" in table
    conflict = next(line for line in table.splitlines() if line.startswith("When in conflict"))
    assert "100%" in conflict
    assert "+" in conflict
    assert "overall (mean over answers)" in table
