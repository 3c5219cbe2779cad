"""Pair quality: identical, inverted and indistinct pairs are dropped and counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.cli import EXIT_OK
from inference.pair_quality import (
    IDENTICAL,
    INDISTINCT,
    INVERTED,
    KEPT,
    judge_pair,
    terms,
)
from inference.scenarios import load_scenarios
from inference.targets import Snapshot, ValueCard
from inference.testing import FakeLLMServer
from inference.training_data import plan_examples
from tests.inference_jobs.conftest import read_jsonl, run_dataset

SAME = "Take a breath. What matters most to you here?"

HONESTY = ValueCard(
    id=1,
    source_id=None,
    title="Honesty",
    description="Telling the truth kindly.",
    policies=(
        "TRUTHS the person avoids saying out loud",
        "CONSEQUENCES of deception for trust between friends",
    ),
)
COMFORT = ValueCard(
    id=2,
    source_id=None,
    title="Comfort",
    description="Easing pain first.",
    policies=(
        "REASSURANCE that calms the person's fear",
        "GENTLE routines that soothe anxiety before deciding",
    ),
)


@pytest.mark.parametrize(
    "rejected",
    [SAME, SAME.upper(), "take a breath -- what matters most to you, here ?", f"  {SAME}\n\n"],
)
def test_answers_that_differ_only_in_case_spacing_or_punctuation_are_identical(
    rejected: str,
) -> None:
    assert judge_pair(SAME, rejected, HONESTY, COMFORT).verdict == IDENTICAL


def test_the_judge_keeps_a_pair_whose_chosen_answer_attends_to_the_wiser_value() -> None:
    chosen = "Which truths are you avoiding? Deception erodes trust between friends."
    rejected = "Some reassurance first: a gentle routine can soothe the anxiety."

    kept = judge_pair(chosen, rejected, HONESTY, COMFORT)
    inverted = judge_pair(rejected, chosen, HONESTY, COMFORT)

    assert kept.verdict == KEPT
    assert kept.margin > 0
    assert kept.chosen_attention > 0 > kept.rejected_attention
    assert inverted.verdict == INVERTED
    assert inverted.margin == pytest.approx(-kept.margin)


def test_answers_that_attend_to_neither_value_are_indistinct() -> None:
    verdict = judge_pair(
        "Have you eaten today? Start there.", "Call your sister tonight.", HONESTY, COMFORT
    )

    assert verdict.verdict == INDISTINCT
    assert verdict.margin == 0


def test_terms_ignore_function_words_and_light_inflection() -> None:
    assert terms("The TRUTHS, and the truth!") == frozenset({"truth"})
    assert "the" not in terms("the consequences of deception")


def test_identical_answers_for_both_sides_drop_every_dpo_pair_and_count_them(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    fake_llm.script({"text": SAME, "repeat": 100_000})
    planned = plan_examples(snapshot, "dpo", load_scenarios(scenarios_path, snapshot))
    assert planned

    assert run_dataset("dpo", fake_llm, snapshot_path, scenarios_path, tmp_path) == EXIT_OK

    assert read_jsonl(tmp_path / "dpo.jsonl") == []
    dropped = read_jsonl(tmp_path / "dpo.dropped.jsonl")
    assert [d["key"] for d in dropped] == [p.key for p in planned]
    assert {d["reason"] for d in dropped} == {IDENTICAL}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["done"] == manifest["planned"] == len(planned)
    assert manifest["dropped"] == {IDENTICAL: len(planned)}
    card = (tmp_path / "README.md").read_text()
    assert "0 examples in `dpo.jsonl`" in card
    assert f"Dropped: identical {len(planned)} ({len(planned)} in all" in card
    # A rerun decides nothing again and asks the model for nothing.
    fake_llm.reset()
    assert run_dataset("dpo", fake_llm, snapshot_path, scenarios_path, tmp_path) == EXIT_OK
    assert fake_llm.chat_requests() == []
    assert len(read_jsonl(tmp_path / "dpo.dropped.jsonl")) == len(planned)


def test_identical_answers_drop_kto_undesirable_answers_and_keep_the_desirable_ones(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
) -> None:
    fake_llm.script({"text": SAME, "repeat": 100_000})
    planned = plan_examples(snapshot, "kto", load_scenarios(scenarios_path, snapshot))
    undesirable = [p for p in planned if p.label is False]
    assert undesirable

    assert run_dataset("kto", fake_llm, snapshot_path, scenarios_path, tmp_path) == EXIT_OK

    records = read_jsonl(tmp_path / "kto.jsonl")
    assert records
    assert all(r["label"] for r in records)
    assert len(records) == len(planned) - len(undesirable)
    dropped = read_jsonl(tmp_path / "kto.dropped.jsonl")
    assert sorted(d["key"] for d in dropped) == sorted(p.key for p in undesirable)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["dropped"] == {IDENTICAL: len(undesirable)}
