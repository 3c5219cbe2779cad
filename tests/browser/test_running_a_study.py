"""Issue 9's acceptance: on `make run`'s embedded default (SQLite, the filesystem broker, a
worker with beat, the offline interviewer), an admin sets up a study in the browser, six
participants take part with invite codes, upgrade stories appear with no staff click, and the
researcher page shows the winners without being reloaded; another study's researcher is
refused."""

from __future__ import annotations

import csv
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.card_editor import save_card, send
from tests.support.processes import free_port, start_make_run, wait_until

SLUG = "caring-well"
QUESTIONS = [
    ("Caring for a parent", "How should an AI help me care for an ageing parent?"),
    ("Money and friends", "Should an AI help me decide whether to lend a friend money?"),
]
CONTEXTS = [
    (QUESTIONS[0][0], "When a parent refuses help"),
    (QUESTIONS[1][0], "When the friend is in debt"),
    (QUESTIONS[1][0], "When the loan could end the friendship"),
]
# Three answers per participant, each on different things, so that each card is its own value;
# then where it stops applying (the guided interview's last step), and a title of their own.
ANSWERS = [
    [
        "My mother fell twice and still wanted to live alone, so I visited every evening.",
        "I paid attention to her pride and to whether she felt in charge of her own home.",
        "A wise person would notice her dignity and the neighbours who could help.",
    ],
    [
        "My father stopped taking his pills and I argued with the doctor about it.",
        "I noticed his fear of side effects and how confused the leaflets made him.",
        "Someone wise would look at his understanding and ask plain honest questions.",
    ],
    [
        "My aunt needed a care home and the family disagreed about paying for it.",
        "I watched the money, the fairness between siblings and the waiting lists.",
        "A wise person would keep the budget transparent and share the burden evenly.",
    ],
    [
        "Grandpa kept driving after his eyesight got worse and nobody dared to stop him.",
        "I looked at the safety of strangers on the road and his freedom to go out.",
        "Wisdom here means offering other transport and respecting his routines.",
    ],
    [
        "My stepmother grew lonely after moving, and I phoned her daily from abroad.",
        "I cared about her friendships, her hobbies and the club near her flat.",
        "A wise helper would notice isolation early and encourage new community ties.",
    ],
    [
        "My uncle with dementia forgot meals, so we hired a carer for the mornings.",
        "I focused on his nutrition, his memory and the trust he built with the carer.",
        "Someone wise would keep routines steady and involve him in the planning.",
    ],
]
DEADLINE_MS = 240_000


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`make run` in a temporary var folder: its base URL and the admin password it printed."""
    port = free_port()
    run = start_make_run(tmp_path / "var", port, MGE_SWEEP_SECONDS="3")
    try:

        def started() -> str:
            run.assert_running()
            found = re.search(r"login admin / (\S+)", run.log())
            return found.group(1) if found else ""

        password = str(wait_until(started, timeout=180, what="make run to start"))
        wait_until(lambda: "ready." in run.log(), timeout=120, what="make run's worker")
        yield f"http://127.0.0.1:{port}", password
    finally:
        run.stop(sig=signal.SIGINT, timeout=30)
        print(run.log()[-20000:])  # shown by pytest only when the test failed


def log_in(browser: Browser, base_url: str, username: str, password: str) -> Page:
    page = browser.new_context(base_url=base_url).new_page()
    page.set_default_timeout(30_000)
    page.goto("/admin/login/?next=/staff/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name="Studies")).to_be_visible()
    return page


def set_up_study(admin: Page) -> list[str]:
    """Create the study with its questions, contexts, demographic question and six invite
    codes, open it, and return the codes read from the downloaded CSV."""
    admin.get_by_role("link", name="New study").click()
    admin.get_by_label("Title").fill("Caring well")
    admin.get_by_label("Slug").fill(SLUG)
    admin.get_by_label("Consent text").fill("Your answers are kept for research.")
    # Every participant judges every story there is, so that the votes meet on some edges.
    admin.get_by_label("Upgrade votes").fill("20")
    admin.get_by_role("button", name="Create study").click()
    for title, text in QUESTIONS:
        admin.get_by_role("link", name="Add a question").first.click()
        admin.get_by_label("Title").fill(title)
        admin.get_by_label(re.compile(r"^Question:?$")).fill(text)
        admin.get_by_role("button", name="Add question").click()
        expect(admin.get_by_role("link", name=title)).to_be_visible()

    admin.get_by_role("link", name="Contexts").click()
    for title, text in CONTEXTS:
        section = admin.get_by_role("region", name=title)
        section.get_by_label("A new context").fill(text)
        section.get_by_role("button", name="Add the context").click()
        expect(admin.get_by_role("region", name=title)).to_contain_text(text)

    admin.get_by_role("link", name="Caring well").click()
    admin.get_by_role("link", name="Questions about participants").first.click()
    admin.get_by_label(re.compile(r"^Label:?$")).fill("Your age group")
    admin.get_by_role("radio", name="Single choice").check()
    admin.get_by_label("Required", exact=True).check()
    admin.get_by_label("Choices").fill("Under 40\n40 or older")
    admin.get_by_role("button", name="Add question").click()
    expect(admin.get_by_role("link", name="Your age group")).to_be_visible()

    admin.goto(f"/staff/{SLUG}/")
    admin.get_by_role("link", name="Participation").first.click()
    admin.get_by_label("How people enter").select_option(label="Invite codes")
    admin.get_by_role("button", name="Save").click()
    admin.get_by_role("link", name="Invite codes").first.click()
    admin.get_by_label("How many new codes").fill("6")
    admin.get_by_role("button", name="Make codes").click()
    with admin.expect_download() as download:
        admin.get_by_role("link", name="Download as CSV").click()
    rows = list(csv.DictReader(Path(download.value.path()).read_text().splitlines()))
    codes = [row["code"] for row in rows]
    assert len(codes) == 6
    assert all(not row["used_at"] for row in rows)

    admin.get_by_role("link", name="Participation").first.click()
    admin.get_by_role("button", name="Open the study").click()
    expect(admin.get_by_role("heading", name=re.compile("State: Open"))).to_be_visible()
    return codes


def take_part(context: BrowserContext, code: str, answers: list[str]) -> int:
    """One participant's journey with an invite code; returns how many stories they judged."""
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"/s/{SLUG}/")
    page.get_by_label("Your invite code").fill(code)
    page.get_by_label("I have read this and agree to take part.").check()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("radio", name="40 or older").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label(QUESTIONS[0][0]).check()
    page.get_by_role("button", name="Begin the interview").click()
    for answer in [*answers, "Not when someone is in danger."]:
        send(page, answer)
    save_card(page, title=" ".join(answers[1].rstrip(".").split()[-4:]))
    page.get_by_role("button", name="Confirm this card").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Which of these values are wise?")
    for box in page.get_by_role("checkbox", name="This is wise").all():
        box.check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Did this person become wiser?")
    judged = 0
    if page.get_by_text("nothing to judge here").is_visible():
        page.get_by_role("button", name="Continue").click()
    else:
        counter = page.get_by_text(re.compile(r"^Story 1 of \d+$")).inner_text()
        total = int(counter.rsplit(" ", 1)[1])
        for position in range(1, total + 1):
            expect(page.get_by_text(f"Story {position} of {total}")).to_be_visible()
            story = page.locator("section.story-step:not([hidden])")  # the story shown
            story.get_by_label("Yes", exact=True).check()
            story.get_by_role("button", name=re.compile("Next story|Submit and go on")).click()
            judged += 1

    expect(page.get_by_role("heading", level=1)).to_have_text("A short survey")
    for fieldset in page.locator("fieldset.likert").all():
        fieldset.get_by_role("radio", name="4 Agree").check()
    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, you are done")
    context.close()
    return judged


