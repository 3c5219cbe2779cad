"""The whole participant journey in Chromium with the offline interviewer, from consent to the
finish page, checked with axe-core on every page and against the database afterwards."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from elicitation.models import (
    CardProposal,
    Interview,
    Message,
    Participant,
    SurveyResponse,
    ValuesCard,
)
from elicitation.schemas import SURVEY_ITEMS
from elicitation.services import demo_study_seed
from moralgraph.models import Selection, UpgradeVote
from tests.browser.conftest import assert_accessible
from tests.support.card_editor import answer_all, editor, save_card, send
from tests.support.processes import ManagedProcess, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ANSWERS = [
    "When my best friend asked me to cover for her, I said yes and regretted it for weeks. "
    "<script>window.__pwned = 1</script>",
    "I noticed that she was scared of losing him. I paid attention to whether the lie would "
    "hurt anyone else, and how much she trusted me.",
    "A wise person would look at the friendship over years, not just this weekend. Also the "
    "boyfriend's right to know.",
    "If nobody could be hurt by it, I would worry less about the lie.",
]
# A line the participant adds in the card editor, with markup that must stay text.
ADDED_LINE = "It takes courage <img src=x onerror=\"window['__pwned']=2\">"
TITLE = "Loyal but honest friendship"


def test_offline_journey_from_consent_to_finish(
    page: Page, axe_source: str, celery_worker: ManagedProcess
) -> None:
    study = demo_study_seed()

    page.goto("/s/demo/")
    assert_accessible(page, axe_source, "1-start")
    page.get_by_label("I have read this and agree to take part.").check()
    page.get_by_role("button", name="Start").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a question")
    assert_accessible(page, axe_source, "2-question")
    page.get_by_label("A friend who asks you to lie").check()
    page.get_by_role("button", name="Begin the interview").click()

    # The guided interview: four answers, a draft card of the participant's own sentences,
    # finished in the editor (a title, a line added), saved, and confirmed by keyboard.
    expect(page.get_by_text("offline interviewer")).to_be_visible()
    expect(page.get_by_role("navigation", name="Your progress")).to_contain_text("Interview")
    transcript = page.get_by_role("log", name="Conversation")
    expect(page.get_by_label("Your message")).to_be_focused()
    answer_all(page, ANSWERS[:3])
    cards = transcript.locator("article.values-card")
    expect(cards).to_have_count(0)  # three answers do not end the interview
    send(page, ANSWERS[3])
    expect(cards).to_have_count(1)
    expect(editor(page)).to_be_visible()
    expect(page.get_by_label("Title", exact=True)).to_be_focused()
    assert_accessible(page, axe_source, "3-interview-card")

    page.get_by_role("button", name="Add a line").click()
    page.get_by_label("Line 4").fill(ADDED_LINE)
    save_card(page, title=TITLE)
    expect(cards).to_have_count(2)
    expect(cards.nth(1)).to_contain_text("courage <img src=x onerror=")
    expect(transcript.locator(".bubble.user").first).to_contain_text("<script>window.__pwned")
    assert page.evaluate("window.__pwned") is None  # shown as text, never run

    confirm = cards.nth(1).get_by_role("button", name="Confirm this card")
    expect(confirm).to_be_focused()  # the new card is in view, its Confirm focused
    page.keyboard.press("Enter")

    # Which values are wise? The demo has four for this question: fewer than six, explained.
    expect(page.get_by_role("heading", level=1)).to_have_text("Which of these values are wise?")
    expect(page.get_by_text("so you see fewer than six")).to_be_visible()
    assert_accessible(page, axe_source, "4-wise-values")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Please pick at least 2 values that you find wise."
    )
    boxes = page.get_by_role("checkbox", name="This is wise")
    assert boxes.count() == 4
    for i in (0, 2):
        boxes.nth(i).focus()
        page.keyboard.press("Space")
    page.get_by_role("button", name="Continue").click()

    # Three upgrade stories, each with a reason.
    choices = ["Yes", "No", "Not sure"]
    for position in (1, 2, 3):
        expect(page.get_by_text(f"Story {position} of 3")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text("Did this person become wiser?")
        if position == 1:
            assert_accessible(page, axe_source, "5-story")
        # Every story is on the page (the script shows them in turn): the shown one's form.
        story = page.locator("section.story-step:not([hidden])")
        story.get_by_label(choices[position - 1], exact=True).check()
        story.get_by_label("Why?").fill(f"Reason number {position}")
        story.get_by_role("button", name=re.compile("Next story|Submit and go on")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("A short survey")
    assert_accessible(page, axe_source, "6-survey")
    for fieldset in page.locator("fieldset.likert").all():
        fieldset.get_by_role("radio", name="4 Agree").check()
    page.get_by_role("button", name="Finish").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, you are done")
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()
    assert_accessible(page, axe_source, "7-finish")

    # Going back to an earlier step lands on the finish page: the journey only goes forward.
    page.goto("/s/demo/wise-values/")
    expect(page).to_have_url(re.compile(r"/s/demo/done/$"))

    # Exactly the records the journey should leave.
    participant = Participant.objects.get(study=study)
    assert participant.stage == Participant.Stage.FINISHED
    interview = Interview.objects.get(participant=participant)
    assert interview.status == Interview.Status.SUBMITTED
    assert interview.backend == "offline"
    messages = list(Message.objects.filter(interview=interview).order_by("seq"))
    assert [m.role for m in messages] == ["user", "assistant"] * 4
    assert [m.text for m in messages[::2]] == ANSWERS
    proposals = list(CardProposal.objects.filter(interview=interview).order_by("id"))
    assert len(proposals) == 2
    assert (proposals[0].title, proposals[0].is_draft) == ("", True)
    assert proposals[0].message_id == messages[7].pk
    assert proposals[1].author == CardProposal.Author.PARTICIPANT
    assert proposals[1].revises_id == proposals[0].pk
    card = ValuesCard.objects.get(participant=participant)
    assert card.proposal_id == proposals[1].pk
    assert card.title == TITLE
    assert card.policies == [*proposals[0].policies, ADDED_LINE]
    # Every line is the participant's own sentence, or the one they added.
    assert all(any(p in answer for answer in ANSWERS) for p in proposals[0].policies)

    selections = list(Selection.objects.filter(participant=participant))
    assert len(selections) == 4
    assert sorted(s.value_id for s in selections) == sorted(participant.wise_value_ids or [])
    assert sum(s.is_picked for s in selections) == 2
    votes = list(UpgradeVote.objects.filter(participant=participant).order_by("created_at"))
    assert len(votes) == 3
    assert {v.hypothesis_id for v in votes} == set(participant.upgrade_hypothesis_ids or [])
    assert sorted(v.choice for v in votes) == ["no_upgrade", "not_sure", "upgrade"]
    assert sorted(v.reason for v in votes) == [f"Reason number {n}" for n in (1, 2, 3)]
    answers = dict(
        SurveyResponse.objects.filter(participant=participant).values_list("item", "answer")
    )
    assert answers == {item.key: 4 for item in SURVEY_ITEMS}

    # The worker gives the confirmed card its canonical value.
    def canonicalised() -> bool:
        celery_worker.assert_running()
        card.refresh_from_db()
        return card.value_id is not None

    wait_until(canonicalised, timeout=60, what="the worker to canonicalise the card")
    assert card.value is not None
    assert card.value.study_id == study.pk
