"""JSON schemas for model I/O, the ``propose_card`` tool, and the proposed-card validator.

The JSON schema says what the model must send; ``validate_card`` adds the shape rules a
schema cannot express well: a title of 3–6 words, a description of 1–3 sentences, 3–7
policies each starting with a capitalised plural noun phrase ("MOMENTS where…"). The rules
apply to what *our* interviewer proposes; stored and imported values accept other
shapes and are not checked here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

CARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {
            "type": "string",
            "description": "A short name for the value, 3 to 6 words.",
        },
        "description": {
            "type": "string",
            "description": "1 to 3 sentences saying what this value is about, in plain words.",
        },
        "policies": {
            "type": "array",
            "minItems": 3,
            "maxItems": 7,
            "items": {"type": "string"},
            "description": (
                "3 to 7 things the person attends to when choosing well, each starting with a "
                "capitalised plural noun phrase, e.g. 'MOMENTS where …', 'FEELINGS of …'."
            ),
        },
    },
    "required": ["title", "description", "policies"],
    "additionalProperties": False,
}

PROPOSE_CARD_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "propose_card",
        "description": (
            "Propose a values card to the participant. They will see it and can confirm it "
            "or ask for changes; only the participant can submit it."
        ),
        "parameters": CARD_SCHEMA,
    },
}

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"same_value": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["same_value", "reason"],
    "additionalProperties": False,
}

CONTEXTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"contexts": {"type": "array", "items": {"type": "string"}}},
    "required": ["contexts"],
    "additionalProperties": False,
}

UPGRADE_STORY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "direction": {"type": "string", "enum": ["a_to_b", "b_to_a", "neither"]},
        "story": {"type": "string"},
        "reason": {"type": "string"},
    },
    "required": ["direction", "story", "reason"],
    "additionalProperties": False,
}

TITLE_WORDS = (3, 6)
# The title columns (CardProposal.title, ValuesCard.title) hold this many characters.
TITLE_MAX_CHARS = 200
DESCRIPTION_SENTENCES = (1, 3)
POLICY_COUNT = (3, 7)

# Plural nouns not ending in "s"; and "s" endings that are usually singular.
_IRREGULAR_PLURALS = frozenset(
    [
        "PEOPLE",
        "CHILDREN",
        "MEN",
        "WOMEN",
        "CRITERIA",
        "PHENOMENA",
        "DATA",
        "FEET",
        "TEETH",
        "MICE",
        "GEESE",
    ]
)
_SINGULAR_S_ENDINGS = ("SS", "US", "IS", "NESS")
_CAPS_WORD = re.compile(r"^[A-Z][A-Z'’-]*[A-Z]$")
_ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|Mr|Mrs|Ms|Dr|St)\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)]*(?:\s+|$)")


class CardShapeError(ValueError):
    """A proposed card that breaks the shape rules; ``problems`` lists each violation."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The proposed card is not well-formed: " + "; ".join(problems) + ".")
        self.problems = problems


class ProposedCard(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    description: str
    policies: tuple[str, ...]


def count_sentences(text: str) -> int:
    body = _ABBREVIATIONS.sub("abbr", text.strip())
    return len([part for part in _SENTENCE_END.split(body) if part.strip()])


def _leading_plural_phrase_problem(policy: str) -> str | None:
    words = policy.split()
    caps: list[str] = []
    for word in words:
        bare = word.strip(",;:")
        if not _CAPS_WORD.match(bare):
            break
        caps.append(bare)
    if not caps:
        return "does not start with a capitalised noun phrase (e.g. 'MOMENTS where …')"
    if len(caps) == len(words):
        return "is only a capitalised phrase; say what about it (e.g. 'MOMENTS where …')"
    head = caps[-1].rstrip("'’")
    is_plural = head in _IRREGULAR_PLURALS or (
        head.endswith("S") and not head.endswith(_SINGULAR_S_ENDINGS)
    )
    if not is_plural:
        return f"starts with {' '.join(caps)!r}, which is not a plural noun phrase"
    return None


def card_problems(card: Mapping[str, Any]) -> list[str]:
    """Every way ``card`` breaks the proposed-card shape; empty when it is well-formed."""
    problems: list[str] = []
    unknown = sorted(set(card) - {"title", "description", "policies"})
    if unknown:
        problems.append(f"unexpected field(s) {', '.join(unknown)}")
    listed = card.get("policies")
    fields = [card.get("title"), card.get("description")]
    fields += listed if isinstance(listed, list | tuple) else []
    if any(isinstance(text, str) and "\x00" in text for text in fields):
        problems.append("a field contains a NUL character")

    title = card.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append("the title is missing")
    else:
        words = len(title.split())
        low, high = TITLE_WORDS
        if not low <= words <= high:
            problems.append(f"the title has {words} word(s); it needs {low} to {high}")
        length = len(" ".join(title.split()))
        if length > TITLE_MAX_CHARS:
            problems.append(
                f"the title has {length} characters; it may have at most {TITLE_MAX_CHARS} "
                "characters (use shorter words)"
            )

    description = card.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append("the description is missing")
    else:
        sentences = count_sentences(description)
        low, high = DESCRIPTION_SENTENCES
        if not low <= sentences <= high:
            problems.append(f"the description has {sentences} sentences; it needs {low} to {high}")

    policies = card.get("policies")
    if not isinstance(policies, list | tuple) or not all(isinstance(p, str) for p in policies):
        problems.append("the policies must be a list of texts")
        return problems
    low, high = POLICY_COUNT
    if not low <= len(policies) <= high:
        problems.append(f"there are {len(policies)} policies; a card needs {low} to {high}")
    for number, policy in enumerate(policies, start=1):
        problem = _leading_plural_phrase_problem(policy.strip())
        if problem:
            problems.append(f"policy {number} ({policy.strip()[:40]!r}) {problem}")
    seen: set[str] = set()
    for policy in policies:
        key = " ".join(policy.split()).lower()
        if key in seen:
            problems.append(f"policy {policy.strip()[:40]!r} appears twice")
        seen.add(key)
    return problems


def validate_card(card: Mapping[str, Any]) -> ProposedCard:
    """The card, normalised (whitespace trimmed), or ``CardShapeError`` with every problem."""
    problems = card_problems(card)
    if problems:
        raise CardShapeError(problems)
    return ProposedCard(
        title=" ".join(str(card["title"]).split()),
        description=str(card["description"]).strip(),
        policies=tuple(str(p).strip() for p in card["policies"]),
    )


def render_card(card: Mapping[str, Any]) -> str:
    """A card as plain text for prompts (the judge, the story generator)."""
    lines = [f"Title: {card.get('title', '')}", f"Description: {card.get('description', '')}"]
    policies = card.get("policies") or []
    if policies:
        lines.append("What this person attends to:")
        lines += [f"- {policy}" for policy in policies]
    return "\n".join(lines)
