"""A researcher quarantines a straight-liner from the integrity page: the flag is explained,
a reason is required, the worker rebuilds the live graph without their votes, and the page
shows the difference (votes counted, the winner that changed); releasing counts them again.
The page is accessible and fits a phone's width."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from elicitation.models import Participant
from moralgraph.selectors.snapshots import snapshot_live_get
from tests.browser.conftest import assert_accessible
from tests.elicitation.test_integrity import _flip_graph
from tests.factories import make_researcher
from tests.support.processes import ManagedProcess, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _live_votes(study_id: int) -> int | None:
    live = snapshot_live_get(study_id=study_id)
    return None if live is None else live.vote_count


def test_a_researcher_quarantines_a_straight_liner_and_sees_the_difference(
    browser: Browser,
    browser_context_args: dict[str, Any],
    axe_source: str,
    celery_worker: ManagedProcess,
) -> None:
    g, liner = _flip_graph()
    wait_until(lambda: _live_votes(g.study.pk) == 8, timeout=60, what="the first live graph")
    staff = make_researcher(g.study)
    short = str(liner.public_id)[:8]

    page = browser.new_context(**browser_context_args, bypass_csp=True).new_page()
    page.goto(f"/admin/login/?next=/staff/{g.study.slug}/integrity/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill("a-long-passphrase-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Integrity of")
    flags = page.locator(f"#participant-{liner.public_id} [data-flag='straight_lining']")
    expect(flags).to_contain_text("All 5 of their votes were “Yes, wiser”.")
    assert_accessible(page, axe_source, "integrity")
    page.set_viewport_size({"width": 375, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name=f"Quarantine participant {short}").click()
    expect(page.get_by_role("alert")).to_have_text("Say why this participant is set aside.")
    page.get_by_label(f"Why set participant {short} aside?").fill("Every answer the same")
    page.get_by_role("button", name=f"Quarantine participant {short}").click()
    expect(page.get_by_role("status")).to_contain_text("set aside")
    assert Participant.objects.get(pk=liner.pk).quarantined_at is not None

    wait_until(lambda: _live_votes(g.study.pk) == 3, timeout=60, what="the rebuild without them")
    page.reload()
    action = page.locator(".moderation-item", has_text="Participant quarantined")
    expect(action.locator(".counts div", has_text="Votes counted")).to_contain_text("8 → 3")
    expect(action.locator(".winner-changes li")).to_have_text(
        "When a friend asks: Value A → Value C"
    )
    assert_accessible(page, axe_source, "integrity-after")

    page.get_by_role("button", name=f"Release participant {short}").click()
    expect(page.get_by_role("status")).to_contain_text("released")
    wait_until(lambda: _live_votes(g.study.pk) == 8, timeout=60, what="the rebuild with them")
