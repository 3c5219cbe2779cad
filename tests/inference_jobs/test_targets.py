"""Alignment targets from the reference study's snapshot file; snapshot file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.cli import EXIT_OK, EXIT_USAGE, main
from inference.prompts import load_prompt
from inference.targets import Snapshot


def test_targets_carry_each_contexts_winner_with_policies_and_support(
    snapshot_path: Path, snapshot: Snapshot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["targets", str(snapshot_path), "--out", str(tmp_path)]) == EXIT_OK

    targets = json.loads((tmp_path / "targets.json").read_text())
    assert targets["snapshot"]["content_hash"] == snapshot.content_hash
    assert targets["prompt"]["sha256"] == load_prompt("alignment_target").sha256
    assert len(targets["contexts"]) == len(snapshot.winners) == 11
    raw = {w["context"]: w for w in snapshot.document["winners"]}
    for target in targets["contexts"]:
        winner = raw[target["context"]]
        value = next(v for v in snapshot.document["values"] if v["id"] == winner["value_id"])
        assert target["winner"]["id"] == value["id"]
        assert target["winner"]["policies"] == value["policies"]
        assert target["support"] == winner["support"]
        assert target["win_probability"] == winner["win_probability"]
        assert target["ranking"][0]["value_id"] == value["id"]
        # The evidence is the kept edges into the winner, with their vote counts.
        assert target["evidence"]
        for edge in target["evidence"]:
            assert edge["to"] == value["id"]
            assert any(
                e["kept"]
                and (e["from"], e["to"]) == (edge["from"], edge["to"])
                and e["counts"] == edge["counts"]
                and target["context"] in e["contexts"]
                for e in snapshot.document["edges"]
            )
        for policy in value["policies"]:
            assert policy in target["system_prompt"]
    assert "When in conflict" in targets["system_prompt"]


def test_the_system_prompt_names_every_winning_policy_and_keeps_the_examples(
    snapshot_path: Path, snapshot: Snapshot, tmp_path: Path
) -> None:
    main(["targets", str(snapshot_path), "--out", str(tmp_path)])

    prompt = (tmp_path / "system_prompt.md").read_text()
    for winner in snapshot.winners:
        value = snapshot.values[winner.value_id]
        assert f"### {winner.context}" in prompt
        assert value.title in prompt
        assert all(policy in prompt for policy in value.policies)
    assert "## Examples of the style" in prompt
    assert "My dog died this morning" in prompt
    assert "$" not in prompt.replace("$$", "")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "snapshot file not found"),
        ("{not json", "is not JSON"),
        ('{"schema_version": 1}', "is not a valid snapshot"),
    ],
)
def test_a_missing_or_invalid_snapshot_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "snapshot.json"
    if content is not None:
        path.write_text(content)

    assert main(["targets", str(path), "--out", str(tmp_path / "out")]) == EXIT_USAGE

    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_snapshot_that_breaks_the_schema_says_where(
    snapshot_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(snapshot_path.read_text())
    document["winners"][0]["support"] = "unanimous"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))

    assert main(["targets", str(path), "--out", str(tmp_path / "out")]) == EXIT_USAGE

    assert "at winners/0/support" in capsys.readouterr().err
