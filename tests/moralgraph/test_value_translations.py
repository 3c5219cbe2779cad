"""Values translated for readers of other languages, against the fake OpenAI-compatible server:
a whole translation or none, kept per wording (a changed wording is translated again), asked
for after a value is made or reworded and by the sweep, and never offline."""

from __future__ import annotations

from typing import Any

import pytest

from elicitation.models import Study
from inference.prompts import load_prompt
from inference.testing import FakeLLMServer
from moralgraph import tasks
from moralgraph.errors import MoralGraphError
from moralgraph.models import Value, ValueTranslation
from moralgraph.selectors import value_cards
from moralgraph.services import (
    CardText,
    card_canonicalise,
    value_translate,
    value_wording_hash,
    values_translate_request,
    values_translations_sweep,
)
from moralgraph.services.translations import TRANSLATE_TASK, translation_schema
from tests.factories import make_study
from tests.moralgraph.test_canonicalisation import assert_golden
from tests.support.celery_sent import tasks_sent

pytestmark = pytest.mark.django_db

SPANISH: dict[str, Any] = {
    "title": "Cuidar sin mentir",
    "description": "Ayudar a una amiga sin engañar a nadie por ella.",
    "policies": [
        "PREOCUPACIONES que mi amiga no ha dicho en voz alta",
        "MANERAS de negarme a mentir sin dejar de estar a su lado",
        "PERSONAS a quienes el engaño haría daño",
    ],
}
ENGLISH: dict[str, Any] = {
    "title": "Caring without lying",
    "description": "Helping a friend without deceiving anyone on her behalf.",
    "policies": [
        "WORRIES my friend has not said out loud",
        "WAYS to refuse to lie while staying on her side",
        "PEOPLE the deception would hurt",
    ],
}
ARABIC: dict[str, Any] = {
    "title": "الرعاية دون كذب",
    "description": "مساعدة صديقة دون خداع أي أحد نيابة عنها.",
    "policies": [
        "مخاوف لم تقلها صديقتي بصوت عالٍ",
        "طرق لرفض الكذب مع البقاء إلى جانبها",
        "أشخاص سيؤذيهم الخداع",
    ],
}


def _spanish_value(study: Study) -> Value:
    return Value.objects.create(study=study, language="es", **SPANISH)


def test_a_spanish_value_gets_an_english_and_an_arabic_translation(
    fake_llm: FakeLLMServer,
) -> None:
    value = _spanish_value(make_study())
    fake_llm.script({"json": ENGLISH}, {"json": ARABIC})

    english = value_translate(value_id=value.pk, language="en")
    arabic = value_translate(value_id=value.pk, language="ar")

    assert english is not None
    assert arabic is not None
    assert (english.language, english.title, english.policies) == (
        "en",
        ENGLISH["title"],
        ENGLISH["policies"],
    )
    assert (arabic.language, arabic.description) == ("ar", ARABIC["description"])
    prompt = load_prompt("value_translation", 1)
    for row in (english, arabic):
        assert row.source_hash == value_wording_hash(value)
        assert (row.model, row.prompt_hash) == ("fake-model", prompt.sha256)
    # What the model was asked: the whole card, from Spanish, with as many policies back.
    first, second = fake_llm.chat_requests()
    asked = first["messages"][0]["content"]
    assert "Title: Cuidar sin mentir" in asked
    assert SPANISH["policies"][2] in asked
    assert "Spanish (es)" in asked
    assert "English (en)" in asked
    assert "Arabic (ar)" in second["messages"][0]["content"]
    assert first["response_format"]["json_schema"]["schema"] == translation_schema(3)
    assert_golden("value_translation.prompt.txt", asked)

    # A current translation is not made again (no model call).
    again = value_translate(value_id=value.pk, language="en")
    assert again is not None
    assert again.pk == english.pk
    assert len(fake_llm.chat_requests()) == 2
    # Nothing to translate into the value's own language.
    assert value_translate(value_id=value.pk, language="es") is None


