"""Questions about participants: the staff form builder (never raw JSON), the participant's
page for each kind, and the guarantee that nothing staff can save gives a participant a 500."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elicitation import services
from elicitation.models import InviteCode, Participant, Study
from elicitation.schemas import demographic_questions_adapter
from tests.factories import make_admin, make_question, make_study

pytestmark = pytest.mark.django_db

AGE = {"label": "Your age group", "key": "age", "kind": "single_choice", "is_required": "on",
       "choices": "18–29\n30–49\n\n 50 or over \n"}  # fmt: skip


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(make_admin())
    return client


def _error_for(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', html)
    assert found, f"no error shown for {field}"
    return found.group(1)


def _enter(study: Study, **form: str) -> Client:
    client = Client()
    response = client.post(f"/s/{study.slug}/", {"consent": "yes", **form})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def _participant(client: Client) -> Participant:
    return Participant.objects.get(pk=client.session["participant_ids"][-1])


def test_staff_build_each_kind_of_question_and_participants_answer_them(staff: Client) -> None:
    study = make_study(slug="about")
    make_question(study)
    builder = staff.get("/staff/about/about-you/").content.decode()
    for kind in ("Text", "Number", "Single choice", "Multiple choice"):
        assert kind in builder
    definitions = [
        AGE,
        {"label": "Languages you speak", "key": "", "kind": "multiple_choice",
         "choices": "English\nNorwegian\nOther"},
        {"label": "Years in your job", "key": "years", "kind": "number", "minimum": "0",
         "maximum": "70", "is_required": "on"},
        {"label": "Where you live", "key": "place", "kind": "text"},
    ]  # fmt: skip
    for definition in definitions:
        added = staff.post("/staff/about/about-you/", definition)
        assert added["Location"] == "/staff/about/about-you/", added.content.decode()[-3000:]
    study.refresh_from_db()
    assert study.demographic_questions == [
        {"key": "age", "label": "Your age group", "kind": "single_choice",
         "choices": ["18–29", "30–49", "50 or over"], "is_required": True,
         "minimum": None, "maximum": None},
        {"key": "languages_you_speak", "label": "Languages you speak", "kind": "multiple_choice",
         "choices": ["English", "Norwegian", "Other"], "is_required": False,
         "minimum": None, "maximum": None},
        {"key": "years", "label": "Years in your job", "kind": "number", "choices": [],
         "is_required": True, "minimum": 0, "maximum": 70},
        {"key": "place", "label": "Where you live", "kind": "text", "choices": [],
         "is_required": False, "minimum": None, "maximum": None},
    ]  # fmt: skip

    client = _enter(study)
    page = client.get("/s/about/about-you/").content.decode()
    assert '<legend>Your age group <span class="muted">(required)</span></legend>' in page
    assert 'type="radio" id="q-age-0" name="age" value="18–29" required' in page
    assert 'type="checkbox" id="q-languages_you_speak-1" name="languages_you_speak"' in page
    assert '<label for="q-years">Years in your job' in page
    assert "A number from 0 to 70." in page

    too_many = client.post("/s/about/about-you/", {"age": "30–49", "years": "71", "place": "Oslo"})
    assert too_many.status_code == 400
    html = too_many.content.decode()
    assert (
        'id="q-years-error">Please give a number between 0 and 70 for “Years in your job”.' in html
    )
    assert 'value="30–49" required checked' in html  # what was chosen is kept
    assert 'value="Oslo"' in html
    for bad in ({"years": "1e3"}, {"years": "nan"}, {"languages_you_speak": ["Klingon"]}):
        refused = client.post("/s/about/about-you/", {"age": "30–49", **bad})
        assert refused.status_code == 400

    ok = client.post(
        "/s/about/about-you/",
        {"age": "30–49", "years": "12,5", "languages_you_speak": ["Other", "English"]},
    )
    assert ok["Location"] == "/s/about/questions/"
    assert _participant(client).demographics == {
        "age": "30–49",
        "languages_you_speak": ["English", "Other"],
        "years": 12.5,
    }


@pytest.mark.parametrize(
    ("definition", "field", "message"),
    [
        ({"kind": "single_choice", "choices": "\n  \n"}, "choices", "needs at least one choice"),
        ({"kind": "multiple_choice", "choices": "Yes\nyes \nYes"}, "choices", "only once"),
        ({"label": "   "}, "label", "This field is required."),
        ({"key": "Age group"}, "key", "Use lower-case letters"),
        ({"key": "taken"}, "key", "Another question already uses the key “taken”."),
        ({"kind": "number", "minimum": "10", "maximum": "5"}, "minimum", "above the maximum"),
        ({"kind": "number", "minimum": "1e20"}, "minimum", "less than or equal to"),
        ({"kind": "dropdown"}, "kind", "Select a valid choice."),
        ({"choices": "x" * 201}, "choices", "longer than 200 characters"),
    ],
)
def test_a_bad_definition_is_refused_next_to_its_field(
    staff: Client, definition: dict[str, str], field: str, message: str
) -> None:
    study = make_study(
        slug="bad", demographic_questions=[{"key": "taken", "label": "Taken", "kind": "text"}]
    )
    response = staff.post("/staff/bad/about-you/", {**AGE, "key": "fresh", **definition})
    assert response.status_code == 400
    assert message in _error_for(response.content.decode(), field)
    study.refresh_from_db()
    assert [q["key"] for q in study.demographic_questions] == ["taken"]


def test_staff_edit_reorder_and_remove_questions(staff: Client) -> None:
    study = make_study(slug="order")
    for key in ("first", "second", "third"):
        staff.post("/staff/order/about-you/", {"label": key.title(), "key": key, "kind": "text"})
    keys = lambda: [q["key"] for q in Study.objects.get(pk=study.pk).demographic_questions]  # noqa: E731
    assert keys() == ["first", "second", "third"]
    staff.post("/staff/order/about-you/third/move/", {"direction": "up"})
    assert keys() == ["first", "third", "second"]
    staff.post("/staff/order/about-you/first/move/", {"direction": "up"})
    assert keys() == ["first", "third", "second"]

    form = staff.get("/staff/order/about-you/second/").content.decode()
    assert 'value="Second"' in form
    duplicate = staff.post(
        "/staff/order/about-you/second/", {"label": "Second", "key": "first", "kind": "text"}
    )
    assert "already uses the key" in _error_for(duplicate.content.decode(), "key")
    staff.post(
        "/staff/order/about-you/second/",
        {"label": "Pick one", "key": "pick", "kind": "single_choice", "choices": "A\nB"},
    )
    assert keys() == ["first", "third", "pick"]
    staff.post("/staff/order/about-you/third/delete/")
    assert keys() == ["first", "pick"]
    assert staff.get("/staff/order/about-you/third/").status_code == 404


# --- the finding: a plausible definition, saved, gave the next participant a 500 -------------

PLAUSIBLE_BUT_INVALID: list[Any] = [
    [{"key": "age", "label": "Your age", "kind": "integer"}],  # a kind the page does not know
    [{"key": "age", "label": "Age", "required": True, "choices": ["18-29", "30+"]}],
    [{"key": "Age", "label": "Age", "kind": "text"}],
    [{"key": "age", "label": "Age", "kind": "choice"}],  # a choice without choices
    [{"key": "a", "label": "A", "kind": "text"}, {"key": "a", "label": "B", "kind": "text"}],
    {"age": "Your age"},
    ["age", "gender"],
]


def _admin_form(demographic_questions: str) -> dict[str, str]:
    return {
        "title": "Admin-made study", "slug": "admin-made", "status": "open",
        "visibility": "private", "welcome_text": "Welcome.", "consent_text": "You agree.",
        "consent_version": "1", "participation_mode": "open_link",
        "panel_param": "PROLIFIC_PID", "completion_redirect_url": "",
        "panel_completion_code": "", "quota": "",
        "demographic_questions": demographic_questions, "interviewer_backend": "offline",
        "interviewer_model": "", "interviewer_prompt_version": "", "max_turns": "20",
        "max_tokens": "20000", "upgrade_votes": "3",
        "questions-TOTAL_FORMS": "0", "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0", "questions-MAX_NUM_FORMS": "1000",
    }  # fmt: skip


@pytest.mark.parametrize("definition", PLAUSIBLE_BUT_INVALID)
def test_the_admin_refuses_a_definition_participants_could_not_answer(
    definition: Any,
) -> None:
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("boss", password="pass-phrase-9"))
    response = admin.post("/admin/elicitation/study/add/", _admin_form(json.dumps(definition)))
    assert response.status_code == 200
    assert "Questions about participants" in response.content.decode()
    assert not Study.objects.filter(slug="admin-made").exists()

    ok = admin.post(
        "/admin/elicitation/study/add/",
        _admin_form('[{"key": "age", "label": "Age", "kind": "choice", "choices": ["18+"]}]'),
    )
    assert ok.status_code == 302
    assert Study.objects.get(slug="admin-made").demographic_questions[0]["kind"] == "single_choice"


@pytest.mark.parametrize("definition", PLAUSIBLE_BUT_INVALID)
def test_a_stored_bad_definition_does_not_burn_an_invite_code(definition: Any) -> None:
    """Definitions stored before these checks existed: the participant goes on, unharmed."""
    study = make_study(
        participation_mode=Study.ParticipationMode.INVITE_CODES,
        demographic_questions=definition,
    )
    make_question(study)
    InviteCode.objects.create(study=study, code="CODE1")
    client = _enter(study, invite_code="CODE1")
    page = client.get(f"/s/{study.slug}/about-you/")
    assert page.status_code in (200, 302)
    answered = client.post(f"/s/{study.slug}/about-you/", {"age": "30", "a": "x"})
    assert answered.status_code in (302, 400)
    if answered.status_code == 400:  # the part that was valid is still asked
        answered = client.post(f"/s/{study.slug}/about-you/", {"age": "18-29"})
    questions = client.get(f"/s/{study.slug}/questions/")
    assert questions.status_code == 200, questions.content.decode()[:2000]
    assert _participant(client).stage == Participant.Stage.DEMOGRAPHICS


# --- the guarantee, as a property ------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=60)
_printable = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=60
)
_number = st.one_of(st.integers(-(10**13), 10**13), st.floats())
_choice = st.one_of(st.sampled_from(["Yes", " Yes", "No", "18–29", "<b>50+</b>", "a\tb"]), _text)
_wild = st.fixed_dictionaries(
    {
        "key": st.one_of(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), _text),
        "label": _text,
        "kind": st.sampled_from(["text", "number", "single_choice", "choice", "x"]),
        "choices": st.lists(_choice, max_size=6),
        "is_required": st.booleans(),
        "minimum": st.one_of(st.none(), _number),
        "maximum": st.one_of(st.none(), _number),
    }
)


def _plausible(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """What a builder would plausibly be asked for, edge cases included."""
    has_choices = kind in ("single_choice", "multiple_choice")
    bound = st.one_of(st.none(), _number) if kind == "number" else st.none()
    return st.fixed_dictionaries(
        {
            "key": st.sampled_from(["age", "country", "q1", "years_in_job"]),
            "label": st.one_of(st.sampled_from(["Age", "Your  country ", "Étage?"]), _printable),
            "kind": st.just(kind),
            "choices": st.lists(st.one_of(_choice, _printable), min_size=1, max_size=6)
            if has_choices
            else st.just([]),
            "is_required": st.booleans(),
            "minimum": bound,
            "maximum": bound,
        }
    )


_definitions = st.one_of(
    st.sampled_from(["text", "number", "single_choice", "multiple_choice"]).flatmap(_plausible),
    _wild,
)
_answers = st.one_of(
    _text,
    st.lists(_text, max_size=3),
    st.sampled_from(["0", "-1", "12.5", "1,5", "99999999999999", "1e9", "inf", "  "]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    definitions=st.lists(_definitions, min_size=1, max_size=4),
    answers=st.lists(_answers, min_size=4, max_size=4),
    pick_choices=st.booleans(),
)
def test_nothing_the_builder_saves_gives_a_participant_a_500(
    definitions: list[dict[str, Any]], answers: list[Any], pick_choices: bool
) -> None:
    study = make_study(slug=f"prop-{uuid.uuid4().hex[:10]}")
    make_question(study)
    for definition in definitions:
        # Accepted or refused with a reason; never any other outcome.
        with contextlib.suppress(services.DemographicDefinitionError):
            services.demographic_question_add(study_id=study.pk, data=definition)
    study.refresh_from_db()
    # The builder stores only lists that validate as a whole.
    saved = demographic_questions_adapter.validate_python(study.demographic_questions)
    client = _enter(study)
    page = client.get(f"/s/{study.slug}/about-you/")
    assert page.status_code in (200, 302)
    form: dict[str, Any] = {}
    for question, answer in zip(saved, answers, strict=False):
        form[question.key] = (
            list(question.choices[:2]) if pick_choices and question.choices else answer
        )
    posted = client.post(f"/s/{study.slug}/about-you/", form)
    assert posted.status_code in (302, 400)
    if posted.status_code == 302:
        assert client.get(f"/s/{study.slug}/questions/").status_code == 200


def test_the_builder_shows_and_then_drops_stored_definitions_it_cannot_ask(
    staff: Client,
) -> None:
    study = make_study(
        slug="legacy",
        demographic_questions=[
            {"key": "age", "label": "Age", "kind": "choice", "choices": ["18+"]},
            {"key": "gender", "label": "Gender", "required": True},
        ],
    )
    page = staff.get("/staff/legacy/about-you/").content.decode()
    assert "1 stored question is not valid and is not asked" in page
    assert "Age" in page
    staff.post("/staff/legacy/about-you/", {"label": "Country", "kind": "text"})
    study.refresh_from_db()
    assert [q["key"] for q in study.demographic_questions] == ["age", "country"]
    assert "not valid" not in staff.get("/staff/legacy/about-you/").content.decode()
