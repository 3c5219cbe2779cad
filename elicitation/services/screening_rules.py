"""The offline screening rules for a confirmed card: pure functions, text in, reasons out.

A card is screened before other participants see it. These rules always run (the model judge
is optional): instruction-like text aimed at a model (in English and Spanish), links and
e-mail addresses, and policies that cannot be about what someone attends to (empty, repeated,
too few, no words, the title again). The participant's own messages in the interview are
screened too, since injected text usually reaches the card through them.

A reason is a fixed label naming the rule, never the card's words: reasons are stored in the
moderation log, which must hold nothing a participant wrote.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

MIN_CARD_POLICIES = 3

INSTRUCTIONS_IN_CARD = "instruction-like text in the card"
INSTRUCTIONS_IN_MESSAGES = "instruction-like text in the participant's messages"
LINK_IN_CARD = "a link or e-mail address in the card"
LINK_IN_MESSAGES = "a link or e-mail address in the participant's messages"
EMPTY_TEXT = "an empty title or description"
EMPTY_POLICY = "an empty policy"
REPEATED_POLICIES = "repeated policies"
TOO_FEW_POLICIES = "too few policies"
POLICY_WITHOUT_WORDS = "a policy with no words"
POLICY_IS_TITLE = "a policy that only repeats the title"

# Text addressed to a model rather than describing what a person attends to. Matched against
# lower-cased text with accents and zero-width characters removed (see `_normalise`).
_INSTRUCTION_PATTERNS_EN = (
    r"\b(?:ignore|disregard|forget|override|bypass)\b(?:\s+\w+){0,3}?\s+"
    r"(?:previous|prior|above|earlier|preceding|former|your|system|original)\s+"
    r"(?:instructions?|prompts?|rules|messages|directions|guidelines|context)\b",
    r"\bignore (?:all|everything|the above)\b",
    r"\byou are now\b",
    r"\bfrom now on,? (?:you|act|respond|answer|behave)\b",
    r"\b(?:act|behave|respond) as (?:an? |the |if you were )?(?:ai|assistant|chat ?bot|bot|"
    r"system|admin(?:istrator)?|developer|operator|dan|gpt|chatgpt|llm|(?:large )?language model|"
    r"unfiltered|uncensored|jailbroken|root)\b",
    r"\bpretend (?:to be|you are|that you are)\b",
    r"\bsystem (?:prompt|message|instructions?)\b",
    r"\b(?:submit|create|write|propose|make) (?:a|the|this|my|an?other|new)? ?(?:values? )?card "
    r"(?:titled|called|named|that says|saying|with the title)\b",
    r"\bsubmit (?:a|the|this) (?:values? )?card\b",
    r"\bjail ?break",
    r"\bdeveloper mode\b",
    r"\bdan mode\b",
    r"\bdo anything now\b",
    r"\b(?:reveal|print|show|repeat|output|display|leak|tell me|give me|write out) "
    r"(?:me )?(?:your|the|all|any)? ?(?:hidden |initial |original |full |secret )?"
    r"(?:system )?(?:prompt|instructions)\b",
    r"\bnew instructions?\s*:",
    r"\b(?:obey|follow) (?:the operator|my (?:commands|orders|instructions)|these instructions)\b",
    r"</?\s*(?:system|assistant|im_start|im_end)\s*>",
    r"<\|\s*(?:im_start|im_end|system|endoftext)\s*\|>",
    r"\[/?inst\]",
    r"\bprompt injection\b",
)
_INSTRUCTION_PATTERNS_ES = (
    r"\b(?:ignora|ignore|ignorar|olvida|olvide|olvidar|omite|descarta)\b(?:\s+\w+){0,3}?\s+"
    r"(?:instrucciones|indicaciones|reglas|ordenes|mensajes)\b(?:\s+\w+){0,2}?\s*"
    r"(?:anteriores|previas|de arriba|del sistema|originales)\b",
    r"\b(?:ignora|olvida|omite) (?:todas )?(?:las|tus) instrucciones\b",
    r"\b(?:ahora eres|a partir de ahora eres|desde ahora eres)\b",
    r"\b(?:actua|actue|comportate) como (?:si fueras )?(?:un |una |el |la )?(?:ia|asistente|"
    r"chatbot|bot|sistema|administrador|desarrollador|operador|dan|gpt|chatgpt|modelo)\b",
    r"\bfinge (?:ser|que eres)\b",
    r"\b(?:prompt|mensaje|instrucciones) del sistema\b",
    r"\b(?:envia|enviar|envie|crea|crear|escribe) (?:una|la|esta|otra) tarjeta\b",
    r"\bmodo (?:desarrollador|dan|sin restricciones)\b",
    r"\b(?:revela|muestra|imprime|repite|dime|escribe) (?:tu|tus|el|las|los) "
    r"(?:prompt|instrucciones)\b",
    r"\bnuevas instrucciones\s*:",
    r"\b(?:obedece|sigue) (?:al operador|mis (?:ordenes|instrucciones))\b",
)
_INSTRUCTIONS = re.compile("|".join(_INSTRUCTION_PATTERNS_EN + _INSTRUCTION_PATTERNS_ES))

# Bare domains only with top-level names that are not also words run together after a full
# stop ("trust.Us", "friend.Me"): those need a scheme or "www." to count.
_TLDS = "com|org|net|edu|gov|io|ly|xyz|info|biz|ru|cn|app|dev|site|online|top|link|click|tk|gg"
_LINK = re.compile(
    r"\b(?:https?|ftp)://|\bwww\.[a-z0-9-]+\.|"
    rf"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})(?:/\S*)?(?![\w-])|"
    r"[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"
)
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class CardToScreen:
    """What screening looks at: the card's text and the participant's own messages."""

    title: str
    description: str
    policies: tuple[str, ...]
    messages: tuple[str, ...] = ()


def _normalise(text: str) -> str:
    """Lower-cased, accents and zero-width characters removed, whitespace collapsed: so
    "Ignóre   ALL previous" and "ignore all previous" read alike."""
    text = unicodedata.normalize("NFKD", text.translate(_ZERO_WIDTH))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


def has_instructions(text: str) -> bool:
    """Whether the text reads as instructions to a model (English or Spanish)."""
    return _INSTRUCTIONS.search(_normalise(text)) is not None


def has_link(text: str) -> bool:
    """Whether the text holds a URL, a bare domain or an e-mail address."""
    return _LINK.search(_normalise(text)) is not None


def _policy_reasons(title: str, policies: Sequence[str]) -> list[str]:
    reasons: list[str] = []
    cleaned = [_normalise(str(p)) for p in policies]
    if any(not p for p in cleaned):
        reasons.append(EMPTY_POLICY)
    present = [p for p in cleaned if p]
    if len(set(present)) < len(present):
        reasons.append(REPEATED_POLICIES)
    if len(set(present)) < MIN_CARD_POLICIES:
        reasons.append(TOO_FEW_POLICIES)
    if any(not _LETTER.search(p) for p in present):
        reasons.append(POLICY_WITHOUT_WORDS)
    title_words = _words(title)
    if title_words and any(_words(p) == title_words for p in present):
        reasons.append(POLICY_IS_TITLE)
    return reasons


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", _normalise(text)))


def _any(test: Callable[[str], bool], texts: Iterable[str]) -> bool:
    return any(test(t) for t in texts)


def card_screen(card: CardToScreen) -> list[str]:
    """The rules the card breaks, as fixed labels in a stable order; empty when it passes."""
    card_texts = [card.title, card.description, *(str(p) for p in card.policies)]
    reasons: list[str] = []
    if _any(has_instructions, card_texts):
        reasons.append(INSTRUCTIONS_IN_CARD)
    if _any(has_instructions, card.messages):
        reasons.append(INSTRUCTIONS_IN_MESSAGES)
    if _any(has_link, card_texts):
        reasons.append(LINK_IN_CARD)
    if _any(has_link, card.messages):
        reasons.append(LINK_IN_MESSAGES)
    if not _normalise(card.title) or not _normalise(card.description):
        reasons.append(EMPTY_TEXT)
    reasons.extend(_policy_reasons(card.title, card.policies))
    return reasons
