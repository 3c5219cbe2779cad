"""README's section on the interview socket, generated from the frame models in
`elicitation.schemas`, so the documented protocol is the one the code speaks.

`python -m elicitation.interview.protocol_doc` prints the section; with `--write` it replaces
the section in README.md (between its two marker comments). A test checks it is up to date.
"""

from __future__ import annotations

import argparse
import types
import uuid
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from elicitation.schemas import CLIENT_FRAMES, MAX_FRAME_BYTES, MAX_MESSAGE_CHARS, SERVER_FRAMES

BEGIN = "<!-- interview-protocol: python -m elicitation.interview.protocol_doc --write -->"
END = "<!-- /interview-protocol -->"
README = Path(__file__).resolve().parents[2] / "README.md"
_NAMES = {str: "string", int: "integer", bool: "boolean", uuid.UUID: "UUID"}

INTRO = f"""### The interview socket

`/ws/interviews/<id>/` carries JSON text frames, each with a `type`; a socket for another
browser's interview is closed with code 4403. A message holds at most {MAX_MESSAGE_CHARS} characters.
A frame over {MAX_FRAME_BYTES} bytes, of an unknown type or with an invalid field is answered
with an `error` frame, and the socket stays open. The page offers "Try again" after the error
codes `llm_unavailable` and `empty_answer`, and leaving without a card after `turn_limit`,
`token_limit` and `token_budget` (the participant's or the study's model tokens are spent). A
message past the rate limits gets `rate_limited` and is not stored. The table is generated from
the frame models in `elicitation/schemas.py`."""


def frame_type(model: type[BaseModel]) -> str:
    """The `type` a frame model carries on the wire."""
    return str(get_args(model.model_fields["type"].annotation)[0])


def type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " or ".join(f'"{value}"' for value in get_args(annotation))
    if origin is list:
        return f"list of {type_name(get_args(annotation)[0])}"
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(arg) for arg in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "{" + ", ".join(annotation.model_fields) + "}"
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def frame_fields(model: type[BaseModel]) -> dict[str, str]:
    """The frame's fields other than `type`, each with its type in words."""
    return {
        name: type_name(info.annotation)
        for name, info in model.model_fields.items()
        if name != "type"
    }


def _row(direction: str, model: type[BaseModel]) -> str:
    fields = ", ".join(f"`{name}` ({kind})" for name, kind in frame_fields(model).items())
    meaning = " ".join((model.__doc__ or "").split())
    return f"| {direction} | `{frame_type(model)}` | {fields or '—'} | {meaning} |"


def section() -> str:
    rows = [_row("client → server", model) for model in CLIENT_FRAMES]
    rows += [_row("server → client", model) for model in SERVER_FRAMES]
    table = ["| direction | type | fields | meaning |", "|---|---|---|---|", *rows]
    return "\n".join([BEGIN, INTRO, "", *table, END])


def readme_section(text: str) -> str | None:
    """The generated section as it stands in README's text, or None without the markers."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the section in README.md")
    args = parser.parse_args()
    if not args.write:
        print(section())
        return
    text = README.read_text()
    current = readme_section(text)
    if current is None:
        raise SystemExit(f"README.md has no {BEGIN} … {END} markers")
    README.write_text(text.replace(current, section()))


if __name__ == "__main__":
    main()
