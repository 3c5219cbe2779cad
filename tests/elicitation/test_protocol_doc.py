"""The interview socket's protocol, three ways: the frame models, README's section generated
from them, and the page's JavaScript that speaks it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from elicitation.interview.protocol_doc import (
    README,
    frame_fields,
    frame_type,
    readme_section,
    section,
)
from elicitation.schemas import (
    CLIENT_FRAME_TYPES,
    CLIENT_FRAMES,
    SERVER_FRAMES,
    CardProposedFrame,
    MessageFrame,
    ServerFrame,
    StatusFrame,
    TokenFrame,
    frame_text,
    server_frame_adapter,
)

CHAT_JS = Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend" / "chat.js"


def _documented_rows(text: str) -> dict[str, list[str]]:
    """README's table as {frame type: [field names]}."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 4 and "→" in cells[0]:
            rows[cells[1].strip("`")] = re.findall(r"`(\w+)` \(", cells[2])
    return rows


def test_readme_section_is_generated_from_the_models() -> None:
    current = readme_section(README.read_text())
    assert current is not None, "README.md lost its interview-protocol markers"
    assert current == section(), (
        "README's interview socket section is out of date: run "
        "`.venv/bin/python -m elicitation.interview.protocol_doc --write`"
    )


def test_every_frame_is_documented_with_its_fields() -> None:
    documented = _documented_rows(readme_section(README.read_text()) or "")
    models = {frame_type(model): model for model in (*CLIENT_FRAMES, *SERVER_FRAMES)}
    assert set(documented) == set(models)
    for kind, model in models.items():
        assert documented[kind] == list(frame_fields(model)), kind
    assert {frame_type(model) for model in CLIENT_FRAMES} == CLIENT_FRAME_TYPES


def test_the_page_speaks_every_frame() -> None:
    script = CHAT_JS.read_text()
    for model in SERVER_FRAMES:
        assert f'case "{frame_type(model)}"' in script, frame_type(model)
    for model in CLIENT_FRAMES:
        assert f'type: "{frame_type(model)}"' in script, frame_type(model)


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (
            TokenFrame(message_seq=2, offset=5, text="héllo"),
            '{"type": "token", "message_seq": 2, "offset": 5, "text": "h\\u00e9llo"}',
        ),
        (
            MessageFrame(seq=1, role="user", text="hi", stopped=False),
            '{"type": "message", "seq": 1, "role": "user", "text": "hi", "stopped": false}',
        ),
        (StatusFrame(state="idle"), '{"type": "status", "state": "idle"}'),
        (
            CardProposedFrame.model_validate(
                {"proposal_id": 3, "card": {"title": "t", "description": "d", "policies": ["p"]}}
            ),
            '{"type": "card_proposed", "proposal_id": 3, '
            '"card": {"title": "t", "description": "d", "policies": ["p"]}, '
            '"author": "interviewer", "is_draft": false, "problems": []}',
        ),
    ],
)
def test_frames_keep_their_wire_form(frame: ServerFrame, wire: str) -> None:
    assert frame_text(frame) == wire
    assert server_frame_adapter.validate_json(wire) == frame
