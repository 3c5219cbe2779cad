"""What a participant sees when they open the demo study's link."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from elicitation.models import Interview, Participant
from elicitation.services import demo_study_seed

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_start_page_shows_the_study_and_asks_for_consent(page: Page) -> None:
    demo_study_seed()
    page.goto("/s/demo/")
    expect(page).to_have_title("How should an AI help with hard personal decisions?")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "How should an AI help with hard personal decisions?"
    )
    expect(page.get_by_text("A father who refuses help")).to_be_visible()
    expect(page.get_by_label("Consent text")).to_contain_text("We do not ask for your name")

    # Starting without agreeing is refused and nothing is stored.
    page.get_by_label("I have read this and agree to take part.").evaluate(
        "el => el.removeAttribute('required')"
    )
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Please tick the box to say you agree before you start."
    )
    assert Participant.objects.count() == 0

    page.get_by_label("I have read this and agree to take part.").check()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a question")
    page.get_by_label("A friend who asks you to lie").check()
    page.get_by_role("button", name="Begin the interview").click()

    expect(page.get_by_text("offline interviewer")).to_be_visible()
    interview = Interview.objects.get()
    assert interview.question.title == "A friend who asks you to lie"
    assert Participant.objects.get().consent_version == "1"

    # The chat socket connects and the interviewer answers.
    page.get_by_label("Your message").fill("I once covered for my brother and regretted it.")
    page.get_by_role("button", name="Send").click()
    transcript = page.get_by_role("log", name="Conversation")
    expect(transcript.locator(".bubble.user")).to_contain_text(
        "I once covered for my brother and regretted it."
    )
    expect(transcript.locator(".bubble.assistant[data-seq]")).to_have_count(1)
    assert interview.messages.count() == 2
