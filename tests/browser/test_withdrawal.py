"""A participant who finished withdraws from the finish page: the code is shown, the button
asks to confirm, the done page says it is done, and the worker rebuilds the live graph
without them. The withdraw and done pages pass axe at a phone's and a laptop's width."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from elicitation.models import Interview, Participant, ValuesCard
from elicitation.services import demo_study_seed
from moralgraph.models import GraphSnapshot, SnapshotSupersession, UpgradeVote
from tests.browser.conftest import assert_accessible
from tests.browser.test_fair_position import _finish_the_journey
from tests.support.processes import ManagedProcess, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # axe-core is injected as an inline script, which the pages' CSP refuses.
    return {**browser_context_args, "bypass_csp": True}


def test_a_participant_withdraws_from_the_finish_page(
    page: Page, axe_source: str, celery_worker: ManagedProcess
) -> None:
    study = demo_study_seed()
    _finish_the_journey(page)
    participant = Participant.objects.get(study=study, is_preview=False)

    def counted() -> bool:
        celery_worker.assert_running()
        live = GraphSnapshot.objects.filter(study=study, is_live=True).first()
        voted = UpgradeVote.objects.filter(participant=participant)
        return (
            live is not None
            and voted.exists()
            and live.created_at > voted.latest("updated_at").updated_at
        )

    wait_until(counted, timeout=60, what="a live graph that counts the participant's votes")
    counted_in = GraphSnapshot.objects.filter(study=study, is_live=True).latest()
    page.reload()
    code = page.locator("#withdrawal-code").inner_text()
    assert code.startswith("W-")
    page.get_by_role("button", name="Withdraw…").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Withdraw from")
    assert_accessible(page, axe_source, "withdraw-confirm")
    assert Participant.objects.get(pk=participant.pk).withdrawn_at is None
    page.get_by_role("button", name="Yes, withdraw and delete what I wrote").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You have withdrawn")
    assert_accessible(page, axe_source, "withdraw-done")
    assert Participant.objects.get(pk=participant.pk).withdrawn_at is not None
    assert not Interview.objects.filter(participant=participant).exists()
    assert not ValuesCard.objects.filter(participant=participant).exists()
    # Superseded, or already compacted away by the rebuild (no job uses it): never served.
    assert not GraphSnapshot.objects.filter(pk=counted_in.pk, supersession__isnull=True).exists()

    def rebuilt() -> bool:
        celery_worker.assert_running()
        live = GraphSnapshot.objects.filter(study=study, is_live=True).latest()
        return live.pk != counted_in.pk

    wait_until(rebuilt, timeout=60, what="the live graph rebuilt without the participant")
    live = GraphSnapshot.objects.filter(study=study, is_live=True).latest()
    assert live.participant_count == counted_in.participant_count - 1
    assert not SnapshotSupersession.objects.filter(snapshot=live).exists()

    # The browser's participation is over: the study starts afresh.
    page.goto(f"/s/{study.slug}/done/")
    expect(page.get_by_role("button", name="Start")).to_be_visible()
    page.goto(f"/s/{study.slug}/withdraw/")
    assert_accessible(page, axe_source, "withdraw-code")
