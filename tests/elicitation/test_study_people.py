"""The People page: an admin makes a staff user a researcher of one study, and takes them off
again; bad usernames are refused next to the field and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from elicitation.models import StudyMembership
from tests.factories import make_admin, make_study, make_user

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_adds_a_researcher_who_then_sees_only_that_study() -> None:
    study, other = make_study(title="Caring for parents"), make_study(title="Other")
    person = make_user(is_staff=True)
    admin, researcher = _client(make_admin()), _client(person)
    assert researcher.get(f"/staff/{study.slug}/").status_code == 404

    added = admin.post(f"/staff/{study.slug}/people/", {"username": f" {person.username} "})

    assert added.status_code == 302
    page = admin.get(added["Location"]).content.decode()
    assert f"{person.username} is now a researcher" in page
    assert person.username in page
    membership = StudyMembership.objects.get()
    assert (membership.study, membership.user) == (study, person)
    assert membership.added_by is not None
    assert researcher.get(f"/staff/{study.slug}/").status_code == 200
    assert researcher.get(f"/research/{study.slug}/").status_code == 200
    assert researcher.get(f"/staff/{other.slug}/").status_code == 404
    listing = researcher.get("/staff/").content.decode()
    assert "Caring for parents" in listing
    assert "Other" not in listing
    assert "New study" not in listing  # creating studies is for admins

    removed = admin.post(f"/staff/{study.slug}/people/{person.pk}/remove/", follow=True)
    assert "they no longer see this study" in removed.content.decode()
    assert not StudyMembership.objects.exists()
    assert researcher.get(f"/staff/{study.slug}/").status_code == 404


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("nobody-by-this-name", "There is no account called"),
        ("not-staff", "cannot sign in to the staff pages"),
        ("another-admin", "is an admin and sees every study"),
        ("already", "is already a researcher here"),
    ],
)
def test_a_username_that_cannot_be_added_is_refused_by_the_field(who: str, message: str) -> None:
    study = make_study()
    admin = _client(make_admin())
    names = {
        "not-staff": make_user().username,
        "another-admin": make_admin().username,
        "already": make_user(is_staff=True).username,
    }
    username = names.get(who, who)
    if who == "already":
        assert admin.post(f"/staff/{study.slug}/people/", {"username": username}).status_code == 302
    before = StudyMembership.objects.count()

    response = admin.post(f"/staff/{study.slug}/people/", {"username": username})

    assert response.status_code == 400
    body = response.content.decode()
    field = body[body.index('for="id_username"') : body.index("Add researcher</button>")]
    assert message in field
    assert f'value="{username}"' in field  # what was typed is kept
    assert StudyMembership.objects.count() == before
