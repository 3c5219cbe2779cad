"""The reference study's `db-dump/` folder, read and turned into plain rows.

Nothing here writes: `load_dump` reads the files, and each `*_rows` function maps the source's
records to the rows moralgraph's bulk services take, given the ids the earlier steps of the
import returned. Source ids: a case id names a question, a context's id is its text, the
canonical card ids name values; people are "user:<userId>", or "chat:<chatId>" for a raw card
(valuesCard.json has no userId).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.utils.dateparse import parse_datetime

from moralgraph.services import ContextRow, HypothesisRow, SelectionRow, ValueRow, VoteRow

Record = dict[str, Any]


@dataclass(frozen=True)
class Dump:
    cases: list[Record]
    contexts: list[Record]
    contexts_on_cases: list[Record]
    canonical_cards: list[Record]
    raw_cards: list[Record]
    edges: list[Record]
    votes: list[Record]
    impressions: list[Record]
    hypotheses: list[Record]
    # The legitimacy checks (graphPositionVerification.json, deduplicationVerification.json;
    # empty when a dump lacks them). Their deduplicatedCardId is a later re-deduplication's id
    # space, not a canonical card id, so it names no value here: it is kept in the source id.
    position_checks: list[Record]
    dedup_checks: list[Record]
    # "user:<userId>" → when the participant joined, from participants.csv (when present).
    joined: dict[str, datetime]


def when(text: str | None) -> datetime:
    moment = parse_datetime(text) if text else None
    if moment is None:
        raise ValueError(f"not a timestamp: {text!r}")
    return moment


def _load(folder: Path, name: str) -> list[Record]:
    with (folder / f"{name}.json").open(encoding="utf-8") as handle:
        rows: list[Record] = json.load(handle)
    return rows


def _load_if_present(folder: Path, name: str) -> list[Record]:
    return _load(folder, name) if (folder / f"{name}.json").is_file() else []


def load_dump(folder: Path) -> Dump:
    if not (folder / "edge.json").is_file():
        raise FileNotFoundError(f"{folder} does not look like the reference db-dump (no edge.json)")
    joined: dict[str, datetime] = {}
    participants_csv = folder / "participants.csv"
    if participants_csv.is_file():
        with participants_csv.open(encoding="utf-8") as handle:
            joined = {
                f"user:{row['userId']}": when(row["createdAt"]) for row in csv.DictReader(handle)
            }
    return Dump(
        cases=_load(folder, "case"),
        contexts=_load(folder, "context"),
        contexts_on_cases=_load(folder, "contextsOnCases"),
        canonical_cards=_load(folder, "canonicalValuesCard"),
        raw_cards=_load(folder, "valuesCard"),
        edges=_load(folder, "edge"),
        votes=_load(folder, "vote"),
        impressions=_load(folder, "impression"),
        hypotheses=_load(folder, "edgeHypothesis"),
        position_checks=_load_if_present(folder, "graphPositionVerification"),
        dedup_checks=_load_if_present(folder, "deduplicationVerification"),
        joined=joined,
    )


def participant_sources(dump: Dump) -> dict[str, datetime | None]:
    """Every person the dump mentions, by source id, with when they joined where known."""
    joined: dict[str, datetime | None] = dict(dump.joined)
    checks = [*dump.position_checks, *dump.dedup_checks]
    for row in [*dump.edges, *dump.votes, *dump.impressions, *checks]:
        joined.setdefault(f"user:{row['userId']}", None)
    for card in dump.raw_cards:
        joined.setdefault(f"chat:{card['chatId']}", when(card["createdAt"]))
    return joined


def value_rows(dump: Dump) -> list[ValueRow]:
    """The canonical cards (description = instructionsShort, policies = evaluationCriteria)."""
    return [
        ValueRow(
            source_id=str(row["id"]),
            title=row["title"],
            description=row["instructionsShort"],
            policies=tuple(row["evaluationCriteria"]),
            instructions_short=row["instructionsShort"],
            instructions_detailed=row["instructionsDetailed"],
            created_at=when(row["createdAt"]),
        )
        for row in dump.canonical_cards
    ]


def context_rows(dump: Dump, question_of: dict[str, int]) -> list[ContextRow]:
    questions: dict[str, list[int]] = {row["id"]: [] for row in dump.contexts}
    for link in dump.contexts_on_cases:
        questions.setdefault(link["contextId"], []).append(question_of[link["caseId"]])
    return [ContextRow(text=text, question_ids=tuple(ids)) for text, ids in questions.items()]


def hypothesis_rows(
    dump: Dump, value_of: dict[int, int], context_of: dict[str, int]
) -> list[HypothesisRow]:
    return [
        HypothesisRow(
            from_value_id=value_of[row["fromId"]],
            to_value_id=value_of[row["toId"]],
            context_id=context_of[row["contextId"]],
            story=row["story"],
            run_id=row["runId"],
            created_at=when(row["createdAt"]),
        )
        for row in dump.hypotheses
    ]


def selection_rows(
    dump: Dump,
    participant_of: dict[str, int],
    value_of: dict[int, int],
    question_of: dict[str, int],
) -> list[SelectionRow]:
    """Every impression, picked when the same user voted for that card in that draw."""
    picked = {(v["userId"], v["drawId"], v["valuesCardId"]) for v in dump.votes}
    shown: dict[tuple[int, str, int], Record] = {}
    # Every vote has its impression in the published dump; votes are read too in case not.
    for row in [*dump.impressions, *dump.votes]:
        key = (row["userId"], row["drawId"], row["valuesCardId"])
        if key not in shown or row["createdAt"] < shown[key]["createdAt"]:
            shown[key] = row
    return [
        SelectionRow(
            participant_id=participant_of[f"user:{user}"],
            value_id=value_of[card],
            question_id=question_of.get(row["caseId"]),
            draw_id=draw,
            is_picked=(user, draw, card) in picked,
            created_at=when(row["createdAt"]),
        )
        for (user, draw, card), row in shown.items()
    ]


def vote_rows(
    dump: Dump,
    participant_of: dict[str, int],
    value_of: dict[int, int],
    context_of: dict[str, int],
) -> list[VoteRow]:
    """The upgrade judgements (edge.json), with their original times; no hypothesis."""
    return [
        VoteRow(
            participant_id=participant_of[f"user:{row['userId']}"],
            from_value_id=value_of[row["fromId"]],
            to_value_id=value_of[row["toId"]],
            context_id=context_of[row["contextId"]],
            # "OLD" marks judgements made before stories were recorded.
            story="" if row["story"] == "OLD" else row["story"],
            choice=row["relationship"],
            reason=row.get("comment") or "",
            created_at=when(row["createdAt"]),
            updated_at=when(row["updatedAt"]),
        )
        for row in dump.edges
    ]


def position_check_source(row: Record) -> str:
    return f"position:{row['userId']}:{row['deduplicatedCardId']}"


def dedup_check_source(row: Record) -> str:
    return f"dedup:{row['userId']}:{row['valuesCardId']}:{row['deduplicatedCardId']}"
