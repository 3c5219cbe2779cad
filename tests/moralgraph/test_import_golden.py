"""THE golden acceptance test: the reference study imported into the database, scored by
`build_graph` and exported by `export_graph`, reproduces the published moral graph."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path
from typing import Any

import jsonschema
import networkx as nx
import pytest
from django.core.management import call_command

from elicitation.models import Participant, Question, Study, ValuesCard
from moralgraph.models import (
    Context,
    GraphRebuildState,
    GraphSnapshot,
    Selection,
    UpgradeHypothesis,
    UpgradeVote,
    Value,
)
from tests.support.processes import ManagedProcess, wait_until

pytestmark = pytest.mark.django_db
CUTOFF = "2023-10-18T00:00:00Z"
SCHEMA = Path(__file__).resolve().parents[2] / "moralgraph" / "snapshot.schema.json"


def dump_dir(realdata: Path) -> Path:
    return realdata / "mai-dft-moral-graph" / "db-dump"


IMPORTED: list[Any] = [
    Study,
    Question,
    Participant,
    ValuesCard,
    Context,
    Context.questions.through,
    Value,
    Selection,
    UpgradeVote,
    UpgradeHypothesis,
]


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in IMPORTED}


def every_row() -> dict[str, list[dict[str, Any]]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in IMPORTED}


@pytest.fixture
def imported(realdata: Path) -> Path:
    call_command("import_mai", str(dump_dir(realdata)), study="mai", stdout=StringIO())
    return realdata


def build(*args: str) -> str:

    out = StringIO()
    call_command("build_graph", "mai", *args, stdout=out)
    return out.getvalue()


def export(fmt: str, out: Path) -> Path:
    call_command("export_graph", "mai", format=fmt, out=str(out), stdout=StringIO())
    return out


def test_reference_study_reproduces_the_published_graph(imported: Path, tmp_path: Path) -> None:
    counts = row_counts()
    assert counts["UpgradeVote"] == 1592
    assert counts["Value"] == 115
    assert counts["ValuesCard"] == 630
    assert counts["UpgradeHypothesis"] == 43
    assert counts["Question"] == 3
    # Importing again changes no row count (upserts on source ids).
    call_command("import_mai", str(dump_dir(imported)), study="mai", stdout=StringIO())
    assert row_counts() == counts

    printed = build("--mode", "reference", "--before", CUTOFF, "--bootstrap", "20")
    snapshot = GraphSnapshot.objects.get()
    assert f"snapshot {snapshot.pk} content_hash {snapshot.content_hash}" in printed
    assert "votes 1540, participants 506" in printed
    for winner in snapshot.winners:
        assert f"{winner['context']}: {winner['title']}" in printed

    mine = json.loads(export("reference-json", tmp_path / "ref.json").read_text())
    published = json.loads(
        (imported / "mai-dft-moral-graph/published/moral-graph-all-participants.json").read_text()
    )
    expected = {(e["sourceValueId"], e["wiserValueId"]): e for e in published["edges"]}
    got = {(e["sourceValueId"], e["wiserValueId"]): e for e in mine["edges"]}
    assert len(got) == len(expected) == 69
    assert got.keys() == expected.keys()
    for key, edge in expected.items():
        assert got[key]["counts"] == edge["counts"], key
        assert sorted(got[key]["contexts"]) == sorted(edge["contexts"]), key
        assert got[key]["summary"]["wiserLikelihood"] == pytest.approx(
            edge["summary"]["wiserLikelihood"], abs=1e-12
        )
        assert got[key]["summary"]["entropy"] == pytest.approx(
            edge["summary"]["entropy"], abs=1e-12
        )
    fields = ("id", "title", "instructionsShort", "instructionsDetailed", "evaluationCriteria")
    assert sorted(tuple(json.dumps(v[f]) for f in fields) for v in mine["values"]) == sorted(
        tuple(json.dumps(v[f]) for f in fields) for v in published["values"]
    )
    assert len(mine["values"]) == 60

    # The same scope and parameters again: the same snapshot, nothing new written.
    again = build("--mode", "reference", "--before", CUTOFF, "--bootstrap", "20")
    assert f"snapshot {snapshot.pk} " in again
    assert GraphSnapshot.objects.count() == 1


def test_importing_again_changes_nothing_and_the_graph_is_rebuilt(
    realdata: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as sent:
        call_command("import_mai", str(dump_dir(realdata)), study="mai", stdout=StringIO())
    study = Study.objects.get(slug="mai")
    state = GraphRebuildState.objects.get(study=study)
    assert state.is_queued
    assert state.requested_seq == 1
    assert state.built_seq == 0
    assert len(sent) == 1  # the rebuild task, sent after commit
    before = every_row()

    # An edited value and card are brought back; nothing else is written.
    value = Value.objects.get(study=study, source_id="304")
    Value.objects.filter(pk=value.pk).update(title="edited")
    ValuesCard.objects.filter(value=value).update(title="edited")
    out = StringIO()
    call_command("import_mai", str(dump_dir(realdata)), study="mai", stdout=out)
    assert every_row() == before
    assert "values 115, participants 1464, cards 630, selections 3249, votes 1592" in out.getvalue()
    state.refresh_from_db()
    assert state.is_queued
    assert state.requested_seq == 2


@pytest.mark.django_db(transaction=True)
def test_an_import_reaches_a_snapshot_through_the_worker(
    realdata: Path, celery_worker: ManagedProcess
) -> None:
    call_command("import_mai", str(dump_dir(realdata)), study="mai", stdout=StringIO())

    def built() -> GraphSnapshot | None:
        """The snapshot, once its rebuild is recorded too (it is stored a moment before)."""
        celery_worker.assert_running()
        snapshot = GraphSnapshot.objects.filter(study__slug="mai").first()
        state = GraphRebuildState.objects.filter(study__slug="mai").first()
        if snapshot is None or state is None or state.built_seq != state.requested_seq:
            return None
        return snapshot

    snapshot = wait_until(built, timeout=60, what="the imported study's live snapshot")
    assert isinstance(snapshot, GraphSnapshot)
    assert snapshot.vote_count == 1592
    assert snapshot.participant_count == 522
    state = GraphRebuildState.objects.get(study=snapshot.study_id)
    assert state.built_seq == state.requested_seq == 1


def test_every_export_format(imported: Path, tmp_path: Path) -> None:
    build("--mode", "context", "--bootstrap", "0")
    build("--mode", "reference", "--bootstrap", "10")
    schema = json.loads(SCHEMA.read_text())
    for snapshot in GraphSnapshot.objects.all():
        call_command(
            "export_graph",
            "mai",
            format="json",
            out=str(tmp_path / f"{snapshot.pk}.json"),
            snapshot=snapshot.pk,
            stdout=StringIO(),
        )
        document = json.loads((tmp_path / f"{snapshot.pk}.json").read_text())
        jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
        assert document["snapshot_id"] == snapshot.pk
        assert document["content_hash"] == snapshot.content_hash

    document = GraphSnapshot.objects.latest().document  # the reference-mode one
    kept = {(e["from"], e["to"]) for e in document["edges"] if e["kept"]}
    nodes = {n for pair in kept for n in pair}
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        graph = reader(str(export(fmt, tmp_path / f"graph.{fmt}")))
        assert {int(n) for n in graph.nodes} == nodes
        assert {(int(a), int(b)) for a, b in graph.edges} == kept

    folder = export("csv", tmp_path / "csv")
    assert sorted(p.name for p in folder.iterdir()) == [
        "edges.csv",
        "values.csv",
        "votes.csv",
        "winners.csv",
    ]
    with (folder / "votes.csv").open() as handle:
        votes = list(csv.DictReader(handle))
    assert len(votes) == 1592
    public_ids = {str(p) for p in Participant.objects.values_list("public_id", flat=True)}
    source_ids = set(Participant.objects.values_list("source_id", flat=True))
    assert {v["participant"] for v in votes} <= public_ids
    everything = "".join(p.read_text() for p in folder.iterdir())
    # No external (source) participant ids anywhere in the export.
    assert not any(source in everything for source in source_ids if source.startswith("chat:"))
    assert "user:" not in everything
