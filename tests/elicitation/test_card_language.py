"""Cards keep their language: a submitted card records the language its words are in, its new
value takes it, and other participants read the value in their own language when the model
has translated it (the original one click away), or as written with its language named."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from elicitation import services
from elicitation.models import Participant, Question, Study, ValuesCard
from inference.testing import FakeLLMServer
from moralgraph.models import Context, UpgradeHypothesis, Value
from moralgraph.services import value_translate
from tests.elicitation.test_journey_pages import _to_picks
from tests.factories import make_participant, make_question, make_study
from tests.moralgraph.test_value_translations import ARABIC, ENGLISH, SPANISH

pytestmark = pytest.mark.django_db

OTHER: dict[str, Any] = {
    "title": "Standing by a friend",
    "description": "Staying loyal to a friend when it is hard.",
    "policies": ["MOMENTS when she needs someone on her side"],
}


def _article(page: str, title_id: str) -> tuple[str, str]:
    """The card's opening tag and its inside, found by its title's id."""
    found = re.search(
        rf'(<article class="values-card[^"]*" aria-labelledby="{title_id}"[^>]*>)(.*?)</article>',
        page,
        re.DOTALL,
    )
    assert found, f"no card titled by #{title_id} on the page"
    return found.group(1), found.group(2)


def _seeded_values(study: Study, question: Question) -> tuple[Value, Value]:
    """A Spanish value and an English one, in a story of the question's context (so the
    wise-values page draws both and the stories page shows the story)."""
    spanish = Value.objects.create(study=study, language="es", **SPANISH)
    english = Value.objects.create(study=study, language="en", **OTHER)
    context = Context.objects.create(
        study=study, text="When a friend asks for a lie", status=Context.Status.APPROVED
    )
    context.questions.add(question)
    UpgradeHypothesis.objects.create(
        study=study,
        from_value=english,
        to_value=spanish,
        context=context,
        story="I used to cover for her. Then I saw that it was hurting her. Now I say no kindly.",
        run_id="seeded",
    )
    return spanish, english


def test_a_spanish_card_is_recorded_as_spanish_and_its_new_value_too() -> None:
    study = make_study()
    question = make_question(study)
    interview = services.interview_start(participant=make_participant(study), question=question)
    _, proposal = services.interview_answer_store(
        interview_id=interview.pk, text="Una tarjeta.", card=SPANISH
    )
    assert proposal is not None
    # Submitted from an English page: the card's own words say Spanish.
    card = services.values_card_submit(interview_id=interview.pk, proposal_id=proposal.proposal_id)
    assert card.language == "es"
    ValuesCard.objects.filter(pk=card.pk).update(screening=ValuesCard.Screening.SHOWN)
    value_id = services.values_card_canonicalise(card_id=card.pk)
    assert value_id is not None
    assert Value.objects.get(pk=value_id).language == "es"


def test_the_wise_values_page_shows_a_translated_value_with_the_original_inside(
    fake_llm: FakeLLMServer,
) -> None:
    study = make_study(wise_values_shown=5)
    question = make_question(study)
    spanish, english = _seeded_values(study, question)
    fake_llm.script({"json": ENGLISH})
    value_translate(value_id=spanish.pk, language="en")

    client = Client(headers={"accept-language": "en"})
    _to_picks(client, study)
    page = client.get(f"/s/{study.slug}/wise-values/").content.decode()

    tag, inside = _article(page, f"card-{spanish.pk}-title")
    assert 'lang="en" dir="ltr"' in tag
    assert f'<h2 id="card-{spanish.pk}-title">{ENGLISH["title"]}</h2>' in inside
    assert ENGLISH["policies"][0] in inside
    assert "Translated by a model from Spanish" in inside
    original = re.search(
        r"<details[^>]*>\s*<summary>Show the original</summary>(.*?)</details>", inside, re.DOTALL
    )
    assert original, "the original is inside a <details>"
    assert '<div class="card-original-text" lang="es" dir="ltr">' in original.group(1)
    assert SPANISH["title"] in original.group(1)
    assert SPANISH["policies"][1] in original.group(1)
    assert SPANISH["title"] not in inside.replace(original.group(1), "")

    # A value in the page's own language is shown as written, with nothing said about it.
    tag, inside = _article(page, f"card-{english.pk}-title")
    assert 'lang="en" dir="ltr"' in tag
    assert "Translated by" not in inside
    assert "Written in" not in inside
    assert "<details" not in inside


def test_an_arabic_reader_sees_the_arabic_translation_right_to_left(
    fake_llm: FakeLLMServer,
) -> None:
    study = make_study(wise_values_shown=5)
    question = make_question(study)
    spanish, _english = _seeded_values(study, question)
    fake_llm.script({"json": ARABIC})
    value_translate(value_id=spanish.pk, language="ar")

    client = Client(headers={"accept-language": "ar"})
    _to_picks(client, study)
    page = client.get(f"/s/{study.slug}/wise-values/").content.decode()
    tag, inside = _article(page, f"card-{spanish.pk}-title")
    assert 'lang="ar" dir="rtl"' in tag
    assert ARABIC["title"] in inside
    assert '<div class="card-original-text" lang="es" dir="ltr">' in inside


def test_offline_the_page_shows_the_original_and_names_its_language() -> None:
    # No model configured (the test settings' default): nothing was translated.
    study = make_study(wise_values_shown=5)
    question = make_question(study)
    spanish, _english = _seeded_values(study, question)

    client = Client(headers={"accept-language": "en"})
    _to_picks(client, study)
    page = client.get(f"/s/{study.slug}/wise-values/").content.decode()
    tag, inside = _article(page, f"card-{spanish.pk}-title")
    assert 'lang="es" dir="ltr"' in tag
    assert f'<h2 id="card-{spanish.pk}-title">{SPANISH["title"]}</h2>' in inside
    assert re.search(r'<p class="card-language" lang="en" dir="ltr">Written in Spanish</p>', inside)
    assert "<details" not in inside


def test_the_stories_page_shows_translated_values_and_the_original_after_a_rewording(
    fake_llm: FakeLLMServer,
) -> None:
    study = make_study(wise_values_shown=5, wise_values_required=1)
    question = make_question(study)
    spanish, english = _seeded_values(study, question)
    fake_llm.script({"json": ENGLISH})
    value_translate(value_id=spanish.pk, language="en")

    client = Client(headers={"accept-language": "en"})
    participant = _to_picks(client, study)
    client.get(f"/s/{study.slug}/wise-values/")
    participant.refresh_from_db()
    client.post(f"/s/{study.slug}/wise-values/", {"value": (participant.wise_value_ids or [])[:1]})
    assert Participant.objects.get(pk=participant.pk).stage == Participant.Stage.VOTES

    page = client.get(f"/s/{study.slug}/stories/").content.decode()
    (hypothesis_id,) = UpgradeHypothesis.objects.values_list("id", flat=True)
    tag, inside = _article(page, f"card-to-{hypothesis_id}-title")
    assert 'lang="en"' in tag
    assert ENGLISH["title"] in inside
    assert "Show the original" in inside

    # A merged card rewords the value: its translation is stale, so the page shows the value
    # as now written, in Spanish, until the model has translated the new wording.
    Value.objects.filter(pk=spanish.pk).update(title="Cuidar sin mentir nunca")
    page = client.get(f"/s/{study.slug}/stories/").content.decode()
    tag, inside = _article(page, f"card-to-{hypothesis_id}-title")
    assert 'lang="es"' in tag
    assert "Cuidar sin mentir nunca" in inside
    assert ENGLISH["title"] not in inside
    assert "Written in Spanish" in inside
    _tag, before = _article(page, f"card-from-{hypothesis_id}-title")
    assert OTHER["title"] in before


def test_the_card_label_is_translated() -> None:
    study = make_study(wise_values_shown=5)
    question = make_question(study)
    _seeded_values(study, question)
    client = Client(headers={"accept-language": "es"})
    _to_picks(client, study)
    page = client.get(f"/s/{study.slug}/wise-values/").content.decode()
    assert "What this person pays attention to:" not in page
    assert '<p class="card-label" lang="es" dir="ltr">' in page
