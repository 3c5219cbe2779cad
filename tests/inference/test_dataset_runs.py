"""How dataset runs behave: one generation per answer across kinds, the same bytes on every
run, the manifest's tokens right after a resume, and `scenarios` failing when short."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inference.cli import EXIT_OK, EXIT_SHORT, main
from inference.engine import run_job
from inference.scenarios import load_scenarios
from inference.targets import Snapshot
from inference.testing import FakeLLMServer
from inference.training_data import plan_examples
from tests.inference_jobs.conftest import llm_args, read_jsonl, run_dataset, script_answers_by_value


def answer_requests(fake: FakeLLMServer) -> list[tuple[str, str]]:
    """(system, user) of every chat request received."""
    return [
        (body["messages"][0]["content"], body["messages"][-1]["content"])
        for body in fake.chat_requests()
    ]


def test_one_generation_per_answer_serves_every_kind(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    script_answers_by_value(fake_llm, snapshot)
    answers = tmp_path / "answers"

    code = run_dataset(
        "dpo", fake_llm, snapshot_path, scenarios_path, tmp_path / "dpo", "--answers", str(answers)
    )

    assert code == EXIT_OK
    asked = answer_requests(fake_llm)
    # DPO asks once per (context, value, scenario), not once per edge end.
    assert len(asked) == len(set(asked))
    pairs = read_jsonl(tmp_path / "dpo" / "dpo.jsonl")
    assert len(asked) < 2 * len(pairs)
    # SFT and KTO then find every answer they need already written.
    for kind in ("sft", "kto"):
        fake_llm.reset()
        script_answers_by_value(fake_llm, snapshot)
        out = tmp_path / kind
        code = run_dataset(
            kind, fake_llm, snapshot_path, scenarios_path, out, "--answers", str(answers)
        )
        assert code == EXIT_OK
        assert fake_llm.chat_requests() == []
        assert read_jsonl(out / f"{kind}.jsonl")
    # The answer under the winner is the same text in all three datasets.
    sft = read_jsonl(tmp_path / "sft" / "sft.jsonl")[0]
    scenario = sft["provenance"]["scenario_id"]
    winner = sft["provenance"]["winner"]["value_id"]
    kto = next(
        r
        for r in read_jsonl(tmp_path / "kto" / "kto.jsonl")
        if r["label"] and r["provenance"]["scenario_id"] == scenario
    )
    dpo = next(
        r
        for r in pairs
        if r["provenance"]["scenario_id"] == scenario and r["provenance"]["edge"]["to"] == winner
    )
    assert sft["messages"][1] == kto["completion"][0] == dpo["chosen"][0]


def test_two_runs_write_byte_identical_files_in_plan_order(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    scenarios = load_scenarios(scenarios_path, snapshot)
    planned = [p.key for p in plan_examples(snapshot, "sft", scenarios)]
    texts = [p.scenario.text for p in plan_examples(snapshot, "sft", scenarios)]
    outputs = []
    # Each run holds back a different scenario's answers, so the examples finish in a
    # different order each time.
    for run, slow in enumerate((texts[0], texts[-1])):
        fake_llm.reset()
        fake_llm.script({"match": slow, "delay_s": 0.3, "repeat": 100})
        out = tmp_path / f"run{run}"
        code = run_dataset(
            "sft", fake_llm, snapshot_path, scenarios_path, out, "--concurrency", "8"
        )
        assert code == EXIT_OK
        outputs.append((out / "sft.jsonl").read_bytes())

    assert outputs[0] == outputs[1]
    assert [r["key"] for r in read_jsonl(tmp_path / "run0" / "sft.jsonl")] == planned


@pytest.mark.anyio
async def test_the_manifest_counts_a_killed_runs_tokens_from_the_start_of_the_resume(
    tmp_path: Path,
) -> None:
    # A run that was killed: its last checkpoint said 40 tokens so far, on top of 100.
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "job": "demo",
                "identity": {"kind": "demo"},
                "status": "running",
                "runs": [{"status": "finished"}, {"status": "running"}],
                "tokens_used": 100,
                "tokens_used_this_run": 40,
            }
        )
    )
    seen: list[dict[str, Any]] = []

    class Item:
        def __init__(self, key: str) -> None:
            self.key = key

    async def produce(item: Item) -> dict[str, Any]:
        seen.append(json.loads((tmp_path / "manifest.json").read_text()))
        return {"key": item.key}

    result = await run_job(
        [Item("a")],
        produce,
        out_dir=tmp_path,
        name="demo",
        identity={"kind": "demo"},
        progress=False,
    )

    assert result.is_complete
    (at_start,) = seen
    assert at_start["tokens_used"] == 140
    assert at_start["tokens_used_this_run"] == 0
    assert at_start["runs"][1] == {"status": "did_not_finish", "tokens_used": 40}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["tokens_used"] == 140
    assert [run["status"] for run in manifest["runs"]] == [
        "finished",
        "did_not_finish",
        "complete",
    ]


def test_scenarios_short_of_the_target_exit_non_zero_and_keep_what_was_found(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Every batch brings the same single message: one distinct scenario per context.
    for winner in snapshot.winners:
        fake_llm.script(
            {
                "json": {"scenarios": [f"Only ever this about {winner.context}."]},
                "match": f"Situation: {winner.context}\n",
                "repeat": 100,
            }
        )
    args = ["scenarios", str(snapshot_path), "--out", str(tmp_path), "--per-context", "3"]

    code = main([*args, "--max-rounds", "2", *llm_args(fake_llm)])

    assert code == EXIT_SHORT
    err = capsys.readouterr().err
    assert "Short of the target after 2 round(s)" in err
    assert f"{len(snapshot.winners)} context(s) have fewer than 3" in err
    found = read_jsonl(tmp_path / "scenarios.jsonl")
    assert len(found) == len(snapshot.winners)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["scenarios"]["total"] == len(snapshot.winners)