@pytest.mark.parametrize(
    "replies",
    [
        [{"text": "Claro, aquí tienes la traducción: Cuidar sin mentir", "repeat": 2}],
        # Two policies for three: a translation that lost one is no translation.
        [{"json": {**ENGLISH, "policies": ENGLISH["policies"][:2]}, "repeat": 2}],
    ],
    ids=["not-json", "a-policy-missing"],
)
def test_a_garbage_reply_stores_nothing_and_says_so(
    fake_llm: FakeLLMServer, replies: list[dict[str, Any]]
) -> None:
    value = _spanish_value(make_study())
    fake_llm.script(*replies)
    with pytest.raises(MoralGraphError) as raised:
        value_translate(value_id=value.pk, language="en")
    assert raised.value.code == "translation_failed"
    assert "nothing was stored" in raised.value.message
    assert not ValueTranslation.objects.exists()
    # The page goes on showing the original, with its language.
    (card,) = value_cards(value_ids=[value.pk], language="en")
    assert (card.title, card.language, card.original) == (SPANISH["title"], "es", None)


def test_a_blank_translation_is_refused(fake_llm: FakeLLMServer) -> None:
    value = _spanish_value(make_study())
    fake_llm.script({"json": {**ENGLISH, "description": "   "}})
    with pytest.raises(MoralGraphError) as raised:
        value_translate(value_id=value.pk, language="en")
    assert raised.value.code == "bad_translation"
    assert not ValueTranslation.objects.exists()


def test_a_model_that_does_not_answer_stores_nothing(fake_llm: FakeLLMServer) -> None:
    value = _spanish_value(make_study())
    fake_llm.script({"hang": True, "hang_s": 5})
    with pytest.raises(MoralGraphError) as raised:
        value_translate(value_id=value.pk, language="en")
    assert raised.value.code == "llm_timeout"
    assert not ValueTranslation.objects.exists()


def test_a_changed_wording_is_translated_again_and_shown_as_written_until_then(
    fake_llm: FakeLLMServer, django_capture_on_commit_callbacks: Any
) -> None:
    value = _spanish_value(make_study())
    fake_llm.script({"json": ENGLISH})
    value_translate(value_id=value.pk, language="en")
    (card,) = value_cards(value_ids=[value.pk], language="en")
    assert (card.title, card.language) == (ENGLISH["title"], "en")
    assert card.original is not None
    assert (card.original.title, card.original.language) == (SPANISH["title"], "es")

    # A merged card brings a better wording: the translation belongs to the old one.
    value.description = "Ayudar a una amiga sin engañar a nadie, ni siquiera por cariño."
    value.save(update_fields=["description"])
    (card,) = value_cards(value_ids=[value.pk], language="en")
    assert (card.description, card.language, card.original) == (value.description, "es", None)
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert values_translate_request(value_ids=[value.pk]) == [
            (value.pk, "en"),
            (value.pk, "ar"),
        ]
    assert sent == [(TRANSLATE_TASK, (value.pk, "en")), (TRANSLATE_TASK, (value.pk, "ar"))]

    newer = {
        **ENGLISH,
        "description": "Helping a friend without deceiving anyone, even out of love.",
    }
    fake_llm.script({"json": newer})
    translation = value_translate(value_id=value.pk, language="en")
    assert translation is not None
    assert ValueTranslation.objects.filter(value=value, language="en").count() == 1
    assert translation.source_hash == value_wording_hash(value)
    (card,) = value_cards(value_ids=[value.pk], language="en")
    assert card.description == newer["description"]


def test_cards_read_their_translations_in_one_query(
    fake_llm: FakeLLMServer, django_assert_num_queries: Any
) -> None:
    study = make_study()
    values = [_spanish_value(study) for _ in range(3)]
    english = Value.objects.create(study=study, language="en", **ENGLISH)
    unknown = Value.objects.create(study=study, title="Old", description="Imported.", policies=[])
    for value in values:
        fake_llm.script({"json": ENGLISH})
        value_translate(value_id=value.pk, language="en")
    ids = [english.pk, *(v.pk for v in values), unknown.pk]
    with django_assert_num_queries(2):
        cards = value_cards(value_ids=ids, language="en")
    assert [c.id for c in cards] == ids
    assert [c.original is not None for c in cards] == [False, True, True, True, False]
    assert [c.language for c in cards] == ["en", "en", "en", "en", ""]
    # Without a reader's language, every value as written.
    assert [c.language for c in value_cards(value_ids=ids)] == ["en", "es", "es", "es", ""]


