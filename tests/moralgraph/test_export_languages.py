"""Exports of a multilingual study carry each wording's language and its translations: the
snapshot document (and its schema), the CSV tables, GraphML, the JSON file, and the raw cards
table; the reference JSON keeps the published shape."""

from __future__ import annotations

import copy
import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
import networkx as nx
import pytest
from django.test import Client
from django.utils import timezone

from elicitation.models import Participant, Study, ValuesCard
from inference.snapshot import SNAPSHOT_SCHEMA_PATH, load_snapshot
from moralgraph import services as graph_services
from moralgraph.exports.files import export_write
from moralgraph.graph import value_language, value_translations
from moralgraph.models import GraphSnapshot, Value, ValueTranslation
from moralgraph.selectors.translations import value_wording_hash
from moralgraph.services import snapshots
from tests.factories import FAST_PARAMS, make_question, make_researcher, make_study

pytestmark = pytest.mark.django_db

SPANISH_POLICIES = ["PREOCUPACIONES que mi amiga no ha dicho", "MANERAS de negarme con cariño"]
ENGLISH = {
    "title": "Honest and caring friendship",
    "description": "Caring for a friend by telling her hard truths.",
    "policies": ["WORRIES my friend has not said", "WAYS to refuse with care"],
}


class Multilingual:
    """A study whose Spanish value has a current English translation and an Arabic one made
    from an earlier wording; an English value whose language was not recorded; a snapshot
    keeping the edge from the second to the first."""

    def __init__(self) -> None:
        self.study = make_study()
        self.question = make_question(self.study)
        context_id = graph_services.context_ensure(
            study_id=self.study.pk, text="Cuando dudo", question_ids=[self.question.pk]
        )
        self.spanish = Value.objects.create(
            study=self.study,
            title="Amistad honesta",
            description="Una versión anterior.",
            policies=SPANISH_POLICIES,
            language="es",
        )
        ValueTranslation.objects.create(
            value=self.spanish,
            language="ar",
            title="صداقة صادقة",
            description="نسخة سابقة.",
            policies=["لحظات", "طرق"],
            source_hash=value_wording_hash(self.spanish),
            model="fake-model",
        )
        # A merged card replaced the wording since: the Arabic translation is stale.
        self.spanish.description = "Cuidar a una amiga diciéndole verdades difíciles."
        self.spanish.save()
        ValueTranslation.objects.create(
            value=self.spanish,
            language="en",
            source_hash=value_wording_hash(self.spanish),
            model="fake-model",
            **ENGLISH,
        )
        self.unrecorded = Value.objects.create(
            study=self.study, title="Caring candour", description="d", policies=["MOMENTS of P"]
        )
        with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
            for _ in range(3):
                graph_services.upgrade_vote_cast(
                    participant_id=Participant.objects.create(study=self.study).pk,
                    from_value_id=self.unrecorded.pk,
                    to_value_id=self.spanish.pk,
                    context_id=context_id,
                    choice="upgrade",
                )
        self.snapshot = snapshots.snapshot_build(study_id=self.study.pk, params=FAST_PARAMS)


@pytest.fixture
def graph() -> Multilingual:
    return Multilingual()


def validate(document: dict[str, Any]) -> None:
    schema = json.loads(SNAPSHOT_SCHEMA_PATH.read_text())
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


def values_by_title(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["title"]: v for v in document["values"]}


def test_the_snapshot_carries_languages_and_current_translations(graph: Multilingual) -> None:
    document = GraphSnapshot.objects.get(pk=graph.snapshot.pk).document
    validate(document)
    assert document["schema_version"] == 2  # optional additions keep the version
    values = values_by_title(document)
    spanish = values["Amistad honesta"]
    assert spanish["language"] == "es"
    assert spanish["description"] == "Cuidar a una amiga diciéndole verdades difíciles."
    assert spanish["translations"] == {"en": ENGLISH}  # not the stale Arabic one
    assert values["Caring candour"]["language"] == ""
    assert values["Caring candour"]["translations"] == {}
    assert "extra" not in spanish