def pipeline_count(page: Page, label: str) -> int:
    term = page.locator("#pipeline dl div").filter(
        has=page.locator("dt", has_text=re.compile(f"^{label}$"))
    )
    return int(term.locator("dd").inner_text().split()[0])


def stories_ready(page: Page) -> bool:
    """Every card has its value and stories exist (the researcher page, reloaded)."""
    page.reload()
    counts = {label: pipeline_count(page, label) for label in ("Stories", "Cards without a value")}
    print(counts)
    # A lone value waits for a second one before it gets stories (the pipeline's threshold).
    return counts["Stories"] > 0 and counts["Cards without a value"] == 0


def researcher_of_another_study(admin: Page) -> None:
    """The admin makes `other`, a staff user, a researcher of the demo study."""
    admin.goto("/admin/auth/user/add/")
    admin.get_by_label("Username").fill("other")
    admin.get_by_label(re.compile(r"^Password:?$")).fill("another-Study-pass-9")
    admin.get_by_label("Password confirmation").fill("another-Study-pass-9")
    admin.get_by_role("button", name="Save", exact=True).click()
    admin.get_by_label("Staff status").check()
    admin.get_by_role("button", name="Save", exact=True).click()
    admin.goto("/staff/demo/people/")
    admin.get_by_label("Username").fill("other")
    admin.get_by_role("button", name="Add researcher").click()
    expect(admin.get_by_text("other is now a researcher.")).to_be_visible()


@pytest.mark.timeout(900)
def test_an_admin_runs_a_study_from_the_browser(
    browser: Browser, embedded: tuple[str, str]
) -> None:
    base_url, password = embedded
    admin = log_in(browser, base_url, "admin", password)
    codes = set_up_study(admin)

    # The first three take part; the first ones have nothing to pick or judge yet.
    judged = [
        take_part(browser.new_context(base_url=base_url), code, answers)
        for code, answers in zip(codes[:3], ANSWERS[:3], strict=True)
    ]

    # Stories appear by themselves: the researcher page's pipeline panel, nobody clicking.
    watch = admin.context.new_page()
    watch.goto(f"/research/{SLUG}/")
    wait_until(lambda: stories_ready(watch), timeout=240, interval=1, what="upgrade stories")
    watch.close()

    # The researcher page stays open while the others vote.
    admin.goto(f"/research/{SLUG}/")
    admin.evaluate("window.__notReloaded = true")
    expect(admin.locator("#live-winners .winner-card")).to_have_count(0)
    voters = [
        take_part(browser.new_context(base_url=base_url), code, answers)
        for code, answers in zip(codes[3:], ANSWERS[3:], strict=True)
    ]
    assert all(voters), voters
    judged += voters

    live = admin.get_by_role("region", name="Winning values by context")
    expect(live.get_by_role("status")).to_contain_text(
        re.compile(rf"Updated just now: snapshot \d+, {sum(judged)} votes"), timeout=DEADLINE_MS
    )
    expect(live.locator(".winner-card").first).to_contain_text(CONTEXTS[0][1], timeout=DEADLINE_MS)
    assert admin.evaluate("window.__notReloaded") is True

    researcher_of_another_study(admin)
    other = log_in(browser, base_url, "other", "another-Study-pass-9")
    for url, status in (("/research/demo/", 200), (f"/research/{SLUG}/", 404)):
        response = other.goto(url)
        assert response is not None
        assert response.status == status, url