def test_offline_nothing_is_translated_nor_asked_for(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # No LLM_BASE_URL in the test settings: the offline backend.
    value = _spanish_value(make_study())
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert values_translate_request(value_ids=[value.pk]) == []
        assert values_translations_sweep() == 0
        assert value_translate(value_id=value.pk, language="en") is None
    assert sent == []
    assert not ValueTranslation.objects.exists()
    (card,) = value_cards(value_ids=[value.pk], language="en")
    assert (card.title, card.language, card.language_name) == (SPANISH["title"], "es", "Spanish")


def test_requests_skip_values_without_a_language_and_those_translated(
    fake_llm: FakeLLMServer, django_capture_on_commit_callbacks: Any
) -> None:
    study = make_study()
    spanish = _spanish_value(study)
    unrecorded = Value.objects.create(study=study, title="Old", description="Imported.")
    fake_llm.script({"json": ENGLISH})
    value_translate(value_id=spanish.pk, language="en")
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        requested = values_translate_request(value_ids=[spanish.pk, unrecorded.pk])
    assert requested == [(spanish.pk, "ar")]
    assert sent == [(TRANSLATE_TASK, (spanish.pk, "ar"))]


def test_a_new_value_from_a_spanish_card_is_sent_for_translation_after_commit(
    fake_llm: FakeLLMServer, django_capture_on_commit_callbacks: Any
) -> None:
    study = make_study()
    card = CardText(
        SPANISH["title"], SPANISH["description"], tuple(SPANISH["policies"]), language="es"
    )
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        result = card_canonicalise(study_id=study.pk, card=card)
    value = Value.objects.get(pk=result.value_id)
    assert not result.is_merged
    assert value.language == "es"
    assert [(name, args) for name, args in sent if name == TRANSLATE_TASK] == [
        (TRANSLATE_TASK, (value.pk, "en")),
        (TRANSLATE_TASK, (value.pk, "ar")),
    ]
    # No candidate to judge, and translating is the worker's: no chat with the model here.
    assert fake_llm.chat_requests() == []


def test_the_sweep_asks_for_what_open_studies_still_lack(
    fake_llm: FakeLLMServer, django_capture_on_commit_callbacks: Any
) -> None:
    open_study, closed_study = make_study(), make_study(status=Study.Status.CLOSED)
    value = _spanish_value(open_study)
    _spanish_value(closed_study)
    hidden = Value.objects.create(
        study=open_study, language="es", status=Value.Status.HIDDEN, **SPANISH
    )
    fake_llm.script({"json": ARABIC})
    value_translate(value_id=value.pk, language="ar")
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert values_translations_sweep() == 1
    assert sent == [(TRANSLATE_TASK, (value.pk, "en"))]
    assert hidden.pk not in {args[0] for _, args in sent}
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert values_translations_sweep(limit=0) == 0
    assert sent == []


def test_a_translation_requested_lately_is_not_requested_again_until_its_wording_changes(
    fake_llm: FakeLLMServer, django_capture_on_commit_callbacks: Any
) -> None:
    """A task still queued, or a model that keeps failing on a value, is not sent again at
    every sweep; a new wording is a new translation, requested at once."""
    value = _spanish_value(make_study())
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert values_translations_sweep() == 2
        assert values_translations_sweep() == 0
        assert values_translate_request(value_ids=[value.pk]) == []
    assert sorted(args for _, args in sent) == [(value.pk, "ar"), (value.pk, "en")]
    Value.objects.filter(pk=value.pk).update(title="Cuidar a una amiga sin mentir nunca")
    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        assert values_translations_sweep() == 2
    assert len(sent) == 2


def test_the_task_named_by_requests_translates(fake_llm: FakeLLMServer) -> None:
    value = _spanish_value(make_study())
    fake_llm.script({"json": ENGLISH})
    assert tasks.value_translate.name == TRANSLATE_TASK
    result = tasks.value_translate.apply(args=[value.pk, "en"])
    assert result.get() == ValueTranslation.objects.get(value=value, language="en").pk
