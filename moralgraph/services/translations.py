"""Values in their readers' languages: the model translates a value's wording (title,
description, policies) into each other language of the interface, once per wording, and the
translation is kept (`ValueTranslation`). A participant sees a value in their own language
when a current translation exists, with the original one click away; otherwise the original,
with its language named.

Translation needs a model: with the offline backend (no LLM_BASE_URL) nothing is translated
and nothing is requested. Like the graph's other model work (the canonicalisation judge, the
stories), it follows the server's configuration, not a study's interviewer setting.

The model is asked outside any transaction; a short atomic block then re-checks that the
value's wording is still the one translated and writes. A reply that is not a whole
translation (not JSON, a policy missing or blank) or a timeout stores nothing and raises a
`MoralGraphError`: never a half translation. A translation requested is not requested again
for `REQUEST_AGAIN_SECONDS` (per value, language and wording; a mark in Redis).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils.translation import get_language_info

from inference.gateway import Gateway, LLMError, LLMTimeout, Message, gateway_from_settings
from inference.prompts import Prompt, load_prompt
from moralgraph import studies
from moralgraph.errors import MoralGraphError
from moralgraph.models import Value, ValueTranslation
from moralgraph.selectors.translations import (
    language_base,
    translation_languages,
    translations_missing,
    value_wording_hash,
)
from moralgraph.services.rebuild_marks import work_claim

logger = logging.getLogger(__name__)

TRANSLATE_TASK = "moralgraph.tasks.value_translate"
TRANSLATION_PROMPT = "value_translation"
TRANSLATION_PROMPT_VERSION = 1
# The sweep requests at most this many translations at a time (the rest at its next run).
SWEEP_MAX_REQUESTS = 200
# A translation requested is not requested again for this long (the same wording, the same
# language): a task still queued, or a model that keeps failing on it, is not sent again at
# every sweep.
REQUEST_AGAIN_SECONDS = 15 * 60


def translations_available(*, gateway: Gateway | None = None) -> bool:
    """Whether values can be translated here: a model is configured (not the offline backend)."""
    return (gateway or gateway_from_settings(settings)).backend_name != "offline"


def translation_schema(policy_count: int) -> dict[str, Any]:
    """What the model must answer: the card's three parts, with as many policies as it has."""
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": text,
            "policies": {
                "type": "array",
                "items": text,
                "minItems": policy_count,
                "maxItems": policy_count,
            },
        },
        "required": ["title", "description", "policies"],
        "additionalProperties": False,
    }


def _prompt_language(code: str) -> str:
    """How the prompt names a language: "Spanish (es)" (the model reads English)."""
    try:
        return f"{get_language_info(code)['name']} ({code})"
    except KeyError:
        return code


def _card_for_prompt(value: Value) -> str:
    policies = "\n".join(f"- {p}" for p in value.policies)
    return f"Title: {value.title}\nDescription: {value.description}\nPolicies:\n{policies}"


def _failed(value: Value, target: str, code: str, message: str) -> MoralGraphError:
    logger.warning("value %s not translated into %s: %s", value.pk, target, message)
    return MoralGraphError(code, message)


def _translated_wording(
    gateway: Gateway, prompt: Prompt, value: Value, target: str
) -> tuple[str, str, list[str]]:
    """The model's whole translation of the value (a model call: never inside a transaction),
    or a clear error."""
    count = len(value.policies)
    messages: list[Message] = [
        {
            "role": "user",
            "content": prompt.render(
                card=_card_for_prompt(value),
                count=count,
                source_language=_prompt_language(language_base(value.language)),
                target_language=_prompt_language(target),
            ),
        }
    ]
    try:
        answer = gateway.structured_sync(
            messages, schema=translation_schema(count), name="value_translation"
        )
    except LLMTimeout as error:
        raise _failed(
            value,
            target,
            "llm_timeout",
            f"The model did not answer in time while translating a value; nothing was stored. "
            f"({error})",
        ) from error
    except LLMError as error:
        raise _failed(
            value,
            target,
            "translation_failed",
            f"Translating a value failed; nothing was stored: {error}",
        ) from error
    title = " ".join(str(answer["title"]).split())
    description = str(answer["description"]).strip()
    policies = [" ".join(str(p).split()) for p in answer["policies"]]
    if not title or not description or len(policies) != count or not all(policies):
        raise _failed(
            value,
            target,
            "bad_translation",
            f"The model's translation of a value was not whole (a blank part, or {len(policies)} "
            f"policies for {count}); nothing was stored.",
        )
    return title[:200], description, policies


