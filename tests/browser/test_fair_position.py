"""A participant who finished the journey (offline interviewer) says whether their value's
position in the graph is fair, and is thanked; the answer is stored once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from elicitation.models import Participant, PositionVerification, ValuesCard
from elicitation.services import demo_study_seed
from moralgraph.models import GraphSnapshot
from tests.browser.conftest import assert_accessible
from tests.support.card_editor import save_card
from tests.support.processes import ManagedProcess, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # axe-core is injected as an inline script, which the pages' CSP refuses.
    return {**browser_context_args, "bypass_csp": True}


ANSWERS = [
    "When my best friend asked me to cover for her, I said yes and regretted it for weeks.",
    "I paid attention to whether the lie would hurt anyone else, and how much she trusted me.",
    "A wise person would look at the friendship over years, not just this weekend.",
    "If nobody could be hurt by it, I would worry less about the lie.",
]


def _finish_the_journey(page: Page) -> None:
    page.goto("/s/demo/")
    page.get_by_label("I have read this and agree to take part.").check()
    page.get_by_role("button", name="Start").click()
    page.get_by_label("A friend who asks you to lie").check()
    page.get_by_role("button", name="Begin the interview").click()
    transcript = page.get_by_role("log", name="Conversation")
    for number, answer in enumerate(ANSWERS):
        page.get_by_label("Your message").fill(answer)
        page.get_by_label("Your message").press("Enter")
        expect(transcript.locator(".bubble.assistant[data-seq]")).to_have_count(number + 1)
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
    save_card(page, title="Loyal but honest friendship")  # the offline draft's title
    transcript.get_by_role("button", name="Confirm this card").click()
    boxes = page.get_by_role("checkbox", name="This is wise")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name="Continue").click()
    for position in (1, 2, 3):
        # The page holds every story; its script shows the next once the vote is saved.
        expect(page.get_by_text(f"Story {position} of 3")).to_be_visible()
        story = page.locator("section.story-step:not([hidden])")  # the story shown
        story.get_by_label("Yes", exact=True).check()
        story.get_by_role("button", name=re.compile("Next story|Submit and go on")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("A short survey")
    for fieldset in page.locator("fieldset.likert").all():
        fieldset.get_by_role("radio", name="4 Agree").check()
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, you are done")


def test_a_finished_participant_says_their_position_is_fair(
    page: Page, axe_source: str, celery_worker: ManagedProcess
) -> None:
    study = demo_study_seed()
    _finish_the_journey(page)
    participant = Participant.objects.get(study=study)

    # The worker gives the card its value and builds the graph with the votes.
    def in_graph() -> bool:
        celery_worker.assert_running()
        has_value = ValuesCard.objects.filter(participant=participant, value__isnull=False)
        return has_value.exists() and GraphSnapshot.objects.filter(study=study).exists()

    wait_until(in_graph, timeout=60, what="the card's value and the study's live graph")
    page.reload()
    question = page.get_by_role("region", name="Is this a fair position for your value?")
    expect(question).to_be_visible()
    assert_accessible(page, axe_source, "finish-fair-position")
    question.get_by_label("Yes, it is fair").check()
    question.get_by_label("Why? (optional)").fill("It sits where I expected.")
    question.get_by_role("button", name="Send my answer").click()

    expect(page).to_have_url(re.compile(r"/s/demo/done/\?answered=position$"))
    expect(page.get_by_role("status").filter(has_text="Thank you")).to_contain_text(
        "your answer about your value's position is recorded"
    )
    expect(question.get_by_label("Yes, it is fair")).to_be_checked()
    row = PositionVerification.objects.get(participant=participant)
    assert (row.is_fair, row.comment) == (True, "It sits where I expected.")
