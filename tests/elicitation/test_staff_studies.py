"""The staff study editor over HTTP: the list, creating and editing a study with errors next
to their fields, its questions (add, edit, reorder, delete only when unused), staff only."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from elicitation.models import Question, Study
from tests.factories import make_admin, make_interview, make_question, make_study, make_user

pytestmark = pytest.mark.django_db

NEW_STUDY = {
    "title": "Advice on caring for parents",
    "slug": "parents",
    "welcome_text": "Welcome to the study.",
    "consent_text": "You agree to take part.",
    "interviewer_backend": "offline",
    "interviewer_model": "",
    "interviewer_prompt_version": "1",
    "wise_values_shown": "5",
    "wise_values_required": "3",
    "upgrade_votes": "4",
    "max_turns": "12",
    "max_tokens": "15000",
    "quota": "50",
}


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(make_admin())
    return client


def _error_for(html: str, field: str) -> str:
    """The error shown right under `field` (its id is `id_<field>_error`)."""
    found = re.search(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', html)
    assert found, f"no error shown for {field}"
    return found.group(1)


def test_staff_create_a_study_and_find_it_in_the_list(staff: Client) -> None:
    assert "New study" in staff.get("/staff/").content.decode()
    form_page = staff.get("/staff/new/").content.decode()
    assert 'name="slug"' in form_page
    assert 'name="interviewer_prompt_version"' in form_page

    response = staff.post("/staff/new/", NEW_STUDY)
    assert response["Location"] == "/staff/parents/"
    study = Study.objects.get(slug="parents")
    assert study.status == Study.Status.DRAFT
    assert (study.title, study.upgrade_votes, study.max_turns, study.quota) == (
        "Advice on caring for parents",
        4,
        12,
        50,
    )
    assert study.interviewer_prompt_version == 1
    assert (study.wise_values_shown, study.wise_values_required) == (5, 3)
    assert (
        "Study “Advice on caring for parents” created"
        in staff.get("/staff/parents/").content.decode()
    )

    listed = staff.get("/staff/").content.decode()
    assert "Advice on caring for parents" in listed
    assert 'href="/staff/parents/"' in listed
    assert 'href="/staff/parents/participation/"' in listed
    assert 'href="/research/parents/"' in listed


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"slug": "Not a slug!"}, "slug", "Enter a valid “slug”"),
        ({"slug": "new"}, "slug", "This address is reserved"),
        ({"slug": "taken"}, "slug", "Another study already uses this address."),
        ({"title": "   "}, "title", "This field is required."),
        (
            {"interviewer_prompt_version": "99"},
            "interviewer_prompt_version",
            "no interviewer prompt version 99",
        ),
        ({"upgrade_votes": "0"}, "upgrade_votes", "greater than or equal to 1"),
        (
            {"wise_values_shown": "3", "wise_values_required": "4"},
            "wise_values_required",
            "cannot pick more values than they are shown (3)",
        ),
        ({"wise_values_shown": "21"}, "wise_values_shown", "less than or equal to 20"),
        ({"wise_values_required": "0"}, "wise_values_required", "greater than or equal to 1"),
        ({"quota": "-3"}, "quota", "greater than or equal to"),
        ({"interviewer_backend": "magic"}, "interviewer_backend", "Select a valid choice."),
    ],
)
def test_a_bad_study_is_refused_next_to_the_field_and_keeps_the_input(
    staff: Client, changes: dict[str, str], field: str, message: str
) -> None:
    make_study(slug="taken")
    response = staff.post("/staff/new/", {**NEW_STUDY, **changes})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in _error_for(html, field)
    assert 'value="Advice on caring for parents"' in html or field == "title"
    assert Study.objects.count() == 1


def test_staff_edit_a_study_without_changing_its_address(staff: Client) -> None:
    study = make_study(slug="caring", title="Old title")
    page = staff.get("/staff/caring/").content.decode()
    assert 'value="Old title"' in page
    assert 'name="slug"' not in page

    edited = {**NEW_STUDY, "title": "New title", "slug": "elsewhere", "upgrade_votes": "2",
              "consent_text": "You agree, and the interview is recorded."}  # fmt: skip
    assert staff.post("/staff/caring/", edited)["Location"] == "/staff/caring/"
    study.refresh_from_db()
    assert (study.slug, study.title, study.upgrade_votes) == ("caring", "New title", 2)
    # The consent text changed, so consents given from now on name a new version.
    assert study.consent_version == "2"
    staff.post("/staff/caring/", {**edited, "title": "Same consent"})
    study.refresh_from_db()
    assert study.consent_version == "2"

    refused = staff.post("/staff/caring/", {**edited, "interviewer_prompt_version": "7"})
    assert refused.status_code == 400
    assert "no interviewer prompt version 7" in _error_for(
        refused.content.decode(), "interviewer_prompt_version"
    )
    study.refresh_from_db()
    assert study.interviewer_prompt_version == 1

    # Picks above the values shown are refused next to the field; the study keeps its own.
    too_many = {**edited, "wise_values_shown": "2", "wise_values_required": "3"}
    refused = staff.post("/staff/caring/", too_many)
    assert refused.status_code == 400
    assert "more values than they are shown (2)" in _error_for(
        refused.content.decode(), "wise_values_required"
    )
    assert 'name="wise_values_shown" value="2"' in refused.content.decode()
    study.refresh_from_db()
    assert (study.wise_values_shown, study.wise_values_required) == (5, 3)


def test_questions_are_added_edited_and_reordered(staff: Client) -> None:
    study = make_study(slug="qs")
    for title in ("First", "Second", "Third"):
        added = staff.post(
            "/staff/qs/questions/add/", {"title": title, "text": f"{title}?", "seed_message": ""}
        )
        assert added["Location"] == "/staff/qs/"
    titles = lambda: [q.title for q in study.questions.order_by("order", "id")]  # noqa: E731
    assert titles() == ["First", "Second", "Third"]

    third = study.questions.get(title="Third")
    assert (
        staff.post(f"/staff/qs/questions/{third.pk}/move/", {"direction": "up"}).status_code == 302
    )
    assert titles() == ["First", "Third", "Second"]
    first = study.questions.get(title="First")
    staff.post(f"/staff/qs/questions/{first.pk}/move/", {"direction": "up"})
    assert titles() == ["First", "Third", "Second"]
    staff.post(f"/staff/qs/questions/{first.pk}/move/", {"direction": "down"})
    assert titles() == ["Third", "First", "Second"]
    page = staff.get("/staff/qs/").content.decode()
    assert page.index("Third") < page.index("First") < page.index("Second")

    refused = staff.post(
        f"/staff/qs/questions/{first.pk}/", {"title": "", "text": "Still here?", "seed_message": ""}
    )
    assert refused.status_code == 400
    assert "required" in _error_for(refused.content.decode(), "title")
    assert "Still here?" in refused.content.decode()
    staff.post(
        f"/staff/qs/questions/{first.pk}/",
        {"title": "Renamed", "text": "A new text?", "seed_message": "Hello."},
    )
    first.refresh_from_db()
    assert (first.title, first.text, first.seed_message) == ("Renamed", "A new text?", "Hello.")


def test_a_question_is_deleted_only_while_no_interview_uses_it(staff: Client) -> None:
    study = make_study(slug="del")
    unused = make_question(study, title="Unused")
    used = make_interview(study).question

    page = staff.get("/staff/del/").content.decode()
    assert f'action="/staff/del/questions/{unused.pk}/delete/"' in page
    assert f'action="/staff/del/questions/{used.pk}/delete/"' not in page

    refused = staff.post(f"/staff/del/questions/{used.pk}/delete/", follow=True)
    assert "This question has interviews" in refused.content.decode()
    assert Question.objects.filter(pk=used.pk).exists()
    staff.post(f"/staff/del/questions/{unused.pk}/delete/")
    assert not Question.objects.filter(pk=unused.pk).exists()


def test_a_question_of_another_study_is_not_found(staff: Client) -> None:
    make_study(slug="mine")
    other = make_question(make_study(slug="theirs"))
    assert staff.get(f"/staff/mine/questions/{other.pk}/").status_code == 404
    assert staff.post(f"/staff/mine/questions/{other.pk}/delete/").status_code == 404
    assert Question.objects.filter(pk=other.pk).exists()


STAFF_PAGES = [
    ("get", "/staff/"),
    ("get", "/staff/new/"),
    ("post", "/staff/new/"),
    ("get", "/staff/guarded/"),
    ("post", "/staff/guarded/"),
    ("get", "/staff/guarded/questions/add/"),
    ("post", "/staff/guarded/questions/{q}/move/"),
    ("post", "/staff/guarded/questions/{q}/delete/"),
    ("get", "/staff/guarded/about-you/"),
    ("post", "/staff/guarded/about-you/"),
    ("post", "/staff/guarded/about-you/age/delete/"),
]


@pytest.mark.parametrize("who", ["anonymous", "participant"])
def test_staff_pages_are_for_staff_only(who: str) -> None:
    study = make_study(
        slug="guarded",
        title="Guarded",
        demographic_questions=[{"key": "age", "label": "Age", "kind": "text"}],
    )
    question = make_question(study)
    client = Client()
    if who == "participant":
        client.force_login(make_user())
    for method, url in STAFF_PAGES:
        path = url.format(q=question.pk)
        response = getattr(client, method)(path, NEW_STUDY if method == "post" else {})
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
    study.refresh_from_db()
    assert study.title == "Guarded"
    assert study.demographic_questions == [{"key": "age", "label": "Age", "kind": "text"}]
    assert Question.objects.filter(pk=question.pk).exists()
    assert not Study.objects.filter(slug="parents").exists()
