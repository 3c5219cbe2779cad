"""`python -m inference ratify-sample`: for each context with a winner, answers to the same
prompts under the graph's alignment target and from a baseline, written as pairs.jsonl for a
ratification round; resumable, and pairs with nothing to choose between are dropped."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from inference.cli import EXIT_OK, main
from inference.ratify_sample import FORMAT
from inference.targets import Snapshot, render_system_prompt
from inference.testing import FakeLLMServer
from tests.inference_jobs.conftest import llm_args, read_jsonl

TARGET_ANSWER = "TARGET: I would start with what matters to you here."
BASELINE_ANSWER = "BASELINE: Here are five generic tips."


def script_sides(fake: FakeLLMServer) -> None:
    """Answers under the target's system prompt say TARGET; answers with none say BASELINE."""
    fake.script(
        {"text": TARGET_ANSWER, "match_system": "moral graph", "repeat": 10_000},
        {"text": BASELINE_ANSWER, "repeat": 10_000},
    )


def ratify(fake: FakeLLMServer, snapshot_path: Path, out: Path, *extra: str) -> int:
    return main(["ratify-sample", str(snapshot_path), "--out", str(out), *llm_args(fake, *extra)])


def test_pairs_hold_a_target_and_a_baseline_answer_per_prompt(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    script_sides(fake_llm)
    out = tmp_path / "pairs"

    code = ratify(
        fake_llm,
        snapshot_path,
        out,
        "--scenarios",
        str(scenarios_path),
        "--per-context",
        "1",
        "--baseline-model",
        "base-model",
    )

    assert code == EXIT_OK
    pairs = read_jsonl(out / "pairs.jsonl")
    # One prompt per context with a winner (the scenarios file has two each).
    assert [p["context"] for p in pairs] == [w.context for w in snapshot.winners]
    first = pairs[0]
    winner = snapshot.winners[0]
    assert first["target_answer"] == TARGET_ANSWER
    assert first["baseline_answer"] == BASELINE_ANSWER
    assert first["prompt"].startswith(f"[{winner.context} #0]")
    assert first["context_id"] == winner.context_id
    assert (
        first["question_ids"]
        == [
            c["question_ids"] for c in snapshot.document["contexts"] if c["text"] == winner.context
        ][0]
    )
    assert winner.value_id in first["value_ids"]
    assert first["snapshot_content_hash"] == snapshot.content_hash
    assert (first["target_model"], first["baseline_model"]) == ("fake-model", "base-model")
    assert first["prompt_sha256"] == hashlib.sha256(first["prompt"].encode()).hexdigest()
    system = render_system_prompt(snapshot, [winner])
    assert first["target_system_sha256"] == hashlib.sha256(system.encode()).hexdigest()
    assert len({p["key"] for p in pairs}) == len(pairs)

    # What the server was asked: the target side under that context's system prompt with the
    # model, the baseline side with no system message and the baseline model.
    asked = [r for r in fake_llm.chat_requests() if r["messages"][-1]["content"] == first["prompt"]]
    by_model = {r["model"]: r["messages"] for r in asked}
    assert by_model["fake-model"] == [
        {"role": "system", "content": system},
        {"role": "user", "content": first["prompt"]},
    ]
    assert by_model["base-model"] == [{"role": "user", "content": first["prompt"]}]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["format"] == FORMAT
    assert manifest["snapshot"]["content_hash"] == snapshot.content_hash


def test_without_scenarios_the_prompts_are_each_contexts_own_questions(
    fake_llm: FakeLLMServer, snapshot_path: Path, snapshot: Snapshot, tmp_path: Path
) -> None:
    script_sides(fake_llm)

    assert ratify(fake_llm, snapshot_path, tmp_path / "q") == EXIT_OK

    questions = {q["id"]: q["text"] for q in snapshot.study["questions"]}
    pairs = read_jsonl(tmp_path / "q" / "pairs.jsonl")
    assert pairs
    for pair in pairs:
        assert pair["prompt_source"] == "question"
        assert pair["prompt"] in {questions[q] for q in pair["question_ids"]}


def test_a_version_1_snapshot_uses_the_context_text_as_the_prompt(
    fake_llm: FakeLLMServer, snapshot_path: Path, snapshot: Snapshot, tmp_path: Path
) -> None:
    document: dict[str, Any] = json.loads(snapshot_path.read_text())
    document["schema_version"] = 1
    for context in document["contexts"]:
        context.pop("question_ids", None)
    old = tmp_path / "v1.json"
    old.write_text(json.dumps(document))
    script_sides(fake_llm)

    assert ratify(fake_llm, old, tmp_path / "v1") == EXIT_OK

    pairs = read_jsonl(tmp_path / "v1" / "pairs.jsonl")
    assert [(p["prompt"], p["question_ids"]) for p in pairs] == [
        (w.context, []) for w in snapshot.winners
    ]


def test_a_rerun_resumes_without_asking_again_and_writes_the_same_bytes(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    script_sides(fake_llm)
    out = tmp_path / "resume"
    args = ("--scenarios", str(scenarios_path), "--per-context", "2")
    assert ratify(fake_llm, snapshot_path, out, *args) == EXIT_OK
    first = (out / "pairs.jsonl").read_bytes()
    fake_llm.reset()

    assert ratify(fake_llm, snapshot_path, out, *args) == EXIT_OK

    assert fake_llm.chat_requests() == []
    assert (out / "pairs.jsonl").read_bytes() == first


def test_pairs_whose_two_answers_are_the_same_text_are_dropped_and_counted(
    fake_llm: FakeLLMServer, snapshot_path: Path, snapshot: Snapshot, tmp_path: Path
) -> None:
    fake_llm.script({"text": "The same answer, whoever asks.", "repeat": 10_000})
    out = tmp_path / "same"

    assert ratify(fake_llm, snapshot_path, out, "--per-context", "1") == EXIT_OK

    assert read_jsonl(out / "pairs.jsonl") == []
    dropped = read_jsonl(out / "pairs.dropped.jsonl")
    assert len(dropped) == len(snapshot.winners)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dropped"] == {"identical": len(snapshot.winners)}
    assert Counter(d["reason"] for d in dropped) == {"identical": len(snapshot.winners)}
