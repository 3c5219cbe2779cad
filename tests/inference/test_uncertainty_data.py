"""Datasets that respect the graph's uncertainty: contested winners left out of SFT and KTO,
weights from win probabilities and edge intervals, and cards that say what was left out."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from inference.cli import EXIT_OK
from inference.targets import Snapshot, load_snapshot
from inference.testing import FakeLLMServer
from inference.uncertainty import is_tie, question_ids, questions_for, tied_value_ids
from tests.inference_jobs.conftest import (
    SCENARIOS_PER_CONTEXT,
    read_jsonl,
    run_dataset,
    script_answers_by_value,
)

DECISIONS = "When making decisions"


def contexts_of(records: list[dict[str, Any]]) -> set[str]:
    return {r["provenance"]["context"] for r in records}


def front_matter(card: str) -> dict[str, Any]:
    match = re.match(r"^---\n(.*?)\n---\n", card, re.S)
    assert match, "the card starts with YAML front matter"
    data: dict[str, Any] = yaml.safe_load(match.group(1))
    return data


def left_out_row(card: str, context: str) -> str:
    """The row of the card's "Left out for uncertainty" table for a context."""
    section = card.split("## Left out for uncertainty", 1)[1].split("\n## ", 1)[0]
    return next(line for line in section.splitlines() if line.startswith(f"| {context} |"))


