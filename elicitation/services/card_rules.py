"""What a card the participant edits must be: the card editor's rules, checked here on the
server and mirrored by the page's script (which reads the limits from the page), so Confirm
is offered only for a card the server will keep.

These are looser than the model's card shape (`inference.schemas.card_problems`): a
participant writes lines in their own words ("Whether she has time to think"), so no line
needs to start with a capitalised plural noun phrase. Pure: a card in, problems out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from elicitation.hygiene import control_character
from elicitation.models import CardProposal

TITLE_WORDS = (3, 6)
POLICY_COUNT = (3, 8)
POLICY_MAX_CHARS = 300
DESCRIPTION_MAX_CHARS = 1000


def title_max_chars() -> int:
    """The title column's length: a title the editor accepts always fits it."""
    length = CardProposal._meta.get_field("title").max_length
    assert length is not None
    return int(length)


@dataclass(frozen=True)
class EditedCard:
    """A card as the participant wrote it, whitespace tidied (empty lines left out)."""

    title: str
    description: str
    policies: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "policies": list(self.policies),
        }


def edited_card(card: Mapping[str, Any]) -> EditedCard:
    """The card tidied: the title on one line, empty policies dropped, each one trimmed."""
    raw_policies = card.get("policies") or []
    policies = raw_policies if isinstance(raw_policies, list | tuple) else []
    return EditedCard(
        title=" ".join(str(card.get("title") or "").split()),
        description=str(card.get("description") or "").strip(),
        policies=tuple(" ".join(str(p).split()) for p in policies if str(p).strip()),
    )


def _has_control(texts: Sequence[str]) -> bool:
    return any(control_character(text) is not None for text in texts)


def card_edit_problems(card: Mapping[str, Any]) -> list[str]:
    """Every way the edited card breaks the editor's rules, in words for the participant;
    empty when it can be kept (and confirmed)."""
    tidy = edited_card(card)
    problems: list[str] = []
    raw = [str(card.get("title") or ""), str(card.get("description") or "")]
    raw += [str(p) for p in card.get("policies") or [] if isinstance(p, str)]
    if _has_control(raw):
        problems.append(_("Remove the control character (such as NUL) from the card."))
    words = len(tidy.title.split())
    low, high = TITLE_WORDS
    if not tidy.title:
        problems.append(
            _("Write a title of %(low)d to %(high)d words.") % {"low": low, "high": high}
        )
    elif not low <= words <= high:
        problems.append(
            ngettext(
                "The title needs %(low)d to %(high)d words; it has %(count)d.",
                "The title needs %(low)d to %(high)d words; it has %(count)d.",
                words,
            )
            % {"low": low, "high": high, "count": words}
        )
    if len(tidy.title) > title_max_chars():
        problems.append(
            _("The title may have at most %(limit)d characters.") % {"limit": title_max_chars()}
        )
    if not tidy.description:
        # A card without one is held for staff review at screening: asked for here instead.
        problems.append(_("Say in a sentence or two why this matters to you."))
    elif len(tidy.description) > DESCRIPTION_MAX_CHARS:
        problems.append(
            _("The description may have at most %(limit)d characters.")
            % {"limit": DESCRIPTION_MAX_CHARS}
        )
    low, high = POLICY_COUNT
    count = len(tidy.policies)
    if count < low:
        problems.append(
            ngettext(
                "A card needs at least %(low)d lines; it has %(count)d.",
                "A card needs at least %(low)d lines; it has %(count)d.",
                count,
            )
            % {"low": low, "count": count}
        )
    elif count > high:
        problems.append(
            _("A card may have at most %(high)d lines; it has %(count)d.")
            % {"high": high, "count": count}
        )
    for number, policy in enumerate(tidy.policies, start=1):
        if len(policy) > POLICY_MAX_CHARS:
            problems.append(
                _("Line %(number)d is too long: at most %(limit)d characters.")
                % {"number": number, "limit": POLICY_MAX_CHARS}
            )
    seen: set[str] = set()
    for number, policy in enumerate(tidy.policies, start=1):
        key = policy.casefold()
        if key in seen:
            problems.append(_("Line %(number)d repeats an earlier line.") % {"number": number})
        seen.add(key)
    return problems


def card_rules_for_page() -> dict[str, int]:
    """The limits the page's script checks as the participant types (data attributes)."""
    return {
        "title_min_words": TITLE_WORDS[0],
        "title_max_words": TITLE_WORDS[1],
        "title_max_chars": title_max_chars(),
        "policies_min": POLICY_COUNT[0],
        "policies_max": POLICY_COUNT[1],
        "policy_max_chars": POLICY_MAX_CHARS,
        "description_max_chars": DESCRIPTION_MAX_CHARS,
    }
