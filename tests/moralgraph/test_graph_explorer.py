"""The graph explorer's server side: the per-value JSON (card, merged raw cards, edges with
counts, stories), its escaping, 404s and access; the SVG's data attributes the script uses."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from elicitation.models import StudyMembership
from moralgraph.models import Value
from tests.factories import make_user
from tests.support.explorer_study import (
    DOUBT,
    GRIEF,
    MERGED_CARD,
    STORY_DOUBT,
    STORY_GRIEF,
    ExplorerStudy,
    explorer_study_build,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def explore() -> ExplorerStudy:
    return explorer_study_build()


@pytest.fixture
def admin(django_user_model: Any) -> Client:
    client = Client()
    client.force_login(
        django_user_model.objects.create_user("admin", is_staff=True, is_superuser=True)
    )
    return client


def value_url(explore: ExplorerStudy, value_id: int, snapshot_id: int | None = None) -> str:
    snapshot = snapshot_id if snapshot_id is not None else explore.snapshot.pk
    return reverse("research:snapshot_value", args=[explore.study.slug, snapshot, value_id])


def test_a_value_comes_with_its_card_merged_cards_edges_and_stories(
    explore: ExplorerStudy, admin: Client
) -> None:
    honest, calm, courage = explore.values
    response = admin.get(value_url(explore, calm.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["snapshot_id"] == explore.snapshot.pk
    assert (data["id"], data["title"]) == (calm.pk, "Calm <b>presence</b>")
    assert data["description"] == "Being there & listening."
    assert data["policies"] == ["MOMENTS of <quiet>"]
    assert [(c["title"], c["is_merged"]) for c in data["cards"]] == [
        ("Calm presence", False),
        (MERGED_CARD, True),
    ]
    assert data["cards"][1]["reason"] == "the same attention"
    edges = {(e["from_id"], e["to_id"]): e for e in data["edges"]}
    assert set(edges) == {(honest.pk, calm.pk), (calm.pk, courage.pk)}
    into = edges[(honest.pk, calm.pk)]
    assert (into["from_title"], into["to_title"]) == ("Honest care", "Calm <b>presence</b>")
    assert into["contexts"] == [DOUBT]
    assert into["context_ids"] == [explore.context_ids[DOUBT]]
    assert into["counts"]["markedWiser"] == 3
    assert into["counts"]["impressions"] == 3
    assert into["is_kept"] is True
    assert [(s["context"], s["story"]) for s in into["stories"]] == [(DOUBT, STORY_DOUBT)]
    out = edges[(calm.pk, courage.pk)]
    assert [(s["context"], s["story"]) for s in out["stories"]] == [(GRIEF, STORY_GRIEF)]


def test_a_value_with_no_cards_has_an_empty_list(explore: ExplorerStudy, admin: Client) -> None:
    data = admin.get(value_url(explore, explore.values[2].pk)).json()
    assert data["title"] == "Courage"
    assert data["cards"] == []
    assert [e["from_title"] for e in data["edges"]] == ["Calm <b>presence</b>"]


def test_markup_in_titles_and_stories_never_reaches_the_body_as_a_tag(
    explore: ExplorerStudy, admin: Client
) -> None:
    response = admin.get(value_url(explore, explore.values[1].pk))
    body = response.content.decode()
    for tag in ("<b>", "<i>", "<quiet>", "</b>"):
        assert tag not in body
    assert "\\u003cb\\u003epresence\\u003c/b\\u003e" in body
    assert "\\u0026" in body
    # Parsed, the text is exactly what people wrote.
    assert json.loads(body)["cards"][1]["title"] == MERGED_CARD


def test_another_studys_snapshot_or_an_unknown_value_is_404(
    explore: ExplorerStudy, admin: Client
) -> None:
    other = explorer_study_build(slug="other")
    assert admin.get(value_url(explore, explore.values[0].pk, other.snapshot.pk)).status_code == 404
    assert admin.get(value_url(explore, other.values[0].pk)).status_code == 404
    lonely = Value.objects.create(study=explore.study, title="Added later", description="d")
    assert admin.get(value_url(explore, lonely.pk)).status_code == 404
    unknown = reverse(
        "research:snapshot_value", args=["no-such-study", explore.snapshot.pk, explore.values[0].pk]
    )
    assert admin.get(unknown).status_code == 404


def test_only_the_studys_researchers_and_admins_see_a_value(explore: ExplorerStudy) -> None:
    url = value_url(explore, explore.values[0].pk)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]

    participant = Client()
    participant.force_login(make_user())
    assert participant.get(url).status_code == 302

    other = explorer_study_build(slug="other")
    outsider = make_user(is_staff=True)
    StudyMembership.objects.create(study=other.study, user=outsider)
    client = Client()
    client.force_login(outsider)
    assert client.get(url).status_code == 404

    member = make_user(is_staff=True)
    StudyMembership.objects.create(study=explore.study, user=member)
    client.force_login(member)
    assert client.get(url).json()["title"] == "Honest care"


def test_post_is_refused(explore: ExplorerStudy, admin: Client) -> None:
    assert admin.post(value_url(explore, explore.values[0].pk)).status_code == 405


def test_the_svg_carries_value_ids_and_edge_contexts(explore: ExplorerStudy, admin: Client) -> None:
    html = admin.get(reverse("research:study", args=[explore.study.slug])).content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    honest, calm, courage = explore.values
    for value in explore.values:
        assert svg.count(f'data-value-id="{value.pk}"') == 1
    doubt, grief = explore.context_ids[DOUBT], explore.context_ids[GRIEF]
    assert f'data-from="{honest.pk}" data-to="{calm.pk}" data-context-ids="{doubt}"' in svg
    assert f'data-from="{calm.pk}" data-to="{courage.pk}" data-context-ids="{grief}"' in svg


def test_the_page_works_without_javascript_and_offers_the_explorer_with_it(
    explore: ExplorerStudy, admin: Client
) -> None:
    html = admin.get(reverse("research:study", args=[explore.study.slug])).content.decode()
    # The controls and the panel are hidden until the script shows them.
    assert re.search(r'<div class="graph-explorer" data-graph-explorer [^>]*hidden>', html)
    assert re.search(r"<section [^>]*data-value-panel [^>]*hidden>", html)
    assert "frontend/graph.js" in html
    template = reverse("research:snapshot_value", args=[explore.study.slug, explore.snapshot.pk, 0])
    assert f'data-value-url="{template}"' in html
    options = re.findall(r'<option value="(\d*)">([^<]*)</option>', html)
    assert ("", "All contexts") in options
    assert (str(explore.context_ids[DOUBT]), DOUBT) in options
    assert (str(explore.context_ids[GRIEF]), GRIEF) in options
