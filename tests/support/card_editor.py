"""A participant on the interview page, in Chromium: answering the interviewer, finishing the
offline interviewer's draft card in the card editor, confirming the card in play."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

# Four answers, one for each step of the guided offline interview (a situation, what they
# paid attention to, why it mattered, where it stops applying): its draft follows the fourth.
FRIEND_ANSWERS = [
    "When my best friend asked me to cover for her, I said yes and regretted it for weeks.",
    "I noticed that she was scared of losing him. I paid attention to whether the lie would "
    "hurt anyone else, and how much she trusted me.",
    "A wise person would look at the friendship over years, not just this weekend.",
    "If nobody could be hurt by it, I would worry less about the lie.",
]


def send(page: Page, text: str) -> None:
    """Type a message, send it with the keyboard, and wait for the interviewer's answer."""
    transcript = page.get_by_role("log", name="Conversation")
    answered = transcript.locator(".bubble.assistant[data-seq]")
    before = answered.count()
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")
    try:
        # A first answer waits for the socket to open and replay: generous on a busy machine.
        expect(answered).to_have_count(before + 1, timeout=15_000)
    except AssertionError as exc:
        seen = page.evaluate(
            """() => ({
                socket: document.querySelector("[data-socket]")?.dataset.socket,
                status: document.getElementById("status")?.textContent,
                problem: document.getElementById("error")?.textContent,
                box: document.querySelector("textarea")?.value,
            })"""
        )
        raise AssertionError(f"no answer to {text!r}; the page showed {seen}") from exc
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


def answer_all(page: Page, answers: list[str]) -> None:
    for answer in answers:
        send(page, answer)


def cards(page: Page) -> Locator:
    return page.get_by_role("log", name="Conversation").locator("article.values-card")


def editor(page: Page) -> Locator:
    return page.locator("#card-editor")


def save_card(page: Page, *, title: str | None = None) -> Locator:
    """Give the card in the editor its title (when given), save it, and wait for the saved
    version: the new card, whose Confirm button has the focus."""
    count = cards(page).count()
    if title is not None:
        page.get_by_label("Title", exact=True).fill(title)
    save = page.get_by_role("button", name="Save this version")
    expect(save).to_be_enabled()
    save.click()
    expect(cards(page)).to_have_count(count + 1)
    card = cards(page).last
    expect(card.get_by_role("button", name="Confirm this card")).to_be_focused()
    return card


def confirm(page: Page) -> None:
    """Confirm the card in play and wait for the next step."""
    cards(page).last.get_by_role("button", name="Confirm this card").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Which of these values are wise?")


def offline_card(page: Page, answers: list[str], title: str) -> None:
    """The whole offline interview: the answers, the draft's title, saved and confirmed."""
    answer_all(page, answers)
    expect(editor(page)).to_be_visible()
    save_card(page, title=title)
    confirm(page)
