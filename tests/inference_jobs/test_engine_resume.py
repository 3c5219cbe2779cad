"""The engine under failure: a killed run resumes, a budget stops cleanly, retries are right."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.cli import EXIT_BUDGET, EXIT_FAILED, EXIT_OK, main
from inference.engine import read_keys
from inference.scenarios import load_scenarios
from inference.targets import Snapshot
from inference.testing import FakeLLMServer
from inference.training_data import plan_examples
from inference.uncertainty import Thresholds, left_out
from tests.inference_jobs.conftest import (
    SCENARIOS_PER_CONTEXT,
    llm_args,
    read_jsonl,
    script_answers_by_value,
)

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 30.0


def dataset_args(
    kind: str, fake: FakeLLMServer, snapshot_path: Path, scenarios_path: Path, out: Path
) -> list[str]:
    return [
        "dataset",
        str(snapshot_path),
        "--kind",
        kind,
        "--out",
        str(out),
        "--scenarios",
        str(scenarios_path),
        *llm_args(fake),
    ]


def sft_planned(snapshot: Snapshot) -> int:
    """SFT examples of the default plan: contested winners are left out."""
    kept = [w for w in snapshot.winners if left_out(snapshot, w, Thresholds()) is None]
    return SCENARIOS_PER_CONTEXT * len(kept)


def assert_one_per_key(path: Path, planned: int) -> list[str]:
    keys = [record["key"] for record in read_jsonl(path)]
    assert len(keys) == len(set(keys)) == planned
    return keys


def test_a_killed_run_resumes_with_exactly_one_example_per_key(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    fake_llm.configure(delay_s=0.02)
    script_answers_by_value(fake_llm, snapshot)
    out = tmp_path / "dpo"
    args = dataset_args("dpo", fake_llm, snapshot_path, scenarios_path, out)
    args[args.index("--retries")] = "--concurrency"
    args[args.index("--concurrency") + 1] = "2"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "inference", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    jsonl = out / "dpo.jsonl"
    deadline = time.monotonic() + DEADLINE_S
    try:
        while not (jsonl.exists() and jsonl.read_bytes().count(b"\n") >= 5):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the dataset command wrote nothing in time"
            time.sleep(0.01)  # poll interval, bounded by the deadline
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
    planned = SCENARIOS_PER_CONTEXT * sum(
        len(snapshot.kept_edges_in(w.context)) for w in snapshot.winners
    )
    kept_before = len(read_keys(jsonl))
    assert 5 <= kept_before < planned
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running"  # it never got to say otherwise
    killed_tokens = int(manifest.get("tokens_used_this_run", 0))
    # A crash mid-write leaves half a line: the rerun must cut it off, not choke on it.
    with jsonl.open("ab") as handle:
        handle.write(b'{"key": "dpo|ctx=1|scn=torn')
    answers_before = len(read_keys(out / "answers" / "answers.jsonl"))
    needed = {
        (example.winner.context, example.scenario.id, guide.value.id)
        for example in plan_examples(snapshot, "dpo", load_scenarios(scenarios_path, snapshot))
        for guide in example.guides
    }
    fake_llm.reset()
    script_answers_by_value(fake_llm, snapshot)

    assert main(dataset_args("dpo", fake_llm, snapshot_path, scenarios_path, out)) == EXIT_OK

    assert_one_per_key(jsonl, planned)
    # Answers written before the kill were not generated again: one request per answer
    # still missing, each once.
    assert len(fake_llm.chat_requests()) == len(needed) - answers_before
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert [run["status"] for run in manifest["runs"]] == ["did_not_finish", "complete"]
    # The killed run's tokens (as of its last checkpoint) stay counted.
    assert manifest["runs"][0]["tokens_used"] == killed_tokens
    assert manifest["tokens_used"] == killed_tokens + manifest["runs"][1]["tokens_used"]


def test_a_token_budget_stops_cleanly_and_the_rest_follows_on_rerun(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = dataset_args("sft", fake_llm, snapshot_path, scenarios_path, tmp_path)
    budget = 1500  # room for some of the (fewer, uncontested) examples, not all

    code = main([*args, "--concurrency", "1", "--max-tokens-total", str(budget)])

    assert code == EXIT_BUDGET
    err = capsys.readouterr().err
    assert "Stopped at the token budget" in err
    assert "running the same command again continues" in err
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "budget_exhausted"
    assert 0 < manifest["tokens_used"] <= budget
    planned = sft_planned(snapshot)
    done = len(read_keys(tmp_path / "sft.jsonl"))
    assert 0 < done < planned
    assert manifest["done"] == done
    assert "not complete" in (tmp_path / "README.md").read_text()
    fake_llm.reset()

    assert main(args) == EXIT_OK

    assert_one_per_key(tmp_path / "sft.jsonl", planned)
    assert len(fake_llm.chat_requests()) == planned - done


def test_a_transient_server_error_is_retried(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    fake_llm.script({"status": 500}, {"status": 503, "headers": {"retry-after": "0"}})

    code = main(dataset_args("sft", fake_llm, snapshot_path, scenarios_path, tmp_path))

    assert code == EXIT_OK
    planned = sft_planned(snapshot)
    assert_one_per_key(tmp_path / "sft.jsonl", planned)
    assert len(fake_llm.chat_requests()) == planned + 2
    assert fake_llm.pending() == []


def test_a_bad_request_is_not_retried_and_the_rest_finishes(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    refused = json.loads(scenarios_path.read_text().splitlines()[0])["text"]
    fake_llm.script({"status": 400, "match": refused, "body": {"error": {"message": "too long"}}})

    code = main(dataset_args("sft", fake_llm, snapshot_path, scenarios_path, tmp_path))

    assert code == EXIT_FAILED
    assert "1 item(s) failed" in capsys.readouterr().err
    asked = [b for b in fake_llm.chat_requests() if b["messages"][-1]["content"] == refused]
    assert len(asked) == 1  # not retried
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    (failure,) = manifest["failures"]
    assert failure["error"] == "LLMBadRequest"
    assert "too long" in failure["message"]
    planned = sft_planned(snapshot)
    assert len(read_keys(tmp_path / "sft.jsonl")) == planned - 1
    fake_llm.reset()

    assert main(dataset_args("sft", fake_llm, snapshot_path, scenarios_path, tmp_path)) == EXIT_OK

    assert len(fake_llm.chat_requests()) == 1
    assert_one_per_key(tmp_path / "sft.jsonl", planned)


def test_a_torn_last_line_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"key": "a"}\n{"key": "b"}\n{"key": "c", "te')

    assert read_keys(path) == ["a", "b"]
    assert path.read_bytes().endswith(b'"te')  # reading alone changes nothing
    assert read_keys(path, repair=True) == ["a", "b"]
    assert path.read_bytes() == b'{"key": "a"}\n{"key": "b"}\n'


def test_one_budget_covers_the_scenarios_and_the_examples(
    fake_llm: FakeLLMServer, snapshot_path: Path, tmp_path: Path
) -> None:
    def run(out: Path, *budget: str) -> tuple[int, int, int]:
        args = ["dataset", str(snapshot_path), "--kind", "sft", "--out", str(out)]
        code = main(
            [*args, "--per-context", "2", "--concurrency", "1", *llm_args(fake_llm), *budget]
        )
        scenarios = json.loads((out / "scenarios" / "manifest.json").read_text())
        examples_manifest = out / "manifest.json"
        examples = (
            json.loads(examples_manifest.read_text())["tokens_used"]
            if examples_manifest.exists()
            else 0
        )
        return code, scenarios["tokens_used"], examples

    code, scenario_tokens, example_tokens = run(tmp_path / "unbounded")
    assert code == EXIT_OK
    assert scenario_tokens > 0
    assert example_tokens > 0

    budget = scenario_tokens + example_tokens // 2
    code, scenario_tokens, example_tokens = run(
        tmp_path / "bounded", "--max-tokens-total", str(budget)
    )
    assert code == EXIT_BUDGET
    assert scenario_tokens + example_tokens <= budget
