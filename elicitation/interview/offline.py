"""The offline interviewer: no model, no network, the default without an API key.

It follows the same stages as the LLM interviewer with prepared questions (a story, what they
attended to, what else a wise person would notice), then assembles a values card from the
participant's own words and revises it when they ask for changes. Its cards pass the same
validator as a model's (`inference.schemas.validate_card`), and different transcripts give
different cards (`elicitation.interview.offline_cards` builds and revises them). It is pure:
transcript in, answer out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elicitation.interview.offline_cards import card_from_answers, card_revise

DEFAULT_OPENING = (
    "Think of a time when you, or someone close to you, faced a situation like this one. "
    "What happened, and what did you do?"
)
ASK_ATTENTION = (
    "Thank you for telling me that. Think back to that moment: what did you pay attention "
    "to when you were deciding what to do? What did you notice or look out for?"
)
ASK_MORE = (
    "That helps. When someone handles a situation like this well, what else do they notice? "
    "Name one or two more things a wise person would keep an eye on here."
)
PROPOSE = (
    "Here is my guess at what matters to you, put together from your own words. It is on "
    "the card below. Does it fit? Tell me what is missing or wrong and I will change it, or "
    "press “Confirm this card” if it is right."
)
REVISED = (
    "I have changed the card: {change}. Does this version fit better? Tell me what else to "
    "change, or press “Confirm this card”."
)
CONFIRM_HINT = (
    "I am glad it fits. Press “Confirm this card” under the card to submit it; only you can "
    "do that."
)
CANNOT_REMOVE = (
    "A card needs at least three lines, so I kept them all. Tell me what to say instead, or "
    "press “Confirm this card” if it is right."
)

_CONFIRMATION = re.compile(
    r"^\s*(?:yes|yep|yeah|yup|sure|ok|okay|perfect|great|correct|exactly|good|fine|"
    r"looks good|looks right|that's (?:it|right|good|great)|that is (?:it|right)|it fits|"
    r"(?:i )?(?:agree|love it|like it))\b",
    re.IGNORECASE,
)
_CHANGE_WORDS = re.compile(
    r"\b(?:but|change|instead|missing|add|remove|drop|delete|not|isn't|wrong|rather|more|"
    r"less|rename|call it|shorter|simpler)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OfflineTurn:
    """What the offline interviewer says next, and the card it proposes, if any."""

    text: str
    card: dict[str, Any] | None = None


def offline_turn(
    *,
    user_texts: Sequence[str],
    current_card: dict[str, Any] | None = None,
    must_propose: bool = False,
) -> OfflineTurn:
    """The next answer, given every participant message so far (oldest first) and the card
    most recently proposed in this interview; `must_propose` (the last turn the study
    allows) proposes a card now."""
    if not user_texts:
        return OfflineTurn(DEFAULT_OPENING)
    if current_card is None:
        if must_propose:
            return OfflineTurn(PROPOSE, card_from_answers(user_texts))
        if len(user_texts) == 1:
            return OfflineTurn(ASK_ATTENTION)
        if len(user_texts) == 2:
            return OfflineTurn(ASK_MORE)
        return OfflineTurn(PROPOSE, card_from_answers(user_texts))
    request = user_texts[-1]
    if is_confirmation(request):
        return OfflineTurn(CONFIRM_HINT)
    revised, change = card_revise(current_card, request)
    if revised is None:
        return OfflineTurn(CANNOT_REMOVE)
    return OfflineTurn(REVISED.format(change=change), revised)


def is_confirmation(text: str) -> bool:
    words = text.split()
    return bool(_CONFIRMATION.match(text)) and len(words) <= 8 and not _CHANGE_WORDS.search(text)