def test_documents_without_languages_still_validate_and_read_as_not_recorded(
    graph: Multilingual, tmp_path: Path
) -> None:
    older = copy.deepcopy(graph.snapshot.document)
    for value in older["values"]:
        del value["language"], value["translations"]
    validate(older)
    assert [(value_language(v), value_translations(v)) for v in older["values"]] == [
        ("", {}),
        ("", {}),
    ]
    path = tmp_path / "older.json"
    path.write_text(json.dumps(older))
    assert load_snapshot(path).values[graph.spanish.pk].title == "Amistad honesta"

    broken = copy.deepcopy(graph.snapshot.document)
    values_by_title(broken)["Amistad honesta"]["translations"]["en"]["policies"] = "one"
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_the_json_export_is_utf8_text_and_loads_downstream(
    graph: Multilingual, tmp_path: Path
) -> None:
    (path,) = export_write(graph.snapshot, "json", tmp_path / "snapshot.json")
    text = path.read_bytes().decode("utf-8")
    assert "diciéndole" in text  # as written, not \\u escapes
    exported = json.loads(text)
    assert exported == graph.snapshot.document
    loaded = load_snapshot(path)
    assert loaded.values[graph.spanish.pk].description.startswith("Cuidar")


def test_the_csv_values_table_has_language_and_translations(graph: Multilingual) -> None:
    staff = Client()
    staff.force_login(make_researcher(graph.study))
    url = f"/research/{graph.study.slug}/snapshots/{graph.snapshot.pk}/export/csv"
    response = staff.get(url)
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith("/values.csv")]
        text = archive.read(name).decode("utf-8")
    rows = {row["title"]: row for row in csv.DictReader(io.StringIO(text))}
    spanish = rows["Amistad honesta"]
    assert spanish["language"] == "es"
    assert json.loads(spanish["translations"]) == {"en": ENGLISH}
    assert json.loads(spanish["policies"]) == SPANISH_POLICIES
    assert "cariño" in text  # policies and translations are readable text
    assert (rows["Caring candour"]["language"], rows["Caring candour"]["translations"]) == (
        "",
        "{}",
    )


def test_graphml_nodes_carry_language_and_translations(graph: Multilingual, tmp_path: Path) -> None:
    (path,) = export_write(graph.snapshot, "graphml", tmp_path / "graph.graphml")
    nodes = nx.read_graphml(str(path)).nodes
    spanish = nodes[str(graph.spanish.pk)]
    assert spanish["language"] == "es"
    assert json.loads(spanish["translations"]) == {"en": ENGLISH}
    assert json.loads(spanish["policies"]) == SPANISH_POLICIES


def test_the_reference_json_keeps_the_published_shape(graph: Multilingual, tmp_path: Path) -> None:
    (path,) = export_write(graph.snapshot, "reference-json", tmp_path / "reference.json")
    reference = json.loads(path.read_text(encoding="utf-8"))
    assert {tuple(sorted(v)) for v in reference["values"]} == {
        ("evaluationCriteria", "id", "instructionsDetailed", "instructionsShort", "title")
    }
    assert {v["title"] for v in reference["values"]} == {"Amistad honesta", "Caring candour"}


def test_the_cards_export_has_each_cards_language() -> None:
    study: Study = make_study()
    question = make_question(study)
    for language, title in (("es", "Amistad honesta"), ("", "Imported card")):
        ValuesCard.objects.create(
            participant=Participant.objects.create(study=study),
            question=question,
            title=title,
            description="d",
            policies=["MOMENTS of P"],
            language=language,
            submitted_at=timezone.now(),
        )
    staff = Client()
    staff.force_login(make_researcher(study))
    response = staff.get(f"/staff/{study.slug}/exports/cards.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert {row["title"]: row["language"] for row in rows} == {
        "Amistad honesta": "es",
        "Imported card": "",
    }
