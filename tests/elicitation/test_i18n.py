"""The participant interface in English, Spanish and Arabic: the language from the browser or
the switcher, Arabic laid out right to left, the staff pages kept in English, and catalogues
that are complete and compiled (the .mo files in locale/ match their .po files)."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from elicitation import services
from elicitation.models import Participant, Study
from elicitation.services import demo_study_seed
from tests.factories import make_question, make_researcher, make_study

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "locale"
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]
PLURAL_FORMS = {"es": 2, "ar": 6}


def _html(response: Any) -> str:
    return str(response.content.decode())


def _root(page: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', page)
    assert match, page[:300]
    return match.group(1), match.group(2)


def test_the_browser_language_chooses_the_pages_language() -> None:
    study = make_study()
    make_question(study)
    english = Client().get(f"/s/{study.slug}/")
    assert _root(_html(english)) == ("en", "ltr")
    assert "Before you start" in _html(english)

    spanish = Client(headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"}).get(
        f"/s/{study.slug}/"
    )
    page = _html(spanish)
    assert _root(page) == ("es", "ltr")
    assert spanish["Content-Language"] == "es"
    assert "Accept-Language" in spanish["Vary"]
    assert "Antes de empezar" in page
    assert "He leído esto y acepto participar." in page
    assert "Before you start" not in page

    arabic = Client(headers={"accept-language": "ar-EG,ar;q=0.9"}).get(f"/s/{study.slug}/")
    page = _html(arabic)
    assert _root(page) == ("ar", "rtl")
    assert "قبل أن تبدأ" in page
    assert "Before you start" not in page

    # A language the site does not have falls back to English.
    german = Client(headers={"accept-language": "de-DE,de;q=0.9"}).get(f"/s/{study.slug}/")
    assert _root(_html(german)) == ("en", "ltr")


def test_the_switcher_offers_each_language_and_remembers_the_choice() -> None:
    study = make_study()
    client = Client(headers={"accept-language": "en"})
    page = _html(client.get(f"/s/{study.slug}/"))
    for code, name in (("en", "English"), ("es", "español"), ("ar", "العربيّة")):
        assert re.search(
            rf'<button type="submit" name="language" value="{code}" lang="{code}"[^>]*>{name}<',
            page,
        ), code
    assert 'action="/language/"' in page
    assert '<input type="hidden" name="next" value="/s/' in page

    switched = client.post("/language/", {"language": "ar", "next": f"/s/{study.slug}/"})
    assert switched.status_code == 302
    assert switched["Location"] == f"/s/{study.slug}/"
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ar"
    # The choice outranks the browser's Accept-Language from then on.
    assert _root(_html(client.get(f"/s/{study.slug}/"))) == ("ar", "rtl")
    client.post("/language/", {"language": "es", "next": "/"})
    assert _root(_html(client.get(f"/s/{study.slug}/"))) == ("es", "ltr")

    # Somewhere else than this site is not followed.
    away = client.post("/language/", {"language": "en", "next": "https://evil.example/"})
    assert away["Location"] == "/"


def test_errors_and_journey_pages_speak_the_participants_language() -> None:
    study = demo_study_seed()
    client = Client(headers={"accept-language": "ar"})
    refused = client.post(f"/s/{study.slug}/", {})
    assert refused.status_code == 400
    assert "يُرجى وضع علامة في المربع" in _html(refused)

    client = Client(headers={"accept-language": "es"})
    assert client.post(f"/s/{study.slug}/", {"consent": "yes"}).status_code == 302
    participant = Participant.objects.get(pk=client.session["participant_ids"][-1])
    page = _html(client.get(f"/s/{study.slug}/questions/"))
    assert "Elige una pregunta" in page
    assert "Comenzar la entrevista" in page
    # The progress bar: the step's name and its time, translated.
    assert "Pregunta" in page
    assert "(aprox. 1 minuto)" in page

    _to_picks(participant, study)
    picks = client.post(f"/s/{study.slug}/wise-values/", {})
    assert picks.status_code == 400
    assert "Elige al menos 2 valores que te parezcan sabios." in _html(picks)
    assert "¿Cuáles de estos valores son sabios?" in _html(picks)


def _to_picks(participant: Participant, study: Study) -> None:
    """The participant confirms a card through the services the socket uses."""
    question = study.questions.order_by("order").first()
    assert question is not None
    interview = services.interview_start(participant=participant, question=question)
    _, proposal = services.interview_answer_store(
        interview_id=interview.pk,
        text="A card.",
        card={
            "title": "Honest care for a friend",
            "description": "Helping a friend without deceiving anyone on her behalf.",
            "policies": [
                "WORRIES my friend has not said out loud",
                "WAYS to refuse the lie while staying on her side",
                "PEOPLE who would be hurt by the deception",
            ],
        },
    )
    assert proposal is not None
    services.values_card_submit(interview_id=interview.pk, proposal_id=proposal.proposal_id)


def test_each_wise_values_checkbox_is_named_by_its_cards_title() -> None:
    study = demo_study_seed()
    client = Client()
    client.post(f"/s/{study.slug}/", {"consent": "yes"})
    participant = Participant.objects.get(pk=client.session["participant_ids"][-1])
    _to_picks(participant, study)
    page = _html(client.get(f"/s/{study.slug}/wise-values/"))
    boxes = re.findall(r'<input type="checkbox" name="value" value="(\d+)" ([^>]*)>', page)
    assert len(boxes) >= 2
    for value_id, attributes in boxes:
        assert f'aria-labelledby="pick-{value_id} card-{value_id}-title"' in attributes
        title = re.search(rf'<h2 id="card-{value_id}-title">([^<]+)</h2>', page)
        assert title
        assert title.group(1).strip()
        assert f'<span class="pick-text" id="pick-{value_id}">This is wise</span>' in page


def test_the_start_page_says_how_long_each_step_takes() -> None:
    study = make_study()
    page = _html(Client().get(f"/s/{study.slug}/"))
    # Question and interview 9, values 2, stories 3, survey 1; with the welcome, 16 in all.
    assert "About 9 minutes." in page
    assert "About 2 minutes." in page
    assert "About 3 minutes." in page
    assert "About 1 minute." in page
    assert "About 16 minutes in all." in page
    assert re.search(
        r'aria-current="step">.*Welcome <span class="step-time">\(about 1 minute\)', page
    )


def test_staff_pages_stay_english_whatever_the_browser_asks() -> None:
    study = make_study()
    client = Client(headers={"accept-language": "ar"})
    client.force_login(make_researcher(study))
    response = client.get("/staff/")
    assert response.status_code == 200
    page = _html(response)
    assert _root(page) == ("en", "ltr")
    assert 'name="language"' not in page  # no switcher on the staff pages
    # The participant's pages in the same browser are in Arabic.
    assert _root(_html(client.get(f"/s/{study.slug}/"))) == ("ar", "rtl")


def test_a_closed_study_and_the_withdrawal_page_are_translated() -> None:
    study = make_study(status=Study.Status.CLOSED)
    page = _html(Client(headers={"accept-language": "es"}).get(f"/s/{study.slug}/"))
    assert "Este estudio está cerrado." in page
    open_study = make_study()
    refused = Client(headers={"accept-language": "ar"}).post(
        f"/s/{open_study.slug}/withdraw/", {"code": "W-NOPE"}
    )
    assert refused.status_code == 400
    assert "رمز الانسحاب هذا لا يطابق" in _html(refused)


def test_the_withdrawal_pages_message_is_the_services_own() -> None:
    from elicitation import withdrawal_views

    assert withdrawal_views.UNKNOWN_CODE == services.UNKNOWN_CODE


# --- the catalogues -----------------------------------------------------------------------------


def _po_entries(path: Path) -> list[dict[str, Any]]:
    """The entries of a .po file: msgid, msgid_plural, msgstr by index, flags."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] | None = None
    field: tuple[str, int] = ("msgid", 0)
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None:
                entries.append(entry)
            entry = None
            continue
        if entry is None:
            entry = {"msgid": "", "plural": None, "msgstr": {}, "flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _space, rest = line.partition(" ")
        if line.startswith('"'):
            text = ast.literal_eval(line)
        else:
            text = ast.literal_eval(rest)
            index = re.match(r"msgstr\[(\d+)\]", keyword)
            field = (
                ("msgstr", int(index.group(1)))
                if index
                else ("msgstr", 0)
                if keyword == "msgstr"
                else ("plural", 0)
                if keyword == "msgid_plural"
                else ("msgid", 0)
            )
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] = ""
            else:
                entry[field[0]] = ""
        if field[0] == "msgstr":
            entry["msgstr"][field[1]] += text
        else:
            entry[field[0]] += text
    return entries


