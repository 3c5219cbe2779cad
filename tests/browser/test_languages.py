"""The whole journey in Spanish (chosen by the browser), in Arabic (chosen with the switcher,
laid out right to left) and in English, with the offline interviewer: every page passes
axe-core with no violations at all, at a phone's and a laptop's width, and each is kept as a
screenshot under the test's folder; the Arabic pages are checked to be mirrored.

The interview step is driven by structure, not by its words (they belong to the interview's
own tests): answer until the card editor opens, give the card a title, save, confirm."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from elicitation.models import Participant, SurveyResponse, ValuesCard
from elicitation.services import demo_study_seed
from moralgraph.models import Selection, UpgradeVote, Value, ValueTranslation
from moralgraph.selectors.translations import value_wording_hash
from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (375, 1280)
TIMEOUT_MS = 30_000

# Per language: how the browser asks for it, the answers given to the interviewer (situation,
# attention, meaning, limits; each a few sentences of the participant's own), the card's
# title, and a heading each page must show in that language.
JOURNEYS: dict[str, dict[str, Any]] = {
    "es": {
        "accept": "es-ES",
        "answers": [
            "Mi mejor amiga me pidió que mintiera a su novio por ella. Le dije que sí y me "
            "arrepentí durante semanas.",
            "Me fijé en el miedo que tenía de perderlo. Pensé en si la mentira haría daño a "
            "alguien más. También pensé en cuánto confiaba ella en mí.",
            "Una amistad de verdad se mide en años, no en un fin de semana. Decir la verdad "
            "con cariño la protege más que una mentira.",
            "Si alguien corre peligro, la lealtad ya no manda. Entonces hay que hablar.",
        ],
        "title": "Cuidar sin mentir por ella",
        "start_heading": "Antes de empezar",
        "finish_heading": "Gracias, has terminado",
    },
    "ar": {
        "accept": "en-US",  # the switcher chooses Arabic
        "answers": [
            "طلبت مني صديقتي المقربة أن أكذب على خطيبها من أجلها. وافقت ثم ندمت لأسابيع.",
            "لاحظت أنها كانت خائفة من أن تفقده. فكرت في ما إذا كانت الكذبة ستؤذي أحدًا غيرها. "
            "وفكرت أيضًا في مقدار ثقتها بي.",
            "الصداقة الحقيقية تقاس بالسنوات لا بعطلة واحدة. قول الحقيقة بلطف يحميها أكثر من الكذب.",
            "إذا كان أحد في خطر فإن الولاء لا يكفي. عندها يجب أن أتكلم.",
        ],
        "title": "الرعاية دون كذب من أجلها",
        "start_heading": "قبل أن تبدأ",
        "finish_heading": "شكرًا لك، لقد انتهيت",
    },
    "en": {
        "accept": "en-US",
        "answers": [
            "My best friend asked me to lie to her boyfriend for her. I said yes and regretted "
            "it for weeks.",
            "I noticed she was scared of losing him. I thought about whether the lie would hurt "
            "anyone else. I also thought about how much she trusted me.",
            "A real friendship is measured in years, not one weekend. Telling the truth kindly "
            "protects her more than a lie.",
            "If someone is in danger, loyalty stops deciding. Then I have to speak up.",
        ],
        "title": "Caring without lying for her",
        "start_heading": "Before you start",
        "finish_heading": "Thank you, you are done",
    },
}

_AXE_ALL = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""

# The Arabic page is mirrored: the text direction; the progress bar starts at the right edge of
# the main column, its first step rightmost; the first heading is set right to left when it is
# in the page's language (a study's own English title keeps its direction).
_LAYOUT = """() => {
  const main = document.querySelector("main").getBoundingClientRect();
  const steps = [...document.querySelectorAll(".steps li")].map((li) => li.getBoundingClientRect());
  const bar = document.querySelector(".steps").getBoundingClientRect();
  return {
    direction: getComputedStyle(document.body).direction,
    htmlDir: document.documentElement.dir,
    firstStepAtRight: Math.abs(bar.right - steps[0].right) < 2,
    firstStepAtLeft: Math.abs(steps[0].left - bar.left) < 2,
    firstStepRightOfSecond: steps[0].top === steps[1].top ? steps[0].left > steps[1].left : null,
    barInMain: bar.left >= main.left - 1 && bar.right <= main.right + 1,
    overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
  };
}"""


@pytest.fixture
def context(
    browser: Browser, asgi_server: str, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    language = request.node.callspec.params["language"]
    context = browser.new_context(base_url=asgi_server, locale=JOURNEYS[language]["accept"])
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


class Checker:
    """Runs axe and the layout checks on each page, and keeps its screenshots."""

    def __init__(self, page: Page, axe: str, folder: Path, language: str) -> None:
        self.page, self.axe, self.folder, self.language = page, axe, folder, language
        self.pages = 0
        folder.mkdir(parents=True, exist_ok=True)

    def check(self, name: str) -> None:
        self.pages += 1
        page = self.page
        assert page.evaluate("document.documentElement.lang") == self.language, page.url
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            if not page.evaluate("typeof window.axe !== 'undefined'"):
                page.evaluate(self.axe)  # evaluated: the CSP refuses an inline <script>
            violations: list[dict[str, Any]] = page.evaluate(_AXE_ALL)
            assert violations == [], f"axe on {name} ({self.language}) at {width}px: {violations}"
            layout: dict[str, Any] = page.evaluate(_LAYOUT)
            assert not layout["overflow"], f"{name} scrolls sideways at {width}px"
            assert layout["barInMain"], layout
            if self.language == "ar":
                assert layout["direction"] == "rtl", layout
                assert layout["htmlDir"] == "rtl", layout
                assert layout["firstStepAtRight"], layout
                assert layout["firstStepRightOfSecond"] in (True, None), layout
            else:
                assert layout["direction"] == "ltr", layout
                assert layout["firstStepAtLeft"], layout
                assert layout["firstStepRightOfSecond"] in (False, None), layout
            shot = self.folder / f"{self.language}-{self.pages:02d}-{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 1000
        page.set_viewport_size({"width": 1280, "height": 900})


def _interview(page: Page, answers: list[str], title: str) -> None:
    """Answer until the card editor opens with the drafted card; title it, save, confirm."""
    transcript = page.locator("#transcript")
    editor = page.locator("#card-editor")
    for number, answer in enumerate(answers, start=1):
        page.locator("#message").fill(answer)
        page.locator("#send").click()
        expect(transcript.locator(".bubble.assistant[data-seq]")).to_have_count(number)
        expect(page.locator("#send")).to_be_enabled()
        if editor.is_visible():
            break
    expect(editor).to_be_visible()
    page.locator("#card-title-input").fill(title)
    page.locator("#card-save").click()
    finished = transcript.locator('article.values-card[data-draft="false"]')
    expect(finished).to_have_count(1)
    expect(finished.locator("h2")).to_have_text(title)
    confirm = finished.locator("button.confirm")
    expect(confirm).to_be_enabled()
    confirm.click()


def _stories(page: Page) -> int:
    """Judge each story drawn (whether the page loads again per story or not); how many."""
    judged = 0
    while not page.url.endswith("/survey/"):
        form = page.locator("main form:has(input[name=choice]):visible").first
        if form.count() == 0:  # nothing (left) to judge: go on
            page.locator("main form button[name=continue]").click()
            page.wait_for_url(re.compile(r"/survey/$"))
            break
        hypothesis = form.locator("input[name=hypothesis]").input_value()
        form.locator("input[name=choice][value=not_sure]").check()
        form.locator("button[type=submit]").click()
        judged += 1
        page.wait_for_function(
            """(before) => location.pathname.endsWith("/survey/") || [...document
                .querySelectorAll("main form input[name=hypothesis]")]
                .filter((i) => i.closest("form").offsetParent !== null)
                .some((i) => i.value !== before)""",
            arg=hypothesis,
        )
        assert judged < 20
    return judged


# How the translation test marks the translated wording (the model's words, as far as the
# page is concerned).
TRANSLATED = {"es": "Traducción", "ar": "ترجمة"}


def _translate_demo_values(language: str) -> None:
    """A current translation of every (English) demo value into the page's language, as the
    model would have made it after canonicalisation."""
    for value in Value.objects.all():
        ValueTranslation.objects.create(
            value=value,
            language=language,
            title=f"{TRANSLATED[language]}: {value.title}",
            description=f"{TRANSLATED[language]}: {value.description}",
            policies=[f"{TRANSLATED[language]} {n}" for n in range(len(value.policies))],
            source_hash=value_wording_hash(value),
            model="fake-model",
        )


def _translated_cards(page: Page, language: str) -> None:
    """Each card is shown in the page's language, says it was translated, and shows the
    English original when asked; an English page shows the English cards as they are."""
    cards = page.locator("main .card-grid article.values-card")
    first = cards.first
    if language == "en":
        expect(first).to_have_attribute("lang", "en")
        expect(page.locator("main details.card-original")).to_have_count(0)
        return
    expect(first).to_have_attribute("lang", language)
    expect(first.locator("h2")).to_contain_text(TRANSLATED[language])
    original = first.locator("details.card-original")
    text = original.locator(".card-original-text")
    expect(text).to_be_hidden()
    original.locator("summary").click()
    expect(text).to_be_visible()
    expect(text).to_have_attribute("lang", "en")
    expect(text).not_to_contain_text(TRANSLATED[language])


def _change_a_story(page: Page, checker: Checker) -> None:
    """From the survey back to the stories: change the first judgement to "No", come back."""
    page.locator("main input[value='2']").first.check()  # an answer typed before going back
    page.locator("main button[name=back]").click()
    expect(page).to_have_url(re.compile(r"/s/demo/stories/review/$"))
    checker.check("stories-review")
    form = page.locator("main form:has(input[name=choice])").first
    expect(form.locator("input[name=choice][value=not_sure]")).to_be_checked()
    form.locator("input[name=choice][value=no_upgrade]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("main [role=status]")).to_have_count(1)
    page.locator("main a.button[href$='/survey/']").click()
    expect(page).to_have_url(re.compile(r"/s/demo/survey/$"))
    expect(page.locator("main input[value='2']").first).to_be_checked()


@pytest.mark.parametrize("language", ["es", "ar", "en"])
def test_a_whole_journey_in_each_language(
    context: BrowserContext, axe_source: str, tmp_path: Path, language: str
) -> None:
    journey = JOURNEYS[language]
    study = demo_study_seed()
    if language != "en":
        _translate_demo_values(language)
    page = context.new_page()
    # Under the test's own folder, or where MGE_SCREENSHOTS says (to look at them afterwards).
    folder = Path(SCREENSHOTS) / "languages" if SCREENSHOTS else tmp_path / "screenshots"
    checker = Checker(page, axe_source, folder, language)

    page.goto("/s/demo/")
    if language == "ar":
        # The switcher: the page comes back in Arabic, laid out right to left.
        assert page.evaluate("document.documentElement.lang") == "en"
        page.locator('.language-switcher button[value="ar"]').click()
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name=journey["start_heading"])).to_be_visible()
    checker.check("start")
    page.locator("input[name=consent]").check()
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/s/demo/questions/$"))
    code = page.locator("#resume-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    checker.check("question")
    page.locator("main input[name=question]").first.check()
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/interviews/\d+/$"))
    expect(page.locator("#resume-code")).to_have_text(code)
    checker.check("interview")
    _interview(page, journey["answers"], journey["title"])

    expect(page).to_have_url(re.compile(r"/s/demo/wise-values/$"))
    checker.check("wise-values")
    _translated_cards(page, language)
    checker.check("wise-values-original")
    boxes = page.locator("main input[name=value]")
    assert boxes.count() >= 2
    # Each box is named by its card's title.
    first_title = page.locator("main .card-grid li").first.locator("h2").inner_text()
    expect(page.get_by_role("checkbox", name=re.compile(re.escape(first_title)))).to_have_count(1)
    boxes.nth(0).check()
    boxes.nth(1).check()
    boxes.nth(1).uncheck()  # picks can change until they are sent
    boxes.nth(2 if boxes.count() > 2 else 1).check()
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/s/demo/stories/$"))
    checker.check("story")
    judged = _stories(page)

    checker.check("survey")
    _change_a_story(page, checker)
    checker.check("survey-again")
    for fieldset in page.locator("fieldset.likert").all():
        fieldset.locator("input[value='4']").check()
    page.locator("main form button[type=submit]").first.click()

    expect(page).to_have_url(re.compile(r"/s/demo/done/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(journey["finish_heading"])
    checker.check("finish")

    participant = Participant.objects.get(study=study, is_preview=False)
    assert participant.stage == Participant.Stage.FINISHED
    card = ValuesCard.objects.get(participant=participant)
    assert card.title == journey["title"]
    assert set(card.policies)
    assert all(p.strip() for p in card.policies)
    picked = Selection.objects.filter(participant=participant, is_picked=True).count()
    assert picked == 2
    votes = UpgradeVote.objects.filter(participant=participant)
    assert votes.count() == judged  # the changed judgement is the same vote
    assert sorted(votes.values_list("choice", flat=True)) == sorted(
        ["no_upgrade"] + ["not_sure"] * (judged - 1)
    )
    assert SurveyResponse.objects.filter(participant=participant).count() == 5
    assert len(list(folder.glob(f"{language}-*.png"))) >= 2 * checker.pages
