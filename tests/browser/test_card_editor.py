"""The card editor and the guided offline interview in Chromium, with scripted participants
(a long, rich answer; a terse one; a Spanish one; an injection attempt): every line of the
confirmed card is the participant's own sentence or their edit, and no instruction-like text
ever becomes a line. With a model, a card the validator refuses twice: the page says the card
is being revised, never shows the withdrawn text glued to the retry, and opens the editor
with the model's last card."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from elicitation.interview.offline_texts import TEXTS
from elicitation.models import CardProposal, Participant, ValuesCard
from elicitation.services import demo_study_seed, has_instructions
from inference.testing import FakeLLMServer
from tests.browser.conftest import assert_accessible
from tests.factories import make_question, make_study
from tests.support.card_editor import (
    answer_all,
    cards,
    confirm,
    editor,
    save_card,
    send,
)
from tests.support.processes import start_asgi_server
from tests.support.scripted import INJECTION, NURSE, SPANISH, TERSE

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "A friend who asks you to lie"


def _begin(page: Page, slug: str = "demo", question: str = QUESTION) -> None:
    page.goto(f"/s/{slug}/")
    page.get_by_label("I have read this and agree to take part.").check()
    page.get_by_role("button", name="Start").click()
    page.get_by_label(question).check()
    page.get_by_role("button", name="Begin the interview").click()
    expect(page.get_by_role("log", name="Conversation")).to_be_visible()


def _confirmed_card() -> ValuesCard:
    return ValuesCard.objects.get(participant=Participant.objects.latest("id"))


def _own_words(line: str, texts: list[str]) -> bool:
    return any(line in text for text in texts)


def test_the_nurse_finishes_her_draft_and_confirms_her_own_sentences(
    page: Page, axe_source: str
) -> None:
    demo_study_seed()
    _begin(page)
    box = page.get_by_label("Your message")
    expect(box).to_be_focused()  # the message box has the focus on load
    height = box.bounding_box()
    box.fill("one\ntwo\nthree\nfour\nfive\nsix")
    grown = box.bounding_box()
    assert height is not None
    assert grown is not None
    assert grown["height"] > height["height"] + 20  # it grows with its text
    box.fill("")

    transcript = page.get_by_role("log", name="Conversation")
    send(page, NURSE[0])
    expect(transcript.locator(".bubble.assistant[data-seq]").last).to_contain_text(
        "“Most of them were frightened, and many had already been told what to do"
    )
    expect(transcript.locator(".bubble.assistant[data-seq]").last).to_contain_text(
        TEXTS["en"]["ask_attention"]
    )
    send(page, NURSE[1])
    expect(transcript.locator(".bubble.assistant[data-seq]").last).to_contain_text(
        TEXTS["en"]["ask_meaning"]
    )
    send(page, NURSE[2])
    expect(cards(page)).to_have_count(0)  # three messages do not end the interview
    send(page, NURSE[3])

    # The draft: her sentences as lines, no title; the editor is open on the empty title.
    expect(cards(page)).to_have_count(1)
    draft = cards(page).first
    expect(draft.get_by_role("button", name="Confirm this card")).to_be_disabled()
    expect(editor(page)).to_be_visible()
    title = page.get_by_label("Title", exact=True)
    expect(title).to_be_focused()
    expect(title).to_have_value("")
    expect(page.get_by_label("Line 1")).to_have_value(
        "I paid attention to whether she had room to think."
    )
    save = page.get_by_role("button", name="Save this version")
    expect(save).to_be_disabled()
    expect(page.locator("#card-editor-problems")).to_contain_text("Write a title of 3 to 6 words.")
    title.fill("Room")
    expect(page.locator("#card-editor-problems")).to_contain_text("it has 1")
    expect(save).to_be_disabled()
    expect(editor(page)).to_contain_text("What makes a good card")
    assert_accessible(page, axe_source, "card-editor")

    card = save_card(page, title="Room to choose for herself")
    # The new version is in view with Confirm focused, above the message box; the draft is
    # superseded and can no longer be confirmed.
    button = card.get_by_role("button", name="Confirm this card")
    expect(button).to_be_in_viewport()
    button_box, composer_box = button.bounding_box(), page.locator("#composer").bounding_box()
    assert button_box is not None
    assert composer_box is not None
    assert button_box["y"] + button_box["height"] <= composer_box["y"]
    expect(draft.get_by_role("button", name="Confirm this card")).to_be_hidden()
    expect(draft).to_contain_text("Replaced by a newer version below.")
    expect(card).to_contain_text("Your edited card")
    assert_accessible(page, axe_source, "card-saved")
    confirm(page)

    confirmed = _confirmed_card()
    assert confirmed.title == "Room to choose for herself"
    assert confirmed.policies == [
        "I paid attention to whether she had room to think.",
        "I watched for the moment she stopped repeating what her mother said and started "
        "speaking for herself.",
        "I noticed if she was being rushed, by the clinic or by the boyfriend.",
        "I listened for what she was afraid to say out loud.",
    ]
    versions = CardProposal.objects.filter(interview=confirmed.interview).order_by("id")
    assert [(v.author, v.is_draft, v.title) for v in versions] == [
        ("interviewer", True, ""),
        ("participant", False, "Room to choose for herself"),
    ]


def test_a_terse_participant_edits_adds_and_removes_lines(page: Page) -> None:
    demo_study_seed()
    _begin(page)
    answer_all(page, TERSE)
    expect(editor(page)).to_be_visible()
    expect(page.get_by_label("Line 1")).to_have_value("her choice")
    expect(page.get_by_label("Line 2")).to_have_value("respect")
    expect(page.get_by_label("Line 3")).to_have_value("she decides")
    page.get_by_label("Line 2").fill("Respect for what she decides")
    page.get_by_role("button", name="Remove line 3").click()
    expect(page.get_by_label("Line 3")).to_have_count(0)
    save = page.get_by_role("button", name="Save this version")
    page.get_by_label("Title", exact=True).fill("Her choice, her life")
    expect(save).to_be_disabled()  # two lines: a card needs three
    page.get_by_role("button", name="Add a line").click()
    expect(page.get_by_label("Line 3")).to_be_focused()
    page.get_by_label("Line 3").fill("Whether anyone is pressuring her")
    save_card(page)
    confirm(page)
    confirmed = _confirmed_card()
    assert confirmed.policies == [
        "her choice",
        "Respect for what she decides",
        "Whether anyone is pressuring her",
    ]
    assert confirmed.description == "respect"


def test_a_spanish_participant_is_interviewed_in_spanish(page: Page) -> None:
    demo_study_seed()
    _begin(page)
    transcript = page.get_by_role("log", name="Conversation")
    send(page, SPANISH[0])
    expect(transcript.locator(".bubble.assistant[data-seq]").last).to_contain_text(
        TEXTS["es"]["ask_attention"]
    )
    send(page, SPANISH[1])
    expect(transcript.locator(".bubble.assistant[data-seq]").last).to_contain_text(
        TEXTS["es"]["ask_meaning"]
    )
    answer_all(page, SPANISH[2:])
    expect(transcript.locator(".bubble.assistant[data-seq]").last).to_contain_text("He puesto 3")
    save_card(page, title="Que la decisión sea suya")
    confirm(page)
    confirmed = _confirmed_card()
    assert confirmed.title == "Que la decisión sea suya"
    assert "Me importaba que la decisión fuera suya y no mía." in confirmed.policies
    assert all(_own_words(line, SPANISH) for line in confirmed.policies)


def test_an_injection_attempt_never_becomes_a_line(page: Page) -> None:
    demo_study_seed()
    _begin(page)
    transcript = page.get_by_role("log", name="Conversation")
    send(page, INJECTION[0])
    expect(transcript.locator(".bubble.assistant[data-seq]").last).to_contain_text(
        TEXTS["en"]["instructions"]
    )
    answer_all(page, INJECTION[1:])
    expect(editor(page)).to_be_visible()
    for bubble in transcript.locator(".bubble.assistant[data-seq]").all():
        expect(bubble).not_to_contain_text("system prompt")
        expect(bubble).not_to_contain_text("operator")
    save_card(page, title="Honest about who gets hurt")
    confirm(page)
    confirmed = _confirmed_card()
    assert confirmed.policies == [
        "I noticed that she was scared of losing him.",
        "I paid attention to who else would be hurt by the lie.",
        "The friendship matters more than one weekend.",
    ]
    assert not any(has_instructions(line) for line in confirmed.policies)
    assert all(_own_words(line, INJECTION) for line in confirmed.policies)


# --- with a model: a card the validator refuses twice ------------------------------------------

BAD_CARD = {
    "title": "Honesty",  # one word: refused
    "description": "Being honest with a friend.",
    "policies": ["honesty matters", "TRUTH", "MOMENTS where lies hurt"],
}
LAST_BAD_CARD = {**BAD_CARD, "title": "Honest with my friend"}  # policies still refused
GLUED = "Here is a card that captures what you said. Does it fit?"


@pytest.fixture(scope="module")
def llm_server(subprocess_env: dict[str, str], fake_llm_server: FakeLLMServer) -> Iterator[str]:
    env = {
        **subprocess_env,
        "LLM_BASE_URL": fake_llm_server.base_url,
        "LLM_API_KEY": "test-key",
        "LLM_MODEL": "fake-model",
        "LLM_TIMEOUT_S": "30",
        "LLM_MAX_RETRIES": "0",
    }
    proc, base_url = start_asgi_server(env)
    yield base_url
    proc.stop()


def test_a_refused_card_shows_revising_then_opens_the_editor(
    page: Page, llm_server: str, fake_llm: FakeLLMServer
) -> None:
    study = make_study(interviewer_backend="openai", interviewer_model="fake-model")
    make_question(study, title=QUESTION)
    fake_llm.configure(tokens_per_second=12)  # slow enough to watch the page while it streams
    fake_llm.script(
        {
            "text": GLUED,
            "tool_call": {"name": "propose_card", "arguments": BAD_CARD},
            "match": "R:",
        },
        {
            "text": GLUED,
            "tool_call": {"name": "propose_card", "arguments": LAST_BAD_CARD},
            "match": "R:",
        },
    )
    page.goto(f"{llm_server}/s/{study.slug}/")
    page.get_by_label("I have read this and agree to take part.").check()
    page.get_by_role("button", name="Start").click()
    page.get_by_label(QUESTION).check()
    page.get_by_role("button", name="Begin the interview").click()
    expect(page.locator('.chat[data-socket="open"]')).to_be_attached()
    transcript = page.get_by_role("log", name="Conversation")
    box = page.get_by_label("Your message")
    box.fill("R: my friend asked me to lie for her")
    box.press("Enter")
    expect(transcript).to_have_attribute("aria-busy", "true")  # busy while the answer streams
    expect(page.locator("#status")).to_have_text("The interviewer is revising the card…")
    expect(transcript.locator(".bubble.assistant[data-seq]")).to_have_count(1)
    expect(transcript).to_have_attribute("aria-busy", "false")
    # No glued text is left: the stored answer says what happened, the editor is open with
    # the model's last card, and the draft cannot be confirmed as it is.
    expect(transcript).not_to_contain_text("Does it fit?")
    expect(transcript.locator(".bubble.assistant[data-seq]")).to_contain_text(
        "I could not get the card into the right shape"
    )
    expect(editor(page)).to_be_visible()
    expect(page.get_by_label("Title", exact=True)).to_have_value("Honest with my friend")
    expect(page.get_by_label("Line 2")).to_have_value("TRUTH")
    expect(cards(page).first.get_by_role("button", name="Confirm this card")).to_be_disabled()
    page.get_by_label("Line 2").fill("Whether the truth would come out anyway")
    card = save_card(page)
    expect(card).to_contain_text("Whether the truth would come out anyway")
    confirm(page)
    confirmed = _confirmed_card()
    assert confirmed.title == "Honest with my friend"
    assert confirmed.policies == [
        "honesty matters",
        "Whether the truth would come out anyway",
        "MOMENTS where lies hurt",
    ]
    assert len(fake_llm.chat_requests()) == 2