def _placeholders(text: str) -> set[str]:
    """Python's %(name)s and the pages' script's {name}."""
    return {a or b for a, b in re.findall(r"%\((\w+)\)[sd]|\{(\w+)\}", text)}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalogue_entry_is_translated(language: str) -> None:
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    entries = _po_entries(path)
    header = next(e for e in entries if e["msgid"] == "")
    assert f"Language: {language}\n" in header["msgstr"][0]
    assert f"nplurals={PLURAL_FORMS[language]};" in header["msgstr"][0]
    messages = [e for e in entries if e["msgid"] != ""]
    assert len(messages) > 150
    problems = []
    for entry in messages:
        msgid = entry["msgid"]
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {msgid!r}")
        forms = PLURAL_FORMS[language] if entry["plural"] is not None else 1
        translations = [entry["msgstr"].get(i, "") for i in range(forms)]
        if not all(t.strip() for t in translations):
            problems.append(f"untranslated: {msgid!r}")
            continue
        source = _placeholders(msgid) | _placeholders(entry["plural"] or "")
        for translation in translations:
            # A placeholder the source lacks would fail at render; a singular translation
            # must keep every one (plural forms such as "one" may spell the number out).
            if not _placeholders(translation) <= source or (
                entry["plural"] is None and _placeholders(translation) != source
            ):
                problems.append(f"placeholders differ: {msgid!r} -> {translation!r}")
            if translation.count("<") != msgid.count("<"):
                problems.append(f"markup differs: {msgid!r} -> {translation!r}")
    assert problems == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_matches_its_po_file(language: str) -> None:
    """The committed .mo is the .po compiled: every translation in it, nothing else (a .po
    edited without recompiling fails here; `manage.py compilemessages` fixes it)."""
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog: dict[Any, str] = dict(compiled._catalog)  # type: ignore[attr-defined]
    catalog.pop("", None)
    expected: dict[Any, str] = {}
    for entry in _po_entries(folder / "django.po"):
        if entry["msgid"] == "" or "fuzzy" in entry["flags"]:
            continue
        if not all(entry["msgstr"].values()):  # untranslated: not compiled (and fails above)
            continue
        if entry["plural"] is None:
            expected[entry["msgid"]] = entry["msgstr"][0]
        else:
            for index, text in entry["msgstr"].items():
                expected[(entry["msgid"], index)] = text
    assert catalog == expected
