"""The reference study's data and its snapshot, built purely (``moralgraph.graph``, no
database): the published sample (judgements before the cut-off), the canonical cards as
values. Used by the graph's golden and export tests, the tests of ``inference``'s jobs and
``bench/generate.py``; ``inference`` itself never imports ``moralgraph``, it reads the file
this writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from moralgraph.graph import Params, VoteTable, build, content_hash, snapshot_document

CUTOFF = "2023-10-18T00:00:00Z"
REPO = Path(__file__).resolve().parents[2]


def reference_dir() -> Path:
    """``shared/realdata/mai-dft-moral-graph`` beside the repository (or inside it)."""
    candidates = [Path(os.environ["MGE_SHARED_DIR"])] if "MGE_SHARED_DIR" in os.environ else []
    candidates += [REPO.parent / "shared", REPO / "shared"]
    for candidate in candidates:
        folder = candidate / "realdata" / "mai-dft-moral-graph"
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"the reference data is missing: no realdata/mai-dft-moral-graph under {candidates}"
    )


def load_reference(relative: str) -> Any:
    """A file of the reference data, parsed: ``load_reference("db-dump/edge.json")``."""
    with (reference_dir() / relative).open(encoding="utf-8") as handle:
        return json.load(handle)


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
        contexts=[{"id": i + 1, "text": text} for i, text in enumerate(result.contexts)],
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
