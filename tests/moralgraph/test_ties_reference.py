"""Ties on the reference study: the published sample's bootstrap resamples and threshold grid
hold exact ties, which the snapshot reports (and the page shows) instead of handing them to the
lowest id; the imported study's snapshot lists each context's questions. And a small study
with a tie in its winners: the researcher's page lists "tie" with every tied value."""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from elicitation.models import Participant, Question, Study
from moralgraph import services
from moralgraph.graph import CONTESTED, Params, VoteTable, build
from moralgraph.models import GraphSnapshot, UpgradeVote, Value
from moralgraph.services import snapshots
from tests.moralgraph.test_graph_golden import reference_votes
from tests.support.reference import CUTOFF, load_reference

SCHEMA = Path(__file__).resolve().parents[2] / "moralgraph" / "snapshot.schema.json"

# Measured on the published sample (reference mode, the default 200 resamples, seed 0): the
# share of resamples whose top score is tied, per context (the others never tie).
TIED_RESAMPLES = {
    "When being introspective": 0.035,
    "When being religious": 0.13,
    "When in conflict": 0.235,
    "When in distress": 0.215,
    "When interacting": 0.14,
    "When making decisions": 0.08,
    "When seeking clarity": 0.055,
}
# The imported study: the same votes, but its participants' database ids order them otherwise
# than the dump's user ids, so the same seed draws other resamples.
TIED_RESAMPLES_IMPORTED = {
    "When being introspective": 0.04,
    "When being religious": 0.19,
    "When in conflict": 0.255,
    "When in distress": 0.17,
    "When interacting": 0.16,
    "When making decisions": 0.085,
    "When seeking clarity": 0.06,
}
# ... and the threshold grid's (no resampling: the same for both) tied (setting, context) entries: 62 of 48 × 11 = 528.
TIED_CELLS = {
    "When being religious": 12,
    "When making decisions": 12,
    "When seeking information": 12,
    "When seeking motivation": 12,
    "When interacting": 6,
    "When in distress": 4,
    "When seeking clarity": 4,
}


def test_the_published_sample_ties_in_resamples_and_in_the_grid() -> None:
    result = build(reference_votes(), Params())
    assert result.tie_probabilities == TIED_RESAMPLES
    entries = [(cell, text) for cell in result.sensitivity for text in cell.winners]
    assert len(entries) == 528
    tied = Counter(text for cell in result.sensitivity for text in cell.ties)
    assert tied == TIED_CELLS
    assert sum(tied.values()) == 62
    sizes = Counter(len(ids) for cell in result.sensitivity for ids in cell.ties.values())
    assert sizes == {2: 52, 3: 10}
    for cell in result.sensitivity:
        for text, ids in cell.ties.items():
            assert cell.winners[text] == ids[0]  # the lowest tied id stands for the tie
    # The published graph's own winners are not tied (its ranking is as published).
    assert not any(w.is_tie for w in result.winners.values())
    # A tie counts 1/k to each tied value: "religious" reads 0.46, between what its winner
    # gets when every tie goes to it and when none does.
    religious = result.win_probabilities["When being religious"]
    assert religious[result.winners["When being religious"].value_id] == pytest.approx(
        0.46083, abs=1e-5
    )
    # Each context's probabilities sum to the share of resamples with a winner there.
    for probabilities in result.win_probabilities.values():
        assert sum(probabilities.values()) <= 1.0 + 1e-12


def test_the_result_no_longer_depends_on_the_values_ids() -> None:
    """Relabel every value (id → 10000 - id, which reverses their order): each value keeps its
    win probability and every tie its members. Under the old rule (the lowest id takes a tie)
    the shares moved with the labels."""
    votes = reference_votes()
    relabelled = VoteTable(
        participant=votes.participant,
        from_value=10000 - votes.from_value,
        to_value=10000 - votes.to_value,
        context=votes.context,
        choice=votes.choice,
        contexts=votes.contexts,
    )
    a, b = build(votes, Params()), build(relabelled, Params())
    assert a.tie_probabilities == b.tie_probabilities == TIED_RESAMPLES
    for text, probabilities in a.win_probabilities.items():
        back = {10000 - v: p for v, p in b.win_probabilities[text].items()}
        assert back == pytest.approx(probabilities, abs=1e-12)
    for cell_a, cell_b in zip(a.sensitivity, b.sensitivity, strict=True):
        assert cell_a.ties == {
            text: tuple(sorted(10000 - v for v in ids)) for text, ids in cell_b.ties.items()
        }


