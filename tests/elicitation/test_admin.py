"""The Django admin: a study with its questions, its contexts in the graph's own admin, and the
study actions (open, close, mine contexts) run by a staff user through the changelist."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from config.celery import app as celery_app
from elicitation.models import Study
from inference.testing import FakeLLMServer
from moralgraph.models import Context
from tests.factories import make_question, make_study, make_told_interview

pytestmark = pytest.mark.django_db

STUDIES_URL = "/admin/elicitation/study/"


def _formset(prefix: str, rows: list[dict[str, str]]) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    return data


def _staff(client: Client, *codenames: str) -> None:
    """Log in a staff user (not a superuser) who holds only these study permissions."""
    user = get_user_model().objects.create_user(
        "editor", password="a-long-passphrase-123", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="elicitation", codename__in=codenames)
    )
    client.force_login(user)


def _run_action(client: Client, action: str, studies: list[Study]) -> Any:
    return client.post(
        STUDIES_URL,
        {"action": action, "_selected_action": [str(s.pk) for s in studies]},
        follow=True,
    )


def test_admin_creates_a_study_and_its_contexts(client: Client) -> None:
    admin = get_user_model().objects.create_superuser("boss", password="a-long-passphrase-123")
    client.force_login(admin)
    form = {
        "title": "Advice on caring for parents",
        "slug": "parents",
        "status": "draft",
        "visibility": "private",
        "welcome_text": "Welcome.",
        "consent_text": "You agree.",
        "consent_version": "1",
        "participation_mode": "open_link",
        "panel_param": "PROLIFIC_PID",
        "completion_redirect_url": "",
        "quota": "",
        "demographic_questions": "[]",
        "interviewer_backend": "offline",
        "interviewer_model": "",
        "interviewer_prompt_version": "",
        "max_turns": "20",
        "max_tokens": "20000",
        "upgrade_votes": "3",
        **_formset(
            "questions",
            [
                {
                    "order": "0",
                    "title": "A parent at risk",
                    "text": "Should I arrange care?",
                    "seed_message": "Tell me about a time.",
                }
            ],
        ),
    }
    response = client.post(f"{STUDIES_URL}add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    study = Study.objects.get(slug="parents")
    assert study.status == Study.Status.DRAFT
    question = study.questions.get()
    assert question.title == "A parent at risk"

    # Contexts are the graph's: they are added in its admin, tied to the study's questions.
    added = client.post(
        "/admin/moralgraph/context/add/",
        {
            "study": str(study.pk),
            "text": "When independence is at stake",
            "origin": "curated",
            "questions": [str(question.pk)],
        },
    )
    assert added.status_code == 302, added.content.decode()[:3000]
    context = Context.objects.get(study=study)
    assert context.text == "When independence is at stake"
    assert list(context.questions.values_list("pk", flat=True)) == [question.pk]


def test_staff_open_and_close_studies(client: Client) -> None:
    _staff(client, "view_study", "change_study")
    draft = make_study(slug="draft-one", status=Study.Status.DRAFT)
    already_open = make_study(slug="open-one", status=Study.Status.OPEN)
    # Not open to participants until opened: the page says so.
    not_yet = client.get("/s/draft-one/")
    assert not_yet.status_code == 403
    assert "This study is not open yet." in not_yet.content.decode()

    opened = _run_action(client, "open_studies", [draft, already_open])
    assert opened.status_code == 200
    assert "1 study opened." in opened.content.decode()
    assert set(Study.objects.values_list("status", flat=True)) == {Study.Status.OPEN}
    assert client.get("/s/draft-one/").status_code == 200

    closed = _run_action(client, "close_studies", [draft, already_open])
    assert "2 studies closed." in closed.content.decode()
    assert set(Study.objects.values_list("status", flat=True)) == {Study.Status.CLOSED}
    closed_page = client.get("/s/open-one/")
    assert closed_page.status_code == 403
    assert "This study is closed." in closed_page.content.decode()


def test_a_staff_user_who_may_only_view_cannot_open_a_study(client: Client) -> None:
    _staff(client, "view_study")
    draft = make_study(status=Study.Status.DRAFT)
    assert 'value="open_studies"' not in client.get(STUDIES_URL).content.decode()
    refused = _run_action(client, "open_studies", [draft])
    assert refused.status_code == 200
    draft.refresh_from_db()
    assert draft.status == Study.Status.DRAFT


@pytest.fixture
def tasks_run_inline() -> Iterator[None]:
    """Celery runs tasks in this process (its own setting, not a stand-in for our code), so
    the task's work shares the test's database transaction."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.mark.usefixtures("tasks_run_inline")
def test_staff_mine_contexts_through_the_task(client: Client, fake_llm: FakeLLMServer) -> None:
    _staff(client, "view_study", "change_study")
    study = make_study()
    question = make_question(study, text="Should I arrange care for my dad without asking?")
    make_told_interview(study, question, ["My mum hid her falls from me."])
    make_told_interview(study, question, ["My grandfather refused a carer."])
    fake_llm.script({"json": {"contexts": ["When a parent fears losing their home"]}})

    response = _run_action(client, "mine_contexts", [study])
    assert "Mining contexts for 1 question in the background" in response.content.decode()
    (request,) = fake_llm.chat_requests()
    assert "My grandfather refused a carer." in request["messages"][0]["content"]
    mined = Context.objects.get(study=study, origin=Context.Origin.MINED)
    assert mined.text == "When a parent fears losing their home"
    assert list(mined.questions.values_list("pk", flat=True)) == [question.pk]
