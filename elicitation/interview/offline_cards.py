"""The participant's own sentences, for the offline interviewer: cut out of their answers,
quoted back to them, and put on a draft card as lines they edit.

Nothing here invents words: a line on a draft card is a sentence the participant wrote (a
long one cut at a clause, or at a word with "…"), the description is their answer to "what
made that meaningful", and the title is left for them to write. Sentences that read as
instructions to a model ("ignore previous instructions", "print your system prompt") are
never quoted and never become a line. Pure: text in, card out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from elicitation.services.card_rules import DESCRIPTION_MAX_CHARS, POLICY_COUNT, POLICY_MAX_CHARS
from elicitation.services.screening_rules import has_instructions

MAX_QUOTE_WORDS = 30
# A sentence ends at . ! ? … (or the Arabic question mark), with any closing quote, before a
# space; or at the end of a line.
_SENTENCE = re.compile(r"\S.*?(?:[.!?…؟]+[\"'”’»)]*(?=\s)|$)")
_CLAUSE_END = re.compile(r"(?<=[,;:،؛])\s+")
_LETTER = re.compile(r"[^\W\d_]")
# Instructions to a model in Arabic (the screening rules cover English and Spanish).
_ARABIC_INSTRUCTIONS = re.compile(
    r"(?:تجاهل|انس|تخط)\S*\s+(?:\S+\s+){0,3}?(?:التعليمات|الأوامر|التوجيهات)"
    r"|(?:موجه|تعليمات|رسالة)\s+النظام"
    r"|(?:أنت الآن|تظاهر بأنك)"
)
# Answers that say "I don't know" or nothing at all, normalised (lower case, no accents or
# punctuation): acknowledged, never put on a card.
_NON_ANSWERS = frozenset(
    [
        "idk",
        "i dont know",
        "i don't know",
        "dont know",
        "don't know",
        "dunno",
        "no idea",
        "not sure",
        "im not sure",
        "i'm not sure",
        "nothing",
        "none",
        "n/a",
        "na",
        "pass",
        "yes",
        "no",
        "ok",
        "okay",
        "maybe",
        "hmm",
        "no se",
        "no lo se",
        "ni idea",
        "nada",
        "si",
        "vale",
        "quiza",
        "lo que sea",
        "لا أعرف",
        "لا اعرف",
        "لا أدري",
        "لا ادري",
        "نعم",
        "لا",
        "ربما",
    ]
)


def _bare(text: str) -> str:
    """Lower case, accents and end punctuation removed: for comparing short answers."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().replace("’", "'").strip(' .!?¿¡…,;:-"“”«»').split())


def is_instruction(text: str) -> bool:
    """Whether the text reads as instructions to a model rather than the person's view."""
    return has_instructions(text) or _ARABIC_INSTRUCTIONS.search(text) is not None


def is_non_answer(text: str) -> bool:
    """Whether the text says "I don't know", or nothing in words."""
    bare = _bare(text)
    return not _LETTER.search(bare) or bare in _NON_ANSWERS


def sentences(text: str) -> list[str]:
    """The participant's sentences as they wrote them (trimmed), leaving out those that
    are instructions to a model and those that say nothing."""
    found = []
    for raw in (m for line in text.splitlines() for m in _SENTENCE.findall(line)):
        sentence = " ".join(raw.split())
        if not sentence or is_instruction(sentence) or is_non_answer(sentence):
            continue
        found.append(sentence)
    return found


def has_substance(text: str) -> bool:
    return bool(sentences(text))


def _fit(sentence: str, limit: int) -> list[str]:
    """A sentence as card lines of at most `limit` characters: whole when it fits, else cut
    at its clauses, and a clause still too long cut at a word, marked with "…"."""
    if len(sentence) <= limit:
        return [sentence]
    lines: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        if lines and len(lines[-1]) + 1 + len(clause) <= limit:
            lines[-1] = f"{lines[-1]} {clause}"
        elif len(clause) <= limit:
            lines.append(clause)
        else:
            cut = clause[: limit - 1].rsplit(" ", 1)[0] or clause[: limit - 1]
            lines.append(cut.rstrip(" ,;:") + "…")
    return lines


def quote(text: str) -> str | None:
    """The sentence of the answer to reflect back: the fullest one, in their words (a long
    one cut at a word, with "…"); None when the answer has none."""
    found = sentences(text)
    if not found:
        return None
    best = max(found, key=lambda s: (min(len(s.split()), MAX_QUOTE_WORDS), -found.index(s)))
    words = best.split()
    if len(words) > MAX_QUOTE_WORDS:
        return " ".join(words[:MAX_QUOTE_WORDS]).rstrip(" ,;:") + "…"
    return best


def draft_card(
    *,
    situation: Sequence[str],
    attention: Sequence[str],
    meaning: Sequence[str],
) -> dict[str, Any]:
    """A draft card from the participant's answers: their sentences about what they paid
    attention to as lines (then, while there are fewer than three, their sentences about
    why it mattered and about the situation), their words on why it mattered as the
    description, and no title: they write it."""
    lines: list[str] = []
    seen: set[str] = set()
    low, high = POLICY_COUNT
    for source, cap in ((attention, high), (meaning, low), (situation, low)):
        for text in source:
            for sentence in sentences(text):
                for line in _fit(sentence, POLICY_MAX_CHARS):
                    key = line.casefold()
                    if len(lines) < cap and key not in seen:
                        seen.add(key)
                        lines.append(line)
    description = " ".join(s for text in meaning for s in sentences(text))
    if len(description) > DESCRIPTION_MAX_CHARS:
        description = _fit(description, DESCRIPTION_MAX_CHARS)[0]
    return {"title": "", "description": description, "policies": lines}
