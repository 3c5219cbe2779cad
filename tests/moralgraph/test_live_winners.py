"""The researcher page's live winners: the JSON live.js polls (the newest snapshot, its votes,
each context's winner by title, escaped), the page's hooks for it, and who may read it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from elicitation.models import Study, StudyMembership
from moralgraph.services import snapshots
from tests.support.explorer_study import DOUBT, FAST, GRIEF, ExplorerStudy, explorer_study_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(django_user_model: Any) -> Client:
    client = Client()
    client.force_login(
        django_user_model.objects.create_user("admin", is_staff=True, is_superuser=True)
    )
    return client


def live_url(slug: str) -> str:
    return reverse("research:live_winners", args=[slug])


def test_the_newest_snapshot_and_its_winners_by_title_are_given_escaped(admin: Client) -> None:
    explore: ExplorerStudy = explorer_study_build()
    response = admin.get(live_url(explore.study.slug))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert b"<" not in response.content
    data = response.json()
    assert data["snapshot_id"] == explore.snapshot.pk
    assert data["vote_count"] == explore.snapshot.vote_count == 6
    assert data["created_at"] == explore.snapshot.created_at.isoformat()
    winners = {w["context"]: w["title"] for w in data["winners"]}
    assert winners == {DOUBT: "Calm <b>presence</b>", GRIEF: "Courage"}


def test_a_new_snapshot_changes_the_answer(admin: Client) -> None:
    explore = explorer_study_build()
    newer = snapshots.snapshot_build(study_id=explore.study.pk, params=FAST, is_live=True)
    data = admin.get(live_url(explore.study.slug)).json()
    assert data["snapshot_id"] == newer.pk != explore.snapshot.pk


def test_a_study_without_a_snapshot_says_so_and_its_page_waits_for_one(admin: Client) -> None:
    Study.objects.create(slug="fresh", title="Fresh")
    assert admin.get(live_url("fresh")).json() == {"snapshot_id": None, "winners": []}
    page = admin.get(reverse("research:study", args=["fresh"])).content.decode()
    assert "No snapshot yet" in page
    assert f'data-live-url="{live_url("fresh")}"' in page
    assert 'data-snapshot-id="" hidden' in page
    assert "frontend/live.js" in page


def test_the_study_page_is_kept_current_but_an_older_snapshot_page_is_not(admin: Client) -> None:
    explore = explorer_study_build()
    slug = explore.study.slug
    page = admin.get(reverse("research:study", args=[slug])).content.decode()
    assert f'data-snapshot-id="{explore.snapshot.pk}"' in page
    assert "frontend/live.js" in page
    assert 'aria-live="polite"' in page
    older = admin.get(reverse("research:snapshot", args=[slug, explore.snapshot.pk]))
    assert "frontend/live.js" not in older.content.decode()
    assert "data-live-url" not in older.content.decode()


def test_another_studys_researcher_and_anonymous_users_are_refused(
    django_user_model: Any,
) -> None:
    explore = explorer_study_build()
    other = Study.objects.create(slug="other", title="Other")
    researcher = django_user_model.objects.create_user("res", is_staff=True)
    StudyMembership.objects.create(study=other, user=researcher)
    client = Client()
    response = client.get(live_url(explore.study.slug))
    assert response.status_code == 302
    client.force_login(researcher)
    assert client.get(live_url(explore.study.slug)).status_code == 404
    assert client.get(live_url("other")).status_code == 200