def write_document(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    load_snapshot(path)  # still a valid snapshot
    return path


def test_default_sft_leaves_out_the_contested_winner_and_the_card_says_why(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    decisions = snapshot.winner_for(DECISIONS)
    assert decisions is not None
    assert decisions.win_probability is not None
    assert decisions.win_probability < 0.2  # it wins about one resample in ten
    script_answers_by_value(fake_llm, snapshot)

    assert run_dataset("sft", fake_llm, snapshot_path, scenarios_path, tmp_path) == EXIT_OK

    records = read_jsonl(tmp_path / "sft.jsonl")
    assert DECISIONS not in contexts_of(records)
    # Only winners that won at least half the resamples, untied, are trained on.
    for record in records:
        winner = record["provenance"]["winner"]
        assert winner["win_probability"] >= 0.5
        assert winner["tied_value_ids"] == [winner["value_id"]]
        assert record["weight"] == round(winner["win_probability"], 4)
    # Nothing was generated for the contexts left out.
    asked = [b["messages"][0]["content"] for b in fake_llm.chat_requests()]
    assert not any(f"Situation: {DECISIONS}\n" in system for system in asked)
    row = left_out_row((tmp_path / "README.md").read_text(), DECISIONS)
    assert f"#{decisions.value_id}" in row
    assert f"won {decisions.win_probability:.1%} of bootstrap resamples" in row
    assert "below --min-win-probability 0.5" in row
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    left = {e["context"]: e for e in manifest["selection"]["left_out"]}
    assert left[DECISIONS]["reason"] == "low_win_probability"
    assert manifest["selection"]["thresholds"]["min_win_probability"] == 0.5


def test_a_lower_min_win_probability_keeps_the_winner_with_its_weight(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    script_answers_by_value(fake_llm, snapshot)

    code = run_dataset(
        "kto", fake_llm, snapshot_path, scenarios_path, tmp_path, "--min-win-probability", "0"
    )

    assert code == EXIT_OK
    records = read_jsonl(tmp_path / "kto.jsonl")
    untied = {w.context for w in snapshot.winners if not is_tie(snapshot, w)}
    assert contexts_of(records) == untied
    decisions = snapshot.winner_for(DECISIONS)
    assert decisions is not None
    assert decisions.win_probability is not None
    desirable = [r for r in records if r["provenance"]["context"] == DECISIONS and r["label"]]
    assert len(desirable) == SCENARIOS_PER_CONTEXT
    assert {r["weight"] for r in desirable} == {round(decisions.win_probability, 4)}


def test_a_tied_winner_is_left_out_of_sft_and_kto_and_the_card_names_the_tie(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    document = json.loads(snapshot_path.read_text())
    entry = next(w for w in document["winners"] if w["context"] == "When in conflict")
    tied = sorted([entry["value_id"], entry["runner_up"]["value_id"]])
    entry.update(value_id=tied[0], tied_value_ids=tied, tie=True, support="contested")
    tied_path = write_document(tmp_path / "tied.json", document)
    tied_snapshot = load_snapshot(tied_path)
    script_answers_by_value(fake_llm, tied_snapshot)

    code = run_dataset("sft", fake_llm, tied_path, scenarios_path, tmp_path / "out")

    assert code == EXIT_OK
    assert "When in conflict" not in contexts_of(read_jsonl(tmp_path / "out" / "sft.jsonl"))
    row = left_out_row((tmp_path / "out" / "README.md").read_text(), "When in conflict")
    assert f"tied with #{tied[1]}" in row
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    (left,) = [e for e in manifest["selection"]["left_out"] if e["context"] == "When in conflict"]
    assert left["reason"] == "tied"
    assert left["tied_value_ids"] == tied
    # Even with every win probability accepted, a tie has no single value to imitate.
    code = run_dataset(
        "sft", fake_llm, tied_path, scenarios_path, tmp_path / "all", "--min-win-probability", "0"
    )
    assert code == EXIT_OK
    assert "When in conflict" not in contexts_of(read_jsonl(tmp_path / "all" / "sft.jsonl"))


def test_a_version_1_snapshot_reads_as_no_tie_and_all_questions(
    fake_llm: FakeLLMServer, snapshot_path: Path, scenarios_path: Path, tmp_path: Path
) -> None:
    document = json.loads(snapshot_path.read_text())
    document["schema_version"] = 1
    for context in document["contexts"]:
        context.pop("question_ids", None)
    for winner in document["winners"]:
        winner.pop("tied_value_ids", None)
        winner.pop("tie", None)
    for cell in document["sensitivity"]["cells"]:
        cell.pop("ties", None)
    old = load_snapshot(write_document(tmp_path / "v1.json", document))
    every_question = [q["text"] for q in document["study"]["questions"]]
    for winner in old.winners:
        assert tied_value_ids(old, winner) == (winner.value_id,)
        assert not is_tie(old, winner)
        assert question_ids(old, winner.context) is None
        assert questions_for(old, winner.context) == every_question
    script_answers_by_value(fake_llm, old)

    code = run_dataset("sft", fake_llm, old.path, scenarios_path, tmp_path / "out")

    assert code == EXIT_OK
    records = read_jsonl(tmp_path / "out" / "sft.jsonl")
    assert records
    assert all(r["provenance"]["question_ids"] is None for r in records)


def test_dpo_weights_come_from_the_edge_interval_and_weak_edges_can_be_left_out(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    script_answers_by_value(fake_llm, snapshot)

    code = run_dataset(
        "dpo", fake_llm, snapshot_path, scenarios_path, tmp_path, "--min-edge-lower-bound", "0.5"
    )

    assert code == EXIT_OK
    records = read_jsonl(tmp_path / "dpo.jsonl")
    strong = [
        (w.context, e.from_id, e.to_id)
        for w in snapshot.winners
        for e in snapshot.kept_edges_in(w.context)
        if e.interval[0] >= 0.5
    ]
    weak = sum(
        1
        for w in snapshot.winners
        for e in snapshot.kept_edges_in(w.context)
        if e.interval[0] < 0.5
    )
    assert weak > 0
    assert len(records) == SCENARIOS_PER_CONTEXT * len(strong)
    for record in records:
        edge = record["provenance"]["edge"]
        assert edge["interval"][0] >= 0.5
        assert record["weight"] == round(edge["interval"][0], 4)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sum(manifest["selection"]["edges_below_lower_bound"].values()) == weak
    assert "kept edges below the lower bound" in (tmp_path / "README.md").read_text()


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("sft", {"messages"}),
        ("dpo", {"prompt", "chosen", "rejected"}),
        ("kto", {"prompt", "completion", "label"}),
    ],
)
def test_the_card_has_hub_metadata_relative_paths_and_a_jq_line_that_keeps_the_data(
    kind: str,
    fields: set[str],
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    script_answers_by_value(fake_llm, snapshot)

    assert run_dataset(kind, fake_llm, snapshot_path, scenarios_path, tmp_path) == EXIT_OK

    card = (tmp_path / "README.md").read_text()
    meta = front_matter(card)
    assert meta["language"] == ["en"]
    assert meta["license"] == "other"
    assert meta["license_name"]
    assert meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["configs"][0]["data_files"] == f"{kind}.jsonl"
    # No path of this machine: the scenarios file is named, not located.
    assert str(tmp_path) not in card
    assert str(scenarios_path.parent) not in card
    assert f"`{scenarios_path.name}`" in card
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["scenarios"]["file"] == scenarios_path.name
    assert manifest["answers"] == "answers"
    # The suggested jq line keeps the training fields, none of them null.
    (shape,) = re.findall(rf"`jq -c '(\{{[^}}]*\}})' {kind}\.jsonl`", card)
    named = {name.strip() for name in shape.strip("{}").split(",")}
    assert named == fields
    for record in read_jsonl(tmp_path / f"{kind}.jsonl"):
        assert all(record.get(name) is not None for name in named)