@pytest.fixture
def staff(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user(
        username="researcher", password="not-used-here", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_imported_study_reports_its_ties_and_questions(realdata: Path, staff: Client) -> None:
    dump = realdata / "mai-dft-moral-graph" / "db-dump"
    call_command("import_mai", str(dump), study="mai", stdout=StringIO())
    call_command("build_graph", "mai", "--mode", "reference", "--before", CUTOFF, stdout=StringIO())
    snapshot = GraphSnapshot.objects.get()
    document = snapshot.document
    jsonschema.validate(document, json.loads(SCHEMA.read_text()))
    assert document["schema_version"] == 2
    assert document["parameters"]["bootstrap"] == 200

    winners = {w["context"]: w for w in document["winners"]}
    assert {c: w["tie_probability"] for c, w in winners.items() if w["tie_probability"]} == (
        TIED_RESAMPLES_IMPORTED
    )
    assert all(not w["tie"] and len(w["tied_value_ids"]) == 1 for w in winners.values())
    cells = document["sensitivity"]["cells"]
    tied = Counter(text for cell in cells for text in cell["ties"])
    assert tied == TIED_CELLS
    # 62 of the 48 settings × 11 contexts with votes in scope; the study's other contexts
    # have no winner in any setting.
    assert len(cells) * len(winners) == 528
    assert all(
        w is None for cell in cells for text, w in cell["winners"].items() if text not in winners
    )

    # Each context lists its questions, as the study's contextsOnCases links them.
    titles = {q["id"]: q["title"] for q in document["study"]["questions"]}
    cases = {c["id"]: c["title"] for c in load_reference("db-dump/case.json")}
    expected: dict[str, set[str]] = {}
    for link in load_reference("db-dump/contextsOnCases.json"):
        expected.setdefault(link["contextId"], set()).add(cases[link["caseId"]])
    listed = {c["text"]: {titles[q] for q in c["question_ids"]} for c in document["contexts"]}
    # The study's other contexts (in the dump, linked to no case) list none.
    assert {text: ids for text, ids in listed.items() if ids} == expected
    assert set(expected) == set(winners)

    page = staff.get(reverse("research:study", args=["mai"])).content.decode()
    religious = page[page.index('<p class="context-label">When being religious') :]
    religious = religious[: religious.index("</li>")]
    assert "Tied for the top in 19% of resamples" in religious
    cells_won = sum(
        1 / len(cell["ties"].get("When being religious", [0]))
        for cell in cells
        if winners["When being religious"]["value_id"]
        in (cell["ties"].get("When being religious") or [cell["winners"]["When being religious"]])
    )
    shown = f"{cells_won:.1f}".removesuffix(".0")
    assert f"Still wins in {shown} of 48 threshold settings" in religious


@pytest.mark.django_db
def test_a_tied_winner_is_listed_as_a_tie_on_the_page_and_in_live_json(staff: Client) -> None:
    study = Study.objects.create(slug="tied", title="A tied study")
    question = Question.objects.create(study=study, title="Q", text="What now?")
    context_id = services.context_ensure(
        study_id=study.pk, text="When in doubt", question_ids=[question.pk]
    )
    base, left, right = (
        Value.objects.create(study=study, title=t, description="d", policies=["P"])
        for t in ("Base", "Left rival", "Right rival")
    )
    for rival in (left, right):
        for _ in range(3):
            UpgradeVote.objects.create(
                study=study,
                participant=Participant.objects.create(study=study),
                from_value=base,
                to_value=rival,
                context_id=context_id,
                choice="upgrade",
            )
    snapshot = snapshots.snapshot_build(study_id=study.pk, params=Params(bootstrap=20))
    (winner,) = snapshot.document["winners"]
    assert winner["tied_value_ids"] == sorted([left.pk, right.pk])
    assert winner["tie"] is True
    assert winner["support"] == CONTESTED
    assert snapshot.document["contexts"] == [
        {"id": context_id, "text": "When in doubt", "question_ids": [question.pk]}
    ]

    page = staff.get(reverse("research:study", args=["tied"])).content.decode()
    card = page[page.index('<li class="winner-card">') :]
    card = card[: card.index("</ul>", card.index('class="tied-values'))]
    assert '<span class="tag tie">tie</span> 2 values share the top score' in card
    assert "Left rival" in card
    assert "Right rival" in card

    live = staff.get(reverse("research:live_winners", args=["tied"])).json()
    (shown,) = live["winners"]
    assert [t["title"] for t in shown["tied"]] == ["Left rival", "Right rival"]
    assert shown["support"] == CONTESTED
