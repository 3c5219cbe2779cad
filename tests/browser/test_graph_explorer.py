"""The researcher page's graph explorer in Chromium: an admin zooms and pans the graph,
filters it by context, opens a value's details (its card, a raw card merged into it, an
edge's story) with the mouse and with the keyboard; no console errors; axe passes."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import assert_accessible
from tests.support.explorer_study import (
    DOUBT,
    GRIEF,
    MERGED_CARD,
    STORY_DOUBT,
    STORY_GRIEF,
    explorer_study_build,
)

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-passphrase-123"


def _view_box(page: Page) -> list[float]:
    raw: str = page.locator("svg.moral-graph").get_attribute("viewBox") or ""
    return [float(n) for n in raw.split()]


def _log_in(page: Page, username: str) -> None:
    page.goto("/admin/login/?next=/research/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/research/$"))


def test_an_admin_explores_the_graph(page: Page, axe_source: str) -> None:
    explore = explorer_study_build()
    honest, calm, courage = explore.values
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The site has no favicon; Chromium's request for one is not the page's error.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    _log_in(page, "admin")
    page.goto(f"/research/{explore.study.slug}/")
    zoom_in = page.get_by_role("button", name="Zoom in")
    expect(zoom_in).to_be_visible()
    start = _view_box(page)

    # Zoom with the button, then with Ctrl + wheel over the picture; pan by dragging.
    zoom_in.click()
    zoomed = _view_box(page)
    assert zoomed[2] == pytest.approx(start[2] / 1.25, abs=0.2)
    page.locator("svg.moral-graph").scroll_into_view_if_needed()
    box = page.locator("svg.moral-graph").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 10, box["y"] + box["height"] - 10)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    page.wait_for_function(
        f"document.querySelector('svg.moral-graph').viewBox.baseVal.width < {zoomed[2] - 1}"
    )
    before_pan = _view_box(page)
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] - 12)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + box["height"] - 12, steps=5)
    page.mouse.up()
    panned = _view_box(page)
    assert panned[0] < before_pan[0]
    assert panned[2] == pytest.approx(before_pan[2])
    page.get_by_role("button", name="Zoom out").click()
    assert _view_box(page)[2] > panned[2]
    page.get_by_role("button", name="Reset view").click()
    assert _view_box(page) == pytest.approx(start)

    # Filter by context: the other context's arrow is hidden, its value dimmed. (A straight
    # arrow has an empty box, so "shown" is judged by its display, not Playwright's visibility.)
    doubt_edge = page.locator(f'path.mg-edge[data-from="{honest.pk}"]')
    grief_edge = page.locator(f'path.mg-edge[data-from="{calm.pk}"]')
    page.get_by_label("Filter by context").select_option(label=GRIEF)
    expect(doubt_edge).to_have_css("display", "none")
    expect(grief_edge).not_to_have_css("display", "none")
    expect(page.locator(f'g[data-value-id="{honest.pk}"]')).to_have_class(re.compile("mg-dimmed"))
    expect(page.get_by_text(f"Showing 1 of 2 arrows: those in “{GRIEF}”.")).to_be_visible()
    page.get_by_label("Filter by context").select_option(label=DOUBT)
    expect(grief_edge).to_have_css("display", "none")
    expect(doubt_edge).not_to_have_css("display", "none")
    page.get_by_label("Filter by context").select_option(label="All contexts")
    expect(grief_edge).not_to_have_css("display", "none")

    # Click a value: its card, a raw card merged into it, its edges' stories.
    page.get_by_role("button", name="Calm <b>presence</b>").click()
    panel = page.get_by_role("region", name="Calm <b>presence</b>")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("Being there & listening.")
    expect(panel).to_contain_text("MOMENTS of <quiet>")
    expect(panel.get_by_text(MERGED_CARD)).to_be_visible()
    expect(panel.get_by_text(STORY_DOUBT)).to_be_visible()
    expect(panel.get_by_text(STORY_GRIEF)).to_be_visible()
    expect(panel).to_contain_text("3 wiser")
    assert page.locator(".value-panel b, .value-panel i").count() == 0  # text, never markup
    assert_accessible(page, axe_source, "graph-explorer")

    # The keyboard: focus another value and press Enter.
    courage_node = page.get_by_role("button", name="Courage")
    courage_node.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("region", name="Courage")).to_contain_text("Facing what is hard.")
    expect(page.get_by_role("heading", name="Courage")).to_be_focused()
    page.get_by_role("button", name="Close details").click()
    expect(page.get_by_role("region", name="Courage")).to_be_hidden()
    expect(courage_node).to_be_focused()
    assert courage.title == "Courage"

    assert errors == []
