"""The Content-Security-Policy in Chromium: the participant's pages and the interview's
socket work under it, and the browser reports no violation (an inline script, style or
handler anywhere would be refused and show up here)."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from elicitation.services import demo_study_seed

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_journey_runs_under_the_policy_without_a_violation(page: Page) -> None:
    demo_study_seed()
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    response = page.goto("/s/demo/")
    assert response is not None
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.get_by_label("I have read this and agree to take part.").check()
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a question")
    page.get_by_label("A friend who asks you to lie").check()
    page.get_by_role("button", name="Begin the interview").click()
    # The chat's script (an external module) ran and its socket connected: sending works.
    box = page.get_by_label("Your message")
    box.fill("When my best friend asked me to cover for her, I said yes.")
    box.press("Enter")
    transcript = page.get_by_role("log", name="Conversation")
    expect(transcript.locator(".bubble.assistant[data-seq]")).to_have_count(1)
    assert refused == []
