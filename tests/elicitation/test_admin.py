"""An admin creates a study with questions and contexts in the Django admin and opens it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from elicitation.models import Study
from moralgraph.models import Context

pytestmark = pytest.mark.django_db


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


def test_admin_creates_and_opens_a_study(client: Client) -> None:
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
        **_formset("contexts", [{"text": "When independence is at stake", "origin": "curated"}]),
    }
    response = client.post("/admin/elicitation/study/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    study = Study.objects.get(slug="parents")
    assert study.status == Study.Status.DRAFT
    assert [q.title for q in study.questions.all()] == ["A parent at risk"]
    assert Context.objects.get(study=study).text == "When independence is at stake"

    # Not reachable by participants until opened.
    assert client.get("/s/parents/").status_code == 404
    opened = client.post(
        "/admin/elicitation/study/",
        {"action": "open_studies", "_selected_action": [str(study.pk)]},
    )
    assert opened.status_code == 302
    study.refresh_from_db()
    assert study.status == Study.Status.OPEN
    assert client.get("/s/parents/").status_code == 200
