"""The offline interviewer: no model, no network, the default without an API key.

A guided interview that follows the method's steps in order, one question at a time: a
situation the person faced or imagines, what they paid attention to, what made that
meaningful, and where it stops applying. Each answer is reflected back as a quote of the
person's own words. After the last step it drafts a card from their own sentences (the
lines they edit in the card editor) and asks them to write the title; it never makes one up.
Afterwards it points to the editor and the Confirm button, and changes nothing itself: it
says only what it did. An answer that is only instructions to a model is set aside and the
question asked again; "I don't know" gets one gentler question, then the interview goes on.

It speaks the participant's language (English, Spanish or Arabic: `offline_texts`). It is
pure: transcript in, answer out; where it stands is worked out from the participant's
messages each time, so a reload or another server process gives the same next step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from elicitation.interview.offline_cards import (
    draft_card,
    is_instruction,
    is_non_answer,
    quote,
    sentences,
)
from elicitation.interview.offline_texts import detect_language, say
from elicitation.services.card_rules import card_edit_problems

SITUATION, ATTENTION, MEANING, LIMITS, DRAFT = range(5)
_QUESTION = {
    SITUATION: "opening",
    ATTENTION: "ask_attention",
    MEANING: "ask_meaning",
    LIMITS: "ask_limits",
}

_CONFIRMATION = re.compile(
    r"^\s*(?:yes|yep|yeah|yup|sure|ok|okay|perfect|great|correct|exactly|good|fine|"
    r"looks good|looks right|that's (?:it|right|good|great)|that is (?:it|right)|it fits|"
    r"(?:i )?(?:agree|love it|like it)|sí|si|vale|perfecto|correcto|نعم|ممتاز)\b",
    re.IGNORECASE,
)
_CHANGE_WORDS = re.compile(
    r"\b(?:but|change|instead|missing|add|remove|drop|delete|not|isn't|wrong|rather|more|"
    r"less|rename|call it|shorter|simpler|pero|cambia|quita|añade)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OfflineTurn:
    """What the offline interviewer says next, and the draft card it offers, if any (always
    a draft: the participant finishes it in the card editor)."""

    text: str
    card: dict[str, Any] | None = None


@dataclass
class _Progress:
    """Where the interview stands: the step the next answer answers, what was said at each."""

    step: int = SITUATION
    answers: dict[int, list[str]] = field(default_factory=dict)
    nudged: set[int] = field(default_factory=set)


def _ask(language: str, step: int) -> str:
    return say(language, _QUESTION[step])


def _take(progress: _Progress, text: str, language: str) -> list[str]:
    """Move the interview on by one participant message; what the interviewer says."""
    step = progress.step
    if not sentences(text):
        if is_instruction(text):
            # Nothing of their own in it: set aside, and the same question again.
            return [say(language, "instructions"), _ask(language, step)]
        if step not in progress.nudged:
            progress.nudged.add(step)
            if step == SITUATION:
                return [say(language, "nudge_situation")]
            return [say(language, "unsure"), say(language, "nudge"), _ask(language, step)]
        said = [say(language, "unsure")]
    else:
        progress.answers.setdefault(step, []).append(text)
        said = [say(language, "reflect", quote=quote(text))]
        if any(is_instruction(part) for part in _parts(text)):
            said.append(say(language, "instructions"))
    progress.step += 1
    if progress.step in _QUESTION:
        said.append(_ask(language, progress.step))
    return said


def _parts(text: str) -> list[str]:
    return [line for line in re.split(r"(?<=[.!?…؟])\s+|\n+", text) if line.strip()]


def _drafted(progress: _Progress, language: str) -> OfflineTurn:
    card = draft_card(
        situation=progress.answers.get(SITUATION, []),
        attention=progress.answers.get(ATTENTION, []),
        meaning=progress.answers.get(MEANING, []),
    )
    count = len(card["policies"])
    key = {0: "drafted_none", 1: "drafted_one", 2: "drafted_few"}.get(count, "drafted")
    return OfflineTurn(say(language, key, count=count), card)


def offline_turn(
    *,
    user_texts: Sequence[str],
    current_card: dict[str, Any] | None = None,
    must_propose: bool = False,
    language: str | None = None,
) -> OfflineTurn:
    """The next answer, given every participant message so far (oldest first) and the
    interview's card in play (None before the draft). `must_propose` (the last message the
    study allows) drafts the card now. `language` is the page's language, used when the
    participant's own text does not say which language they write in."""
    lang = detect_language(user_texts, fallback=language)
    if not user_texts:
        return OfflineTurn(say(lang, "opening"))
    if current_card is not None:
        return _after_draft(user_texts[-1], current_card, lang)
    progress = _Progress()
    said: list[str] = []
    for text in user_texts:
        if progress.step >= DRAFT:
            break  # the draft is due (it was not stored): it is offered again
        said = _take(progress, text, lang)
    if progress.step >= DRAFT or must_propose:
        lead = [say(lang, "last_turn")] if must_propose and progress.step < DRAFT else []
        if lead:  # no question is asked when there is no turn left to answer it
            asks = {_ask(lang, step) for step in _QUESTION}
            asks |= {say(lang, "nudge_situation"), say(lang, "nudge")}
            said = [part for part in said if part not in asks]
        drafted = _drafted(progress, lang)
        return OfflineTurn(" ".join([*said, *lead, drafted.text]), drafted.card)
    return OfflineTurn(" ".join(said))


def _after_draft(text: str, card: dict[str, Any], language: str) -> OfflineTurn:
    """After the draft: the card is changed in the editor, by the participant only."""
    if card_edit_problems(card):
        return OfflineTurn(say(language, "draft_waiting"))
    if is_confirmation(text) or is_non_answer(text):
        return OfflineTurn(say(language, "confirm_hint"))
    return OfflineTurn(say(language, "not_changed"))


def is_confirmation(text: str) -> bool:
    words = text.split()
    return bool(_CONFIRMATION.match(text)) and len(words) <= 8 and not _CHANGE_WORDS.search(text)
