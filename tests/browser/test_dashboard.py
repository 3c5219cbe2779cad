"""The staff dashboard in Chromium: an admin watches the study's funnel while a participant, in
a second browser context, enters and consents; the admin's page shows the new numbers without
being reloaded. axe passes on the dashboard at a phone's and a laptop's width."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from elicitation.services import demo_study_seed
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-passphrase-123"


def _log_in(page: Page, username: str) -> None:
    page.goto("/admin/login/?next=/staff/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name="Studies")).to_be_visible()


def test_the_funnel_moves_while_a_participant_enters(
    page: Page, browser: Browser, asgi_server: str, axe_source: str
) -> None:
    study = demo_study_seed()
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(page, "admin")
    page.goto(f"/staff/{study.slug}/participation/")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Live dashboard: “{study.title}”")
    status = page.get_by_role("status").filter(has_text="Live")
    expect(status).to_be_visible()
    entered = page.locator('[data-funnel="entered"]')
    consented = page.locator('[data-funnel="consented"]')
    expect(entered).to_have_text("0")
    expect(consented).to_have_text("0")
    assert_accessible(page, axe_source, "dashboard")
    # A mark that a reload would wipe.
    page.evaluate("window.__notReloaded = true")

    participant = browser.new_context(base_url=asgi_server).new_page()
    participant.goto("/s/demo/")
    participant.get_by_label("I have read this and agree to take part.").check()
    participant.get_by_role("button", name="Start").click()
    expect(participant.get_by_role("heading", level=1)).to_have_text("Choose a question")

    expect(entered).to_have_text("1", timeout=15_000)
    expect(consented).to_have_text("1")
    expect(page.locator('[data-funnel-percent="consented"]')).to_have_text("100%")
    expect(page.locator("[data-updated]")).not_to_have_text("when the page loaded")
    assert page.evaluate("window.__notReloaded") is True
    expect(status).to_be_visible()
    participant.context.close()
    assert not errors, errors
