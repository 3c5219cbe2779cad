"""The researcher pages: staff only; the reference study's winners, graph and edges; snapshot
history and diffs; every export download; the "Build a snapshot" button."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html import escape
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
import networkx as nx
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from elicitation.models import Participant, Question, Study
from moralgraph import services
from moralgraph.graph import Params
from moralgraph.models import GraphSnapshot, Value
from moralgraph.services import snapshots

pytestmark = pytest.mark.django_db
CUTOFF = "2023-10-18T00:00:00Z"
SCHEMA = Path(__file__).resolve().parents[2] / "moralgraph" / "snapshot.schema.json"
FAST = Params(
    mode="reference", bootstrap=0, grid_min_wiser=(), grid_min_likelihood=(), grid_max_entropy=()
)


@pytest.fixture
def staff(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user(
        username="researcher", password="not-used-here", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reference(realdata: Path) -> GraphSnapshot:
    """The reference study imported and built as published (reference mode, the cutoff)."""
    dump = realdata / "mai-dft-moral-graph" / "db-dump"
    call_command("import_mai", str(dump), study="mai", stdout=StringIO())
    call_command(
        "build_graph", "mai", "--mode", "reference", "--before", CUTOFF, "--bootstrap", "10",
        stdout=StringIO(),
    )  # fmt: skip
    return GraphSnapshot.objects.get()


@pytest.fixture
def published(realdata: Path) -> dict[str, Any]:
    path = realdata / "mai-dft-moral-graph/published/moral-graph-all-participants.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


class Small:
    """A small study built through the services: values, one context, participants."""

    def __init__(self, titles: list[str]) -> None:
        self.study = Study.objects.create(slug="small", title="A small study")
        question = Question.objects.create(study=self.study, title="Q", text="What now?")
        self.context_id = services.context_ensure(
            study_id=self.study.pk, text="When in doubt", question_ids=[question.pk]
        )
        self.values = [
            Value.objects.create(study=self.study, title=t, description="d", policies=["P"])
            for t in titles
        ]

    def votes(self, a: int, b: int, n: int, choice: str = "upgrade") -> None:
        for _ in range(n):
            participant = Participant.objects.create(study=self.study)
            services.upgrade_vote_cast(
                participant_id=participant.pk,
                from_value_id=self.values[a].pk,
                to_value_id=self.values[b].pk,
                context_id=self.context_id,
                choice=choice,
            )

    def build(self) -> GraphSnapshot:
        return snapshots.snapshot_build(study_id=self.study.pk, params=FAST)


def section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def svg_of(html: str) -> str:
    return section(html, "<svg", "</svg>")


# --- access ---------------------------------------------------------------------------------


def test_researcher_pages_are_for_staff_only(
    reference: GraphSnapshot, staff: Client, django_user_model: Any
) -> None:
    snapshot = reference
    urls = [
        reverse("research:studies"),
        reverse("research:study", args=["mai"]),
        reverse("research:snapshot", args=["mai", snapshot.pk]),
        reverse("research:snapshot_diff", args=["mai", snapshot.pk]),
        reverse("research:snapshot_export", args=["mai", snapshot.pk, "json"]),
    ]
    member = django_user_model.objects.create_user(username="participant", password="x")
    not_staff = Client()
    not_staff.force_login(member)
    for url in urls:
        for client in (Client(), not_staff):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/?next="), url
        assert staff.get(url).status_code == 200, url
    build = reverse("research:snapshot_build", args=["mai"])
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send") as delay:
        assert Client().post(build).status_code == 302
        assert not_staff.post(build)["Location"].startswith("/admin/login/")
        assert delay.call_count == 0
    # Unknown studies, snapshots and formats are a 404, not a 500.
    assert staff.get(reverse("research:study", args=["nope"])).status_code == 404
    assert staff.get(reverse("research:snapshot", args=["mai", 999999])).status_code == 404
    assert (
        staff.get(reverse("research:snapshot_export", args=["mai", snapshot.pk, "xls"])).status_code
        == 404
    )


# --- the study page on the reference study --------------------------------------------------


def test_study_list_shows_counts(reference: GraphSnapshot, staff: Client) -> None:
    html = staff.get(reverse("research:studies")).content.decode()
    card = section(html, escape(Study.objects.get(slug="mai").title), "</li>")
    for label, count in (
        ("Participants", 1464),
        ("Cards", 630),
        ("Values", 115),
        ("Votes", 1592),
        ("Snapshots", 1),
    ):
        assert f"<dt>{label}</dt><dd>{count}</dd>" in card, label
    assert reverse("research:study", args=["mai"]) in html


def test_study_page_shows_winners_and_published_counts(
    reference: GraphSnapshot, published: dict[str, Any], staff: Client
) -> None:
    html = staff.get(reverse("research:study", args=["mai"])).content.decode()
    winners = section(html, 'id="winners-heading"', 'id="graph-heading"')
    assert len(reference.winners) == 11  # contexts with at least one kept edge
    titles = dict(Value.objects.values_list("id", "title"))
    for winner in reference.document["winners"]:
        card = section(winners, f'<p class="context-label">{escape(winner["context"])}', "</li>")
        assert f'<p class="winner-title">{escape(titles[winner["value_id"]])}</p>' in card
        assert winner["support"] in card
        percent = f"{winner['win_probability']:.0%}"
        assert f"wins in {percent} of resamples" in card
        if winner["runner_up"]:
            assert escape(titles[winner["runner_up"]["value_id"]]) in card
        # Sensitivity: how many threshold settings of the grid keep this winner; a setting
        # where it ties with k - 1 other values counts 1/k.
        cells = reference.document["sensitivity"]["cells"]
        same = 0.0
        for c in cells:
            tied = c["ties"].get(winner["context"]) or [c["winners"].get(winner["context"])]
            if winner["value_id"] in tied:
                same += 1 / len(tied)
        shown = f"{same:.1f}".removesuffix(".0")
        assert f"Still wins in {shown} of {len(cells)} threshold settings" in card
    assert len(reference.document["sensitivity"]["cells"]) == 48
    # "religious"'s winner wins 12 of the 48 settings alone and ties with one value of a lower
    # id (which used to take them) in 12 more: 12 + 12 / 2.
    religious = section(winners, '<p class="context-label">When being religious', "</li>")
    assert "Still wins in 18 of 48 threshold settings" in religious

    # A published edge, by its source ids: its row shows the published counts.
    by_source = dict(Value.objects.filter(study__slug="mai").values_list("source_id", "title"))
    edges = section(html, 'id="edges-heading"', "</table>")
    rows = re.findall(r"<tr class=\"kept\">(.*?)</tr>", edges, flags=re.S)
    assert len(rows) == 69  # every kept edge; they come first and fit under the cap
    for edge in published["edges"][:5]:
        source = escape(by_source[str(edge["sourceValueId"])])
        wiser = escape(by_source[str(edge["wiserValueId"])])
        (row,) = [r for r in rows if f"<td>{source}</td>\n        <td>{wiser}</td>" in r]
        numbers = re.findall(r'<td class="num">([^<]*)</td>', row)
        counts = edge["counts"]
        assert [int(n) for n in numbers[:5]] == [
            counts["markedWiser"],
            counts["markedNotWiser"],
            counts["markedUnsure"],
            counts["markedLessWise"],
            counts["impressions"],
        ]
        assert float(numbers[5]) == pytest.approx(edge["summary"]["wiserLikelihood"], abs=5e-4)
        assert float(numbers[6]) == pytest.approx(edge["summary"]["entropy"], abs=5e-4)
        assert re.search(r'<td class="nowrap">0\.\d\d–[01]\.\d\d</td>', row)  # the interval


def test_the_svg_draws_every_kept_edge(reference: GraphSnapshot, staff: Client) -> None:
    html = staff.get(reverse("research:study", args=["mai"])).content.decode()
    svg = svg_of(html)
    kept = {(e["from"], e["to"]) for e in reference.document["edges"] if e["kept"]}
    assert len(kept) == 69
    assert svg.count("<path") == 69
    assert svg.count('marker-end="url(#mg-arrow') == 69
    touched = {v for pair in kept for v in pair}
    assert svg.count("<circle") == len(touched)
    # Winners are highlighted.
    assert svg.count('class="mg-node winner"') == len({w["value_id"] for w in reference.winners})


def test_the_svg_escapes_titles(staff: Client) -> None:
    small = Small(["<script>alert(1)</script>", "Calm & <b>bold</b> care"])
    small.votes(0, 1, 3)
    small.build()
    html = staff.get(reverse("research:study", args=["small"])).content.decode()
    assert "<script>alert(1)" not in html
    assert "<b>bold</b>" not in html
    svg = svg_of(html)
    assert svg.count("<path") == 1
    assert "&lt;script&gt;alert(1)&lt;/sc" in svg  # the label, cut to fit
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg  # the full title in its tooltip
    assert "Calm &amp; &lt;b&gt;bold&lt;/b&gt; care" in svg


def test_a_long_edge_table_is_capped_with_a_show_all_link(staff: Client) -> None:
    small = Small([f"Value {i}" for i in range(16)])
    for a in range(15):
        for b in range(a + 1, 16):
            small.votes(a, b, 1, choice="no_upgrade")
    snapshot = small.build()
    total = len(snapshot.document["edges"])
    assert total > 100
    url = reverse("research:study", args=["small"])
    html = staff.get(url).content.decode()
    assert html.count('<tr class="dropped">') == 100
    assert f"Show all {total} edges" in html
    assert staff.get(url + "?edges=all").content.decode().count('<tr class="dropped">') == total


# --- history and diffs ----------------------------------------------------------------------


def test_history_and_diff_show_a_gained_edge(staff: Client) -> None:
    small = Small(["Honest loyalty", "Caring candour", "Quiet patience", "Attentive presence"])
    small.votes(0, 1, 3)
    first = small.build()
    small.votes(2, 3, 2)
    second = small.build()
    assert second.pk != first.pk

    html = staff.get(reverse("research:study", args=["small"])).content.decode()
    history = section(html, 'id="history-heading"', "</table>")
    assert f"#{first.pk}" in history
    assert f"#{second.pk}" in history
    diff_url = reverse("research:snapshot_diff", args=["small", second.pk])
    assert f'href="{diff_url}?against={first.pk}"' in history
    assert first.content_hash[:10] in history
    assert second.content_hash[:10] in history

    for url in (diff_url, f"{diff_url}?against={first.pk}"):  # the predecessor by default
        page = staff.get(url).content.decode()
        gained = section(page, 'id="gained-heading"', "</section>")
        assert "Quiet patience → <strong>Attentive presence</strong>" in gained
        assert "Honest loyalty" not in gained
        assert "None." in section(page, 'id="lost-heading"', "</section>")
        assert "<dt>Edges gained</dt><dd>1</dd>" in page

    # The other way round, the edge is lost.
    back = staff.get(
        reverse("research:snapshot_diff", args=["small", first.pk]) + f"?against={second.pk}"
    ).content.decode()
    lost = section(back, 'id="lost-heading"', "</section>")
    assert "Quiet patience → <strong>Attentive presence</strong>" in lost
    # The first snapshot has no predecessor; another study's snapshot is not found.
    alone = staff.get(reverse("research:snapshot_diff", args=["small", first.pk])).content.decode()
    assert "nothing before it to compare with" in alone
    other = Small.__new__(Small)
    other.study = Study.objects.create(slug="other", title="Other")
    foreign = snapshots.snapshot_build(study_id=other.study.pk, params=FAST)
    assert staff.get(f"{diff_url}?against={foreign.pk}").status_code == 404
    assert staff.get(f"{diff_url}?against=abc").status_code == 404


def test_diff_shows_winner_changes(staff: Client) -> None:
    small = Small(["Honest loyalty", "Caring candour", "Quiet patience"])
    small.votes(0, 1, 3)
    first = small.build()
    small.votes(1, 2, 5)
    second = small.build()
    assert first.winners[0]["title"] == "Caring candour"
    assert second.winners[0]["title"] == "Quiet patience"
    page = staff.get(reverse("research:snapshot_diff", args=["small", second.pk])).content.decode()
    changes = section(page, 'id="winners-heading"', "</section>")
    assert "<del>Caring candour</del> → <ins>Quiet patience</ins>" in changes


# --- exports --------------------------------------------------------------------------------


def download(staff: Client, snapshot: GraphSnapshot, fmt: str) -> tuple[bytes, str]:
    response = staff.get(reverse("research:snapshot_export", args=["mai", snapshot.pk, fmt]))
    assert response.status_code == 200, fmt
    disposition = response["Content-Disposition"]
    match = re.fullmatch(r'attachment; filename="(mai-snapshot-\d+\.[a-z.]+)"', disposition)
    assert match, disposition
    return response.content, match.group(1)


def test_every_export_downloads(reference: GraphSnapshot, staff: Client) -> None:
    snapshot = reference
    document = snapshot.document
    kept = {(e["from"], e["to"]) for e in document["edges"] if e["kept"]}

    body, name = download(staff, snapshot, "json")
    assert name == f"mai-snapshot-{snapshot.pk}.json"
    schema = json.loads(SCHEMA.read_text())
    exported = json.loads(body)
    jsonschema.validate(exported, schema, format_checker=jsonschema.FormatChecker())
    assert exported["content_hash"] == snapshot.content_hash

    body, name = download(staff, snapshot, "reference-json")
    assert name.endswith(".reference.json")
    assert len(json.loads(body)["edges"]) == 69

    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        body, name = download(staff, snapshot, fmt)
        assert name.endswith(f".{fmt}")
        graph = reader(io.BytesIO(body))
        assert {(int(a), int(b)) for a, b in graph.edges} == kept

    body, name = download(staff, snapshot, "csv")
    assert name.endswith(".csv.zip")
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = {Path(n).name: n for n in archive.namelist()}
        assert {"values.csv", "edges.csv", "votes.csv", "winners.csv"} == set(names)
        tables = {short: archive.read(full).decode() for short, full in names.items()}
    votes = list(csv.DictReader(io.StringIO(tables["votes.csv"])))
    assert len(votes) == snapshot.vote_count == 1540  # the snapshot's scope: before the cutoff
    public_ids = {str(p) for p in Participant.objects.values_list("public_id", flat=True)}
    assert {v["participant"] for v in votes} <= public_ids
    everything = "".join(tables.values())
    external = Participant.objects.exclude(source_id="").values_list("source_id", flat=True)
    assert external.exists()
    assert not any(source in everything for source in external)
    assert len(list(csv.DictReader(io.StringIO(tables["edges.csv"])))) == len(document["edges"])


# --- the "Build a snapshot" button ----------------------------------------------------------


def test_build_a_snapshot_button(staff: Client, django_capture_on_commit_callbacks: Any) -> None:
    small = Small(["Honest loyalty", "Caring candour"])
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
        small.votes(0, 1, 2)
    url = reverse("research:study", args=["small"])
    html = staff.get(url).content.decode()
    assert "No snapshot yet" in html
    build = reverse("research:snapshot_build", args=["small"])
    assert f'action="{build}"' in html
    assert ">Build a snapshot</button>" in html
    assert staff.get(build).status_code == 405  # only a POST builds

    with mock.patch("moralgraph.services.snapshots.rebuild_task_send") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff.post(build, follow=True)
        delay.assert_called_once_with(small.study.pk)
    assert "A new snapshot is being built" in response.content.decode()
    assert "rebuild of the live graph is queued" in response.content.decode()

    # The worker's part, run here: the page then shows the snapshot.
    snapshot = snapshots.snapshot_rebuild_run(study_id=small.study.pk)
    assert snapshot is not None
    html = staff.get(url).content.decode()
    assert f"Snapshot {snapshot.pk}" in html
    assert "No snapshot yet" not in html
    assert '<p class="winner-title">Caring candour</p>' in html


def test_build_button_on_a_study_without_votes(
    staff: Client, django_capture_on_commit_callbacks: Any
) -> None:
    study = Study.objects.create(slug="empty", title="Nothing yet")
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff.post(reverse("research:snapshot_build", args=["empty"]))
        delay.assert_called_once_with(study.pk)
    assert response["Location"] == reverse("research:study", args=["empty"])
    snapshot = snapshots.snapshot_rebuild_run(study_id=study.pk)
    assert snapshot is not None
    assert snapshot.vote_count == 0
    html = staff.get(response["Location"]).content.decode()
    assert "No context has a winner yet" in html
    assert "No edge is kept yet" in html
