"""The study's CSV exports (the staff exports page): the raw tables, the Polis-compatible files
read back against the real Polis exports' columns, and the formula guard of every CSV export
of both apps."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from elicitation.exports import csv_bytes, safe_cell
from elicitation.exports.polis import PolisComment, PolisPick, polis_tables
from elicitation.models import (
    ModerationAction,
    Participant,
    Question,
    Study,
    SurveyResponse,
    ValuesCard,
)
from elicitation.selectors import FUNNEL_STAGES
from moralgraph import services as graph_services
from moralgraph.exports import cells as graph_cells
from moralgraph.exports.formats import write_csv, write_votes_csv
from moralgraph.models import Context, Value
from moralgraph.services import snapshots
from tests.factories import (
    FAST_PARAMS,
    make_admin,
    make_question,
    make_researcher,
    make_small_graph,
    make_study,
)

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example","click")'
POLIS_FILES = ("comments", "votes", "participants-votes")


@dataclass
class Crafted:
    study: Study
    question: Question
    people: dict[str, Participant]
    values: dict[str, Value]
    cards: dict[str, ValuesCard]
    researcher: Any


def _participant(study: Study, stage: str, **fields: Any) -> Participant:
    return Participant.objects.create(
        study=study, stage=stage, consented_at=timezone.now(), **fields
    )


def _card(
    person: Participant, question: Question, title: str, value: Value | None, **fields: Any
) -> ValuesCard:
    return ValuesCard.objects.create(
        participant=person,
        question=question,
        title=title,
        description=fields.pop("description", "What matters here."),
        policies=["MOMENTS when I notice", "CHOICES that help"],
        value=value,
        submitted_at=timezone.now(),
        **fields,
    )


def _picks(person: Participant, shown: list[Value], picked: list[Value]) -> None:
    graph_services.selection_record(
        participant_id=person.pk,
        draw_id=f"wise:{person.public_id}",
        shown_value_ids=[v.pk for v in shown],
        picked_value_ids=[v.pk for v in picked],
    )


@pytest.fixture
def crafted() -> Crafted:
    """A study with a finished participant, one who sent their picks, one withdrawn, a staff
    preview, a quarantined one and one still looking at the values; values with a formula for
    a title, a seeded one without a card and a hidden one."""
    study = make_study()
    question = make_question(study, title="Lying for a friend")
    stage = Participant.Stage
    people = {
        "finished": _participant(study, stage.FINISHED, finished_at=timezone.now()),
        "sent": _participant(study, stage.VOTES),
        "withdrawn": _participant(study, stage.SURVEY, withdrawn_at=timezone.now()),
        "preview": _participant(study, stage.FINISHED, is_preview=True),
        "quarantined": _participant(study, stage.VOTES, quarantined_at=timezone.now()),
        "looking": _participant(study, stage.PICKS),
    }
    policies = ["MOMENTS when I notice", "CHOICES that help"]
    values = {
        key: Value.objects.create(study=study, title=title, description="d", policies=policies)
        for key, title in (
            ("formula", HYPERLINK),
            ("candour", "Caring candour"),
            ("seeded", "Quiet courage"),
            ("hidden", "Hidden value"),
        )
    }
    Value.objects.filter(pk=values["hidden"].pk).update(status=Value.Status.HIDDEN)
    held = ValuesCard.Screening.HELD
    cards = {
        # Held and earlier than "sent"'s card: never the author of "candour".
        "looking": _card(
            people["looking"], question, "Held card", values["candour"], screening=held
        ),
        "finished": _card(people["finished"], question, HYPERLINK, values["formula"]),
        "sent": _card(
            people["sent"], question, "Caring candour", values["candour"], description="-1 dash"
        ),
        "withdrawn": _card(people["withdrawn"], question, "Withdrawn words", values["formula"]),
        "preview": _card(people["preview"], question, "Preview words", values["formula"]),
    }
    v = values
    _picks(people["finished"], [v["formula"], v["candour"], v["seeded"], v["hidden"]],
           [v["formula"], v["seeded"]])  # fmt: skip
    _picks(people["sent"], [v["formula"], v["candour"], v["seeded"]], [v["candour"]])
    _picks(people["withdrawn"], [v["formula"], v["candour"]], [v["formula"]])
    _picks(people["preview"], [v["formula"]], [v["formula"]])
    _picks(people["quarantined"], [v["formula"]], [v["formula"]])
    _picks(people["looking"], [v["formula"], v["candour"]], [])
    SurveyResponse.objects.create(participant=people["finished"], item="fair", answer=4)
    SurveyResponse.objects.create(participant=people["finished"], item="comment", text="@SUM(1)")
    SurveyResponse.objects.create(participant=people["withdrawn"], item="comment", text="mine")
    SurveyResponse.objects.create(participant=people["preview"], item="comment", text="preview")
    researcher = make_researcher(study)
    log = ModerationAction.objects.create
    log(study=study, card=cards["looking"], participant=people["looking"], action="held",
        reason="+1 too short")  # fmt: skip
    log(study=study, card=cards["looking"], participant=people["looking"], action="approved",
        actor=researcher, reason="fine after all")  # fmt: skip
    log(study=study, card=cards["preview"], participant=people["preview"], action="screened")
    return Crafted(study, question, people, values, cards, researcher)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _download(client: Client, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def _header(client: Client, url: str) -> list[str]:
    return next(csv.reader(io.StringIO(client.get(url).content.decode("utf-8"))))


# --- the raw tables --------------------------------------------------------------------------


def test_cards_export_has_every_real_card_and_its_value_and_no_withdrawn_or_preview_words(
    crafted: Crafted,
) -> None:
    client = _client(crafted.researcher)
    url = f"/staff/{crafted.study.slug}/exports/cards.csv"
    assert _header(client, url) == [
        "participant",
        "card_id",
        "question_id",
        "question",
        "title",
        "description",
        "policies",
        "language",
        "submitted_at",
        "screening",
        "value_id",
        "value_title",
    ]
    rows = {row["card_id"]: row for row in _download(client, url)}
    assert set(rows) == {str(crafted.cards[k].pk) for k in ("looking", "finished", "sent")}
    formula = rows[str(crafted.cards["finished"].pk)]
    assert formula["participant"] == str(crafted.people["finished"].public_id)
    assert formula["title"] == "'" + HYPERLINK
    assert formula["value_id"] == str(crafted.values["formula"].pk)
    assert formula["value_title"] == "'" + HYPERLINK
    assert formula["policies"] == "MOMENTS when I notice\nCHOICES that help"
    assert formula["question"] == "Lying for a friend"
    sent = rows[str(crafted.cards["sent"].pk)]
    assert sent["description"] == "'-1 dash"
    assert sent["value_title"] == "Caring candour"
    assert rows[str(crafted.cards["looking"].pk)]["screening"] == "held"
    text = client.get(url).content.decode()
    for gone in ("withdrawn", "preview"):
        assert str(crafted.people[gone].public_id) not in text
        assert f"{gone.capitalize()} words" not in text


def test_picks_export_lists_shown_and_picked_values_of_real_participants(
    crafted: Crafted,
) -> None:
    client = _client(crafted.researcher)
    url = f"/staff/{crafted.study.slug}/exports/picks.csv"
    assert _header(client, url) == [
        "participant",
        "value_id",
        "value_title",
        "question_id",
        "question",
        "shown_at",
        "picked",
    ]
    rows = _download(client, url)
    by_person: dict[str, dict[str, str]] = {}
    for row in rows:
        by_person.setdefault(row["participant"], {})[row["value_id"]] = row["picked"]
    people, v = crafted.people, crafted.values
    assert set(by_person) == {
        str(people[k].public_id) for k in ("finished", "sent", "quarantined", "looking")
    }
    assert by_person[str(people["finished"].public_id)] == {
        str(v["formula"].pk): "true",
        str(v["candour"].pk): "false",
        str(v["seeded"].pk): "true",
        str(v["hidden"].pk): "false",
    }
    assert by_person[str(people["looking"].public_id)] == {
        str(v["formula"].pk): "false",
        str(v["candour"].pk): "false",
    }
    titles = {row["value_title"] for row in rows}
    assert "'" + HYPERLINK in titles
    assert HYPERLINK not in titles


def test_survey_funnel_and_moderation_exports(crafted: Crafted) -> None:
    client = _client(crafted.researcher)
    base = f"/staff/{crafted.study.slug}/exports"
    assert _header(client, f"{base}/survey.csv") == [
        "participant",
        "item",
        "answer",
        "text",
        "answered_at",
    ]
    survey = _download(client, f"{base}/survey.csv")
    finished = str(crafted.people["finished"].public_id)
    assert [(r["participant"], r["item"], r["answer"], r["text"]) for r in survey] == [
        (finished, "comment", "", "'@SUM(1)"),
        (finished, "fair", "4", ""),
    ]

    funnel = _download(client, f"{base}/funnel.csv")
    assert _header(client, f"{base}/funnel.csv") == ["stage", "count"]
    assert [row["stage"] for row in funnel] == list(FUNNEL_STAGES)
    counts = {row["stage"]: row["count"] for row in funnel}
    assert counts["entered"] == "5"  # the preview never counts
    assert counts["finished"] == "1"
    assert counts["withdrawn"] == "1"

    assert _header(client, f"{base}/moderation.csv") == [
        "when",
        "action",
        "card_id",
        "participant",
        "actor",
        "reason",
    ]
    log = _download(client, f"{base}/moderation.csv")
    looking = str(crafted.people["looking"].public_id)
    card = str(crafted.cards["looking"].pk)
    assert [
        (r["action"], r["card_id"], r["participant"], r["actor"], r["reason"]) for r in log
    ] == [
        ("held", card, looking, "", "'+1 too short"),
        ("approved", card, looking, crafted.researcher.username, "fine after all"),
    ]
    assert all(r["when"] for r in log)


# --- the Polis-compatible export -------------------------------------------------------------


def _polis(client: Client, slug: str) -> dict[str, tuple[list[str], list[dict[str, str]]]]:
    """The three Polis files from the zip, as (header, rows); each also served on its own."""
    response = client.get(f"/staff/{slug}/exports/polis.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    files = {}
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == sorted(f"{slug}-polis/{n}.csv" for n in POLIS_FILES)
        for name in POLIS_FILES:
            content = archive.read(f"{slug}-polis/{name}.csv")
            alone = client.get(f"/staff/{slug}/exports/polis/{name}.csv")
            assert alone.status_code == 200
            assert alone["Content-Disposition"].startswith("attachment")
            assert alone.content == content, f"{name}.csv alone is the zip's file"
            text = content.decode("utf-8")
            assert "\r" not in text, "Polis files end lines with a bare newline"
            header = next(csv.reader(io.StringIO(text)))
            files[name] = (header, list(csv.DictReader(io.StringIO(text))))
    return files


def _real_header(realdata: Path, name: str) -> list[str]:
    with (realdata / "polis-football-concussions" / f"{name}.csv").open(encoding="utf-8") as f:
        return next(csv.reader(f))


def test_polis_files_have_the_real_polis_exports_columns(crafted: Crafted, realdata: Path) -> None:
    files = _polis(_client(crafted.researcher), crafted.study.slug)
    assert files["comments"][0] == _real_header(realdata, "comments")
    assert files["votes"][0] == _real_header(realdata, "votes")
    real = _real_header(realdata, "participants-votes")
    fixed = real[: real.index("0")]
    assert fixed == ["participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"]
    ours = files["participants-votes"][0]
    assert ours[: len(fixed)] == fixed
    comment_ids = [row["comment-id"] for row in files["comments"][1]]
    assert ours[len(fixed) :] == sorted(comment_ids, key=int), "one column per comment, ascending"
    # Polis's datetime (Java's Date.toString), and timestamps in milliseconds.
    real_row = next(csv.DictReader((realdata / "polis-football-concussions" / "votes.csv").open()))
    for row in files["votes"][1] + files["comments"][1]:
        assert len(row["datetime"].split()) == len(real_row["datetime"].split()) == 6
        assert len(row["timestamp"]) == len(real_row["timestamp"]) == 13


def test_polis_files_map_picks_to_agree_and_pass(crafted: Crafted) -> None:
    files = _polis(_client(crafted.researcher), crafted.study.slug)
    v = crafted.values
    comments = {int(row["comment-id"]): row for row in files["comments"][1]}
    # Active values shown to counted participants; the hidden one is left out.
    assert set(comments) == {v["formula"].pk, v["candour"].pk, v["seeded"].pk}
    formula = comments[v["formula"].pk]
    assert formula["comment-body"] == "'" + HYPERLINK + "\nMOMENTS when I notice\nCHOICES that help"
    assert {row["moderated"] for row in comments.values()} == {"1"}
    assert {row["disagrees"] for row in comments.values()} == {"0"}
    # finished (0) and sent (1): the others withdrew, are previews, quarantined or still looking.
    assert formula["author-id"] == "0"
    assert comments[v["candour"].pk]["author-id"] == "1", "the earliest *visible* card's author"
    assert comments[v["seeded"].pk]["author-id"] == "", "no participant's card became it"

    votes = files["votes"][1]
    assert {row["vote"] for row in votes} <= {"-1", "0", "1"}
    cast = {(row["voter-id"], int(row["comment-id"])): row["vote"] for row in votes}
    assert cast == {
        ("0", v["formula"].pk): "1",
        ("0", v["candour"].pk): "0",
        ("0", v["seeded"].pk): "1",
        ("1", v["formula"].pk): "0",
        ("1", v["candour"].pk): "1",
        ("1", v["seeded"].pk): "0",
    }
    for comment_id, row in comments.items():
        agrees = sum(1 for (_, c), vote in cast.items() if c == comment_id and vote == "1")
        assert row["agrees"] == str(agrees)

    header, matrix = files["participants-votes"]
    assert [row["participant"] for row in matrix] == ["0", "1"]
    for row in matrix:
        cells = {int(c): row[c] for c in header[6:] if row[c] != ""}
        assert cells == {c: vote for (p, c), vote in cast.items() if p == row["participant"]}
        assert set(cells.values()) <= {"-1", "0", "1"}
        assert row["n-votes"] == str(len(cells))
        assert row["n-agree"] == str(sum(1 for vote in cells.values() if vote == "1"))
        assert row["n-disagree"] == "0"
        assert row["group-id"] == ""
        authored = sum(1 for c in comments.values() if c["author-id"] == row["participant"])
        assert row["n-comments"] == str(authored) == "1"


def test_polis_ids_never_reveal_public_ids(crafted: Crafted) -> None:
    client = _client(crafted.researcher)
    for name in POLIS_FILES:
        text = client.get(f"/staff/{crafted.study.slug}/exports/polis/{name}.csv").content.decode()
        for person in crafted.people.values():
            assert str(person.public_id) not in text


def test_polis_files_of_an_empty_study_are_headers_only() -> None:
    study = make_study()
    files = _polis(_client(make_admin()), study.slug)
    assert {name: len(rows) for name, (_, rows) in files.items()} == dict.fromkeys(POLIS_FILES, 0)
    assert files["participants-votes"][0] == [
        "participant",
        "group-id",
        "n-comments",
        "n-votes",
        "n-agree",
        "n-disagree",
    ]


def test_polis_matrix_keeps_the_latest_vote_and_votes_csv_every_event() -> None:
    """As in Polis: votes.csv is the history, participants-votes the latest vote of each."""
    start = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    later = start + timedelta(minutes=1)
    comments = [PolisComment(7, start, 40, "=1", ("p",)), PolisComment(3, start, None, "b", ())]
    picks = [
        PolisPick(7, 40, start, is_picked=True),
        PolisPick(7, 40, later, is_picked=False),
        PolisPick(3, 12, start, is_picked=True),
        PolisPick(99, 12, start, is_picked=True),  # not a comment: left out
    ]
    comment_table, vote_table, matrix = polis_tables(comments=comments, picks=picks)
    assert [row[2:4] for row in comment_table.rows] == [(3, ""), (7, 1)]
    assert comment_table.rows[0][:2] == (1767323045678, "Fri Jan 02 03:04:05 UTC 2026")
    assert [(row[2], row[3], row[4]) for row in vote_table.rows] == [
        (3, 0, 1),
        (7, 1, 1),
        (7, 1, 0),
    ]
    assert matrix.header[6:] == ("3", "7")
    assert matrix.rows == [(0, "", 0, 1, 1, 0, 1, ""), (1, "", 1, 1, 0, 0, "", 0)]
    text = csv_bytes(comment_table.header, comment_table.rows).decode()
    assert '"\'=1\np"' in text, "the body's formula neutralised, its lines kept in one cell"


# --- the page and who may use it -------------------------------------------------------------


def test_exports_page_links_every_file(crafted: Crafted) -> None:
    client = _client(crafted.researcher)
    slug = crafted.study.slug
    page = client.get(f"/staff/{slug}/exports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Exports of" in html
    for name in ("cards", "picks", "survey", "funnel", "moderation"):
        assert f'href="/staff/{slug}/exports/{name}.csv"' in html
    for name in POLIS_FILES:
        assert f'href="/staff/{slug}/exports/polis/{name}.csv"' in html
    assert f'href="/staff/{slug}/exports/polis.zip"' in html
    assert "no disagree" in html.lower()
    assert f'href="/staff/{slug}/exports/"' in client.get("/staff/").content.decode()


def test_another_studys_researcher_gets_nothing(crafted: Crafted) -> None:
    outsider = _client(make_researcher(make_study()))
    slug = crafted.study.slug
    urls = [
        f"/staff/{slug}/exports/",
        *(f"/staff/{slug}/exports/{n}.csv" for n in ("cards", "picks", "survey")),
        *(f"/staff/{slug}/exports/{n}.csv" for n in ("funnel", "moderation")),
        *(f"/staff/{slug}/exports/polis/{n}.csv" for n in POLIS_FILES),
        f"/staff/{slug}/exports/polis.zip",
    ]
    for url in urls:
        response = outsider.get(url)
        assert response.status_code == 404, url
        assert HYPERLINK.encode() not in response.content
    assert Client().get(urls[1]).status_code == 302, "anonymous: to the login page"


# --- the formula guard of every CSV export ---------------------------------------------------

DANGEROUS = ["=1+1", "+1", "-1", "@SUM(1)", "\t=1", "\r=1", HYPERLINK]
HARMLESS = ["", "plain", "1-1", "a=b", "'quoted", "[1, 2]"]


def test_both_apps_neutralise_text_cells_by_one_rule_and_leave_numbers() -> None:
    for guard in (safe_cell, graph_cells.safe_cell):
        for text in DANGEROUS:
            assert guard(text) == "'" + text
        for text in HARMLESS:
            assert guard(text) == text
        for number in (-1, 0, 1, -0.25, 3.5, True, None):
            assert guard(number) is number
    written = csv_bytes(["a", "b", "c"], [["=1", -1, "-1"]]).decode()
    assert written == "a,b,c\r\n'=1,-1,'-1\r\n"


def test_graph_votes_csv_neutralises_text_cells(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    write_votes_csv([("p-1", 1, 2, "+1 when in doubt", "upgrade", "2024-01-01")], path)
    with path.open(encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["context"] == "'+1 when in doubt"
    assert row["from"] == "1"


def test_graph_csv_tables_neutralise_text_and_keep_negative_numbers(tmp_path: Path) -> None:
    counts = dict.fromkeys(
        ("markedWiser", "markedNotWiser", "markedLessWise", "markedUnsure", "impressions"), 1
    )
    doc = {
        "values": [{"id": 1, "title": HYPERLINK, "description": "-d", "policies": ["p"]}],
        "edges": [
            {
                "from": 1,
                "to": 2,
                "contexts": ["+1"],
                "counts": counts,
                "wiser_likelihood": -0.5,
                "entropy": 0.25,
                "interval": [-0.875, 0.125],
                "kept": False,
            }
        ],
        "winners": [
            {
                "context_id": 7,
                "context": "+1",
                "value_id": 1,
                "score": -0.0625,
                "support": 1,
                "win_probability": None,
                "runner_up": None,
            }
        ],
    }
    tables = {}
    for path in write_csv(doc, tmp_path):
        with path.open(encoding="utf-8") as handle:
            tables[path.name] = list(csv.DictReader(handle))
    (value,) = tables["values.csv"]
    assert (value["title"], value["description"]) == ("'" + HYPERLINK, "'-d")
    (edge,) = tables["edges.csv"]
    assert (edge["wiser_likelihood"], edge["interval_low"]) == ("-0.5", "-0.875")
    (winner,) = tables["winners.csv"]
    assert (winner["context"], winner["title"], winner["score"]) == (
        "'+1",
        "'" + HYPERLINK,
        "-0.0625",
    )


def test_snapshot_csv_download_neutralises_titles_and_contexts() -> None:
    study = make_study()
    question = make_question(study)
    context_id, value_id, _ = make_small_graph(study, question)
    Value.objects.filter(pk=value_id).update(title=HYPERLINK)
    Context.objects.filter(pk=context_id).update(text="+1 when in doubt")
    # The snapshot document holds the titles and contexts it was built with: build anew.
    snapshot = snapshots.snapshot_build(study_id=study.pk, params=FAST_PARAMS)
    response = _client(make_admin()).get(
        f"/research/{study.slug}/snapshots/{snapshot.pk}/export/csv"
    )
    assert response.status_code == 200
    tables: dict[str, list[dict[str, str]]] = {}
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8")
            tables[Path(name).name] = list(csv.DictReader(io.StringIO(text)))
    titles = {row["title"] for row in tables["values.csv"]}
    assert "'" + HYPERLINK in titles
    assert HYPERLINK not in titles
    assert {row["context"] for row in tables["votes.csv"]} == {"'+1 when in doubt"}
    assert {row["context"] for row in tables["winners.csv"]} == {"'+1 when in doubt"}
    assert [json.loads(row["contexts"]) for row in tables["edges.csv"]] == [["+1 when in doubt"]]
