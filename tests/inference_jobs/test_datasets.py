"""SFT, DPO and KTO datasets from the reference snapshot, against the fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inference.cli import EXIT_OK, EXIT_USAGE, main
from inference.prompts import load_prompt
from inference.targets import ContextWinner, Snapshot
from inference.testing import FakeLLMServer
from inference.uncertainty import Thresholds, is_clearly_less_wise, left_out
from tests.inference_jobs.conftest import (
    SCENARIOS_PER_CONTEXT,
    answer_text,
    llm_args,
    read_jsonl,
    run_dataset,
    script_answers_by_value,
)


def kept_winners(snapshot: Snapshot) -> list[ContextWinner]:
    """The winners SFT and KTO train on by default (contested ones are left out)."""
    return [w for w in snapshot.winners if left_out(snapshot, w, Thresholds()) is None]


# Eight requests at once, as a run on a served model would send them.
CONCURRENCY = ("--concurrency", "8")


def kept_edge(snapshot: Snapshot, edge: dict[str, Any], context: str) -> dict[str, Any]:
    """The snapshot's edge that an example's provenance names; it must be kept, in context."""
    matches = [
        e for e in snapshot.document["edges"] if (e["from"], e["to"]) == (edge["from"], edge["to"])
    ]
    assert len(matches) == 1
    found = matches[0]
    assert found["kept"]
    assert context in found["contexts"]
    assert found["counts"] == edge["counts"]
    assert found["wiser_likelihood"] == edge["wiser_likelihood"]
    return found


def load_with_hf(hf_datasets: Any, path: Path, cache: Path) -> Any:
    return hf_datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(cache)
    )


def winner_of(snapshot: Snapshot, context: str) -> ContextWinner:
    winner = snapshot.winner_for(context)
    assert winner is not None, f"no winner for {context!r}"
    return winner


def check_common(record: dict[str, Any], snapshot: Snapshot, kind: str) -> None:
    provenance = record["provenance"]
    assert provenance["snapshot_content_hash"] == snapshot.content_hash
    assert provenance["context_id"] == snapshot.context_ids[provenance["context"]]
    assert all(v in snapshot.values for v in provenance["value_ids"])
    assert provenance["winner"]["value_id"] == winner_of(snapshot, provenance["context"]).value_id
    assert provenance["generation"]["prompt_sha256"] == load_prompt("guided_answer").sha256
    assert provenance["generation"]["model"] == "fake-model"
    assert record["key"].startswith(
        f"{kind}|ctx={provenance['context_id']}|scn={provenance['scenario_id']}|values="
    )


def test_sft_answers_are_guided_by_the_winning_values_policies(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
    hf_datasets: Any,
) -> None:
    script_answers_by_value(fake_llm, snapshot)

    assert (
        run_dataset("sft", fake_llm, snapshot_path, scenarios_path, tmp_path, *CONCURRENCY)
        == EXIT_OK
    )

    records = read_jsonl(tmp_path / "sft.jsonl")
    assert 0 < len(kept_winners(snapshot)) < len(snapshot.winners)
    assert len(records) == SCENARIOS_PER_CONTEXT * len(kept_winners(snapshot))
    assert len({r["key"] for r in records}) == len(records)
    scenario_text = {json.loads(line)["text"] for line in scenarios_path.read_text().splitlines()}
    for record in records:
        check_common(record, snapshot, "sft")
        winner = winner_of(snapshot, record["provenance"]["context"])
        assert record["provenance"]["value_ids"] == [winner.value_id]
        user, assistant = record["messages"]
        assert user["role"] == "user"
        assert user["content"] in scenario_text
        assert assistant == {"role": "assistant", "content": answer_text(snapshot, winner.value_id)}
        assert record["weight"] == round(winner.win_probability or 1.0, 4)
        assert record["provenance"]["edges"]
        for edge in record["provenance"]["edges"]:
            assert edge["to"] == winner.value_id
            kept_edge(snapshot, edge, winner.context)
    # What the fake received: the winner's policies in the system message, the scenario after.
    chats = fake_llm.chat_requests()
    assert len(chats) == len(records)
    for body in chats:
        system, user = body["messages"]
        context = next(
            w for w in snapshot.winners if f"Situation: {w.context}\n" in system["content"]
        )
        assert context in kept_winners(snapshot)
        value = snapshot.values[context.value_id]
        assert all(f"- {policy}" in system["content"] for policy in value.policies)
        assert user["content"].startswith(f"[{context.context} #")
        assert body["model"] == "fake-model"
    loaded = load_with_hf(hf_datasets, tmp_path / "sft.jsonl", tmp_path / "hf-cache")
    assert loaded.num_rows == len(records)
    assert loaded[0]["messages"][1]["role"] == "assistant"
    assert set(loaded.column_names) == {"key", "messages", "weight", "provenance"}
    card = (tmp_path / "README.md").read_text()
    assert snapshot.content_hash in card
    assert load_prompt("guided_answer").sha256 in card
    assert "## Licence" in card
    for winner in snapshot.winners:
        assert f"| {winner.context} |" in card


def test_dpo_chosen_follows_the_wiser_value_of_a_kept_edge(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
    hf_datasets: Any,
) -> None:
    script_answers_by_value(fake_llm, snapshot)

    assert (
        run_dataset("dpo", fake_llm, snapshot_path, scenarios_path, tmp_path, *CONCURRENCY)
        == EXIT_OK
    )

    records = read_jsonl(tmp_path / "dpo.jsonl")
    expected = sum(len(snapshot.kept_edges_in(w.context)) for w in snapshot.winners)
    assert len(records) == SCENARIOS_PER_CONTEXT * expected
    assert len({r["key"] for r in records}) == len(records)
    for record in records:
        check_common(record, snapshot, "dpo")
        provenance = record["provenance"]
        edge = kept_edge(snapshot, provenance["edge"], provenance["context"])
        assert provenance["value_ids"] == [edge["to"], edge["from"]]
        assert record["key"].endswith(f"|values={edge['from']}>{edge['to']}")
        chosen, rejected = answer_text(snapshot, edge["to"]), answer_text(snapshot, edge["from"])
        assert record["chosen"] == [{"role": "assistant", "content": chosen}]
        assert record["rejected"] == [{"role": "assistant", "content": rejected}]
        assert record["prompt"][0]["role"] == "user"
        assert record["weight"] == round(edge["interval"][0], 4)
        assert provenance["pair_quality"]["verdict"] == "kept"
    # One request per (context, value, scenario), however many edges the value is on.
    needed = {
        (r["provenance"]["context"], r["provenance"]["scenario_id"], v)
        for r in records
        for v in r["provenance"]["value_ids"]
    }
    assert len(needed) < 2 * len(records)
    assert len(fake_llm.chat_requests()) == len(needed)
    assert not (tmp_path / "dpo.dropped.jsonl").exists()
    loaded = load_with_hf(hf_datasets, tmp_path / "dpo.jsonl", tmp_path / "hf-cache")
    assert {"prompt", "chosen", "rejected"} <= set(loaded.column_names)
    assert loaded.num_rows == len(records)


def test_kto_labels_the_winner_desirable_and_the_values_it_beat_undesirable(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    snapshot: Snapshot,
    scenarios_path: Path,
    tmp_path: Path,
    hf_datasets: Any,
) -> None:
    script_answers_by_value(fake_llm, snapshot)

    assert (
        run_dataset("kto", fake_llm, snapshot_path, scenarios_path, tmp_path, *CONCURRENCY)
        == EXIT_OK
    )

    records = read_jsonl(tmp_path / "kto.jsonl")
    beaten = {
        w.context: [
            e.from_id
            for e in snapshot.kept_edges_in(w.context)
            if e.to_id == w.value_id and is_clearly_less_wise(e, Thresholds())
        ]
        for w in kept_winners(snapshot)
    }
    unclear = [
        e
        for w in kept_winners(snapshot)
        for e in snapshot.kept_edges_in(w.context)
        if e.to_id == w.value_id and e.from_id not in beaten[w.context]
    ]
    assert unclear  # some beaten values are not labelled: their interval reaches below 0.5
    assert len(records) == SCENARIOS_PER_CONTEXT * sum(1 + len(b) for b in beaten.values())
    for record in records:
        check_common(record, snapshot, "kto")
        provenance = record["provenance"]
        winner = winner_of(snapshot, provenance["context"])
        (value_id,) = provenance["value_ids"]
        content = answer_text(snapshot, value_id)
        assert record["completion"] == [{"role": "assistant", "content": content}]
        if record["label"]:
            assert value_id == winner.value_id
            assert provenance["edge"] is None
            assert record["weight"] == round(winner.win_probability or 1.0, 4)
        else:
            assert value_id in beaten[winner.context]
            edge = kept_edge(snapshot, provenance["edge"], winner.context)
            assert (edge["from"], edge["to"]) == (value_id, winner.value_id)
            assert edge["interval"][0] > 0.5
            assert record["weight"] == round(edge["interval"][0], 4)
    loaded = load_with_hf(hf_datasets, tmp_path / "kto.jsonl", tmp_path / "hf-cache")
    assert loaded.features["label"].dtype == "bool"
    assert sorted(loaded["label"]) == sorted(r["label"] for r in records)


def test_a_rerun_of_a_finished_dataset_sends_nothing(
    fake_llm: FakeLLMServer, snapshot_path: Path, scenarios_path: Path, tmp_path: Path
) -> None:
    assert (
        run_dataset("sft", fake_llm, snapshot_path, scenarios_path, tmp_path, *CONCURRENCY)
        == EXIT_OK
    )
    before = (tmp_path / "sft.jsonl").read_bytes()
    fake_llm.reset()

    assert (
        run_dataset("sft", fake_llm, snapshot_path, scenarios_path, tmp_path, *CONCURRENCY)
        == EXIT_OK
    )

    assert fake_llm.chat_requests() == []
    assert (tmp_path / "sft.jsonl").read_bytes() == before


def test_a_folder_made_with_another_model_is_refused(
    fake_llm: FakeLLMServer,
    snapshot_path: Path,
    scenarios_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        run_dataset("sft", fake_llm, snapshot_path, scenarios_path, tmp_path, *CONCURRENCY)
        == EXIT_OK
    )
    args = ["dataset", str(snapshot_path), "--kind", "sft", "--out", str(tmp_path)]
    args += ["--scenarios", str(scenarios_path), *llm_args(fake_llm)]
    args[args.index("fake-model")] = "another-model"

    assert main(args) == EXIT_USAGE

    assert "made with other settings" in (err := capsys.readouterr().err)
    assert "model: 'fake-model' there, 'another-model' now" in err


def test_without_a_base_url_the_command_says_what_to_set(
    snapshot_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["dataset", str(snapshot_path), "--kind", "sft", "--out", str(tmp_path)])

    assert code == EXIT_USAGE
    assert "pass --base-url" in capsys.readouterr().err
