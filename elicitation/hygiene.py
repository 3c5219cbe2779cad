"""Input hygiene for what participants send: ids are ASCII digits only ('²' and '٣' pass
`str.isdigit()` but are no ids), and typed text carries no control characters (PostgreSQL
cannot store NUL at all; the other C0 characters are never typed on purpose)."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext, gettext_noop

from elicitation.errors import ApplicationError

# PostgreSQL's bigint columns stop at 19 digits; a longer run of digits is no id of ours.
_MAX_ID_DIGITS = 18

CONTROL_CHARACTER_MESSAGE = gettext_noop(
    "The text contains a control character (such as NUL) that cannot be stored. Remove it "
    "and try again."
)


def parse_id(raw: object) -> int | None:
    """The id in `raw`, or None unless it is one to 18 ASCII digits."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit():
        return None
    if len(raw) > _MAX_ID_DIGITS:
        return None
    return int(raw)


def parse_ids(raws: Iterable[object]) -> list[int]:
    """The ids among `raws`, in order; anything else is left out."""
    return [number for number in map(parse_id, raws) if number is not None]


def control_character(text: str) -> str | None:
    """The first control character in `text` that typed text never has (NUL, the other C0
    characters, DEL), or None. Tab, new line and carriage return are ordinary text."""
    for char in text:
        if (ord(char) < 32 and char not in "\t\n\r") or char == "\x7f":
            return char
    return None


def text_require_clean(*texts: object) -> None:
    """ApplicationError("control_character") when any of `texts` has a control character."""
    for text in texts:
        if isinstance(text, str) and control_character(text) is not None:
            raise ApplicationError("control_character", gettext(CONTROL_CHARACTER_MESSAGE))
        if isinstance(text, list | tuple):
            text_require_clean(*text)