def value_translate(
    *, value_id: int, language: str, gateway: Gateway | None = None
) -> ValueTranslation | None:
    """The value's current translation into `language`, made by the model and stored (or
    replacing a stale one) when there is none. Idempotent: a current translation is returned
    as it is, without asking the model.

    None when there is nothing to translate: the value is gone, its language was not recorded,
    it is already in `language`, no model is configured (offline), or its wording changed
    while the model was translating (the newer wording gets its own request)."""
    target = language_base(language)
    if target not in translation_languages():
        raise MoralGraphError(
            "unknown_language",
            f"Values are translated into {', '.join(translation_languages())} only, "
            f"not {language!r}.",
        )
    value = Value.objects.filter(pk=value_id).first()
    source = language_base(value.language) if value is not None else ""
    if value is None or not source or source == target:
        return None
    gateway = gateway or gateway_from_settings(settings)
    if not translations_available(gateway=gateway):
        return None
    source_hash = value_wording_hash(value)
    current = ValueTranslation.objects.filter(
        value_id=value_id, language=target, source_hash=source_hash
    ).first()
    if current is not None:
        return current
    prompt = load_prompt(TRANSLATION_PROMPT, TRANSLATION_PROMPT_VERSION)
    title, description, policies = _translated_wording(gateway, prompt, value, target)
    with transaction.atomic():
        # Lock the value so that a merge changing its wording waits, or has happened already.
        locked = Value.objects.select_for_update().filter(pk=value_id).first()
        if locked is None or value_wording_hash(locked) != source_hash:
            logger.info("value %s changed while being translated; not stored", value_id)
            return None
        translation, _created = ValueTranslation.objects.update_or_create(
            value_id=value_id,
            language=target,
            defaults={
                "title": title,
                "description": description,
                "policies": policies,
                "source_hash": source_hash,
                "model": gateway.model,
                "prompt_hash": prompt.sha256,
            },
        )
    return translation


# What a translation reads of a value (not its embedding).
_WORDING_FIELDS = ("id", "title", "description", "policies", "language")


def _request(
    pairs: list[tuple[int, str]], values: list[Value], limit: int | None = None
) -> list[tuple[int, str]]:
    """Send the translations asked for (at most `limit`), except those requested lately for
    the same wording."""
    by_id = {value.pk: value for value in values}
    hashes: dict[int, str] = {}  # only the values still missing a translation
    sent: list[tuple[int, str]] = []
    for value_id, target in pairs:
        if limit is not None and len(sent) >= limit:
            break
        if value_id not in hashes:
            hashes[value_id] = value_wording_hash(by_id[value_id])
        what = f"translate:{value_id}:{target}:{hashes[value_id][:16]}"
        if work_claim(what=what, seconds=REQUEST_AGAIN_SECONDS):
            sent.append((value_id, target))
    for value_id, target in sent:
        send = functools.partial(current_app.send_task, TRANSLATE_TASK, args=[value_id, target])
        transaction.on_commit(send, robust=True)
    return sent


def values_translate_request(*, value_ids: Iterable[int]) -> list[tuple[int, str]]:
    """Ask the worker (after commit; one task per value and language) to translate each of
    these active values into each interface language other than its own that lacks a current
    translation. Nothing is asked offline, nor for a value whose language was not recorded.
    Returns the (value id, language) pairs requested."""
    ids = set(value_ids)
    if not ids or not translations_available():
        return []
    values = Value.objects.filter(pk__in=ids, status=Value.Status.ACTIVE).exclude(language="")
    rows = list(values.only(*_WORDING_FIELDS))
    return _request(translations_missing(values=rows, languages=translation_languages()), rows)


def values_translations_sweep(*, limit: int = SWEEP_MAX_REQUESTS) -> int:
    """The periodic catch-up: request the translations that open studies' active values still
    lack (a lost task, a model that was down, a wording changed), at most `limit` at a time
    (the rest at the next run). Returns how many were requested."""
    if not translations_available():
        return 0
    open_ids = [s.id for s in studies.study_refs() if s.status == "open"]
    values = Value.objects.filter(study_id__in=open_ids, status=Value.Status.ACTIVE).exclude(
        language=""
    )
    rows = list(values.only(*_WORDING_FIELDS))
    missing = translations_missing(values=rows, languages=translation_languages())
    return len(_request(missing, rows, limit))
