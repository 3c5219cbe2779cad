"""The reference study's data, and its snapshot built purely (``moralgraph.graph``, no
database): the published sample (judgements before the cut-off), the canonical cards as
values. Used by the graph's golden and export tests, the tests of ``inference``'s jobs and
``bench/generate.py``; ``inference`` itself never imports ``moralgraph``, it reads the file
this writes.

Every test and bench finds the data here: the folder named by ``MGE_REFERENCE_DATA``
(default: ``shared/realdata`` beside the repository), holding ``mai-dft-moral-graph/``. When
it is missing, tests skip, or fail when ``MGE_REQUIRE_REFERENCE=1`` (as ``.ci/run`` sets).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import pytest

from moralgraph.graph import Params, VoteTable, build, content_hash, snapshot_document

CUTOFF = "2023-10-18T00:00:00Z"
REPO = Path(__file__).resolve().parents[2]
REFERENCE_ENV = "MGE_REFERENCE_DATA"
REQUIRE_ENV = "MGE_REQUIRE_REFERENCE"
DEFAULT_ROOT = REPO.parent / "shared" / "realdata"
STUDY = "mai-dft-moral-graph"
UPSTREAM = (
    "The reference study is the moral graph and database dump that the Meaning Alignment "
    'Institute published with their paper "What are human values, and how do we align AI to '
    'them?" (Klingefjord, Lowe & Edelman, 2024): the graph from github.com/meaningalignment/dft '
    "(data/moral-graph-all-participants.json) into <folder>/" + STUDY + "/published/, the "
    "dump from github.com/meaningalignment/mge (dft-data/) into <folder>/" + STUDY + "/db-dump/; "
    "the Polis conversations (polis-*/) come from the open Polis data "
    "(github.com/compdemocracy/openData)."
)


class ReferenceDataMissing(FileNotFoundError):
    pass


def reference_root() -> Path:
    """The folder the reference data is looked for in (whether or not it is there)."""
    configured = os.environ.get(REFERENCE_ENV, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_ROOT


def reference_data() -> Path:
    """The reference data folder (it holds ``mai-dft-moral-graph/``), or ReferenceDataMissing
    with a message that says where the data comes from."""
    root = reference_root()
    if not (root / STUDY / "db-dump" / "edge.json").is_file():
        raise ReferenceDataMissing(
            f"the reference data is missing: no {STUDY}/db-dump/ under {root}. {UPSTREAM} "
            f"Point {REFERENCE_ENV} at <folder> (default: ../shared/realdata beside the "
            "repository)."
        )
    return root


def is_reference_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


def reference_data_for_tests() -> Path:
    """``reference_data()`` for a test: a missing folder skips it, or fails it under
    ``MGE_REQUIRE_REFERENCE=1`` so that CI cannot pass without running it."""
    try:
        return reference_data()
    except ReferenceDataMissing as missing:
        if is_reference_required():
            pytest.fail(f"{missing} ({REQUIRE_ENV} is set)", pytrace=False)
        pytest.skip(str(missing))


def reference_dir() -> Path:
    """``<reference data>/mai-dft-moral-graph``, for a test (see above)."""
    return reference_data_for_tests() / STUDY


def load_reference(relative: str) -> Any:
    """A file of the reference data, parsed: ``load_reference("db-dump/edge.json")``."""
    with (reference_dir() / relative).open(encoding="utf-8") as handle:
        return json.load(handle)


def reference_contexts(texts: list[str]) -> list[dict[str, Any]]:
    """The contexts as a snapshot lists them: ids from 1, and the questions (cases, numbered
    by their order in case.json, as in the snapshot's study) each belongs to."""
    case_index = {case["id"]: i for i, case in enumerate(load_reference("db-dump/case.json"))}
    questions: dict[str, list[int]] = {}
    for link in load_reference("db-dump/contextsOnCases.json"):
        questions.setdefault(link["contextId"], []).append(case_index[link["caseId"]])
    return [
        {"id": i + 1, "text": text, "question_ids": sorted(questions.get(text, []))}
        for i, text in enumerate(texts)
    ]


def reference_snapshot_document(
    *, mode: Literal["reference", "context"] = "reference", bootstrap: int = 20
) -> dict[str, Any]:
    judgements = [j for j in load_reference("db-dump/edge.json") if j["createdAt"] < CUTOFF]
    votes = VoteTable.from_rows(
        (j["userId"], j["fromId"], j["toId"], j["contextId"], j["relationship"]) for j in judgements
    )
    params = Params(mode=mode, bootstrap=bootstrap)
    result = build(votes, params)
    values = [
        {
            "id": card["id"],
            "source_id": card["id"],
            "title": card["title"],
            "description": card["instructionsDetailed"],
            "policies": card["evaluationCriteria"],
            "instructions_short": card["instructionsShort"],
            "instructions_detailed": card["instructionsDetailed"],
        }
        for card in load_reference("db-dump/canonicalValuesCard.json")
    ]
    document = snapshot_document(
        snapshot_id=f"golden-{mode}",
        created_at=CUTOFF,
        study={
            "slug": "dft",
            "title": "Democratic Fine-Tuning",
            "questions": [
                {"id": i, "title": case["title"], "text": case["question"]}
                for i, case in enumerate(load_reference("db-dump/case.json"))
            ],
        },
        contexts=reference_contexts(result.contexts),
        values=values,
        result=result,
        params=params,
        filters={"created_before": CUTOFF},
        stats={"participants": result.participants, "votes": result.votes},
        content_hash=content_hash(votes, params),
    )
    # Through JSON, as a consumer reads it (tuples become lists, numpy scalars plain numbers).
    round_tripped: dict[str, Any] = json.loads(json.dumps(document))
    return round_tripped


def write_reference_snapshot(path: Path, *, bootstrap: int = 20) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference_snapshot_document(bootstrap=bootstrap), indent=1))
    return path
