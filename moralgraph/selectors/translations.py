"""Reads of values' translations: which wording a translation belongs to, and which values
still lack a current one.

A translation belongs to one wording of its value (`value_wording_hash`): when a merged card
replaces the value's wording (or its language), the translation is stale. A stale translation
is never shown; it is made again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.utils.translation import get_language_info

from moralgraph.models import Value, ValueTranslation


def language_base(code: str | None) -> str:
    """A language code as translations are kept: "es" for "es", "ES" or "es-mx"."""
    return (code or "").strip().lower().split("-")[0]


def translation_languages() -> tuple[str, ...]:
    """The languages values are translated into: the interface's (settings.LANGUAGES)."""
    return tuple(dict.fromkeys(language_base(code) for code, _name in settings.LANGUAGES))


def language_name(code: str) -> str:
    """The language's name in the active (the reader's) language, as Django names it:
    "Spanish" on an English page, "Español" on a Spanish one; the code itself for a language
    the interface does not speak."""
    base = language_base(code)
    if base not in {language_base(c) for c, _name in settings.LANGUAGES}:
        return code
    return str(get_language_info(base)["name_translated"])


def value_wording_hash(value: Value) -> str:
    """The sha256 of what a translation of the value translates: its title, description,
    policies and the language they are written in."""
    wording = {
        "language": language_base(value.language),
        "title": value.title,
        "description": value.description,
        "policies": [str(p) for p in value.policies],
    }
    text = json.dumps(wording, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def translations_current(*, values: Sequence[Value], language: str) -> dict[int, ValueTranslation]:
    """The current translation into `language` of each of these values that has one, by value
    id, in one query (a stale one, of an earlier wording, is left out)."""
    target = language_base(language)
    wanted = {v.pk: value_wording_hash(v) for v in values if language_base(v.language) != target}
    if not wanted or not target:
        return {}
    rows = ValueTranslation.objects.filter(value_id__in=wanted, language=target)
    return {row.value_id: row for row in rows if row.source_hash == wanted[row.value_id]}


def translations_missing(
    *, values: Iterable[Value], languages: Sequence[str]
) -> list[tuple[int, str]]:
    """(value id, language) for each of these values and each of these languages other than
    the value's own that has no current translation, in value then language order (one query).
    A value whose language was not recorded is left out: nothing says what to translate from."""
    recorded = [v for v in values if language_base(v.language)]
    if not recorded:
        return []
    targets = [language_base(code) for code in languages]
    hashes = {v.pk: value_wording_hash(v) for v in recorded}
    rows = ValueTranslation.objects.filter(value_id__in=hashes, language__in=targets)
    current = {
        (value_id, language)
        for value_id, language, source_hash in rows.values_list(
            "value_id", "language", "source_hash"
        )
        if source_hash == hashes[value_id]
    }
    return [
        (value.pk, target)
        for value in sorted(recorded, key=lambda v: v.pk)
        for target in targets
        if target != language_base(value.language) and (value.pk, target) not in current
    ]
