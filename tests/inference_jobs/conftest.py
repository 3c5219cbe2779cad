"""Fixtures for the jobs of ``inference`` (targets, scenarios, datasets, evaluation).

The reference study's snapshot file is built once per session, purely (``moralgraph.graph``,
no database); the jobs read only that file. They talk to a fake OpenAI-compatible server (a
real HTTP server in a subprocess), whose record of requests the tests inspect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from inference.cli import main
from inference.targets import Snapshot, load_snapshot
from inference.testing import FakeLLMServer
from tests.support.reference import write_reference_snapshot

SCENARIOS_PER_CONTEXT = 2


@pytest.fixture(scope="session")
def snapshot_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return write_reference_snapshot(tmp_path_factory.mktemp("snapshot") / "snapshot.json")
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def snapshot(snapshot_path: Path) -> Snapshot:
    return load_snapshot(snapshot_path)


@pytest.fixture(scope="session")
def scenarios_path(snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hand-written scenarios, two per context with a winner (the generator is tested apart)."""
    path = tmp_path_factory.mktemp("scenarios") / "scenarios.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for winner in snapshot.winners:
            for i in range(SCENARIOS_PER_CONTEXT):
                text = f"[{winner.context} #{i}] Something happened and I am unsure what to do."
                handle.write(json.dumps({"context": winner.context, "text": text}) + "\n")
    return path


def answer_marker(value_id: int) -> str:
    return f"ANSWER GUIDED BY VALUE {value_id}."


def answer_text(snapshot: Snapshot, value_id: int) -> str:
    """The scripted answer under a value: its marker, then the value's policies (what a
    model following the guidance would attend to, so the pair checks keep its pairs)."""
    return " ".join([answer_marker(value_id), *snapshot.values[value_id].policies])


def script_answers_by_value(fake: FakeLLMServer, snapshot: Snapshot) -> None:
    """Every answer names the value whose guidance was in the system message."""
    fake.script(
        *(
            {
                "text": answer_text(snapshot, value.id),
                "match_system": f"The value: {value.title}\n{value.description}\n",
                "repeat": 10_000,
            }
            for value in snapshot.values.values()
        )
    )


def llm_args(fake: FakeLLMServer, *extra: str) -> list[str]:
    return [
        "--base-url",
        fake.base_url,
        "--model",
        "fake-model",
        "--api-key",
        "test-key",
        "--retry-delay",
        "0.01",
        "--retries",
        "2",
        "--timeout",
        "10",
        "--no-progress",
        *extra,
    ]


def run_dataset(
    kind: str,
    fake: FakeLLMServer,
    snapshot_path: Path,
    scenarios_path: Path,
    out: Path,
    *extra: str,
) -> int:
    """`python -m inference dataset` of this kind on the snapshot and scenarios, against the
    fake server (`extra`: more options); its exit code."""
    args = ["dataset", str(snapshot_path), "--kind", kind, "--out", str(out)]
    return main([*args, "--scenarios", str(scenarios_path), *llm_args(fake, *extra)])


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def hf_datasets(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The Hugging Face ``datasets`` library, offline, caching under a temporary folder."""
    home = tmp_path_factory.mktemp("hf-home")
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HOME"] = str(home)
    import datasets

    return datasets
