"""Pydantic schemas: the interview socket's frames, both ways, and the study's questions and
survey. README's "The interview socket" section is generated from the frame models
(`python -m elicitation.interview.protocol_doc --write`)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

MAX_MESSAGE_CHARS = 4000
# A frame holds at most one message plus JSON overhead; anything larger is refused unread.
MAX_FRAME_BYTES = 4 * MAX_MESSAGE_CHARS + 1024


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- client → server ---------------------------------------------------------------------------


class UserMessageFrame(_Frame):
    """The participant's message; resent with the same `client_id`, it is stored once."""

    type: Literal["user_message"]
    client_id: uuid.UUID
    text: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS)]


class StopFrame(_Frame):
    """Stop the answer in progress; what it wrote so far is kept."""

    type: Literal["stop"]


class ConfirmCardFrame(_Frame):
    """Submit a proposed card: the only way a card is submitted."""

    type: Literal["confirm_card"]
    proposal_id: Annotated[int, Field(ge=1)]


class ResumeFrame(_Frame):
    """After (re)connecting: replay what was stored after `after_seq`, then follow the answer
    in progress."""

    type: Literal["resume"]
    after_seq: Annotated[int, Field(ge=0)]


ClientFrame = UserMessageFrame | StopFrame | ConfirmCardFrame | ResumeFrame
CLIENT_FRAMES: tuple[type[_Frame], ...] = (
    UserMessageFrame,
    StopFrame,
    ConfirmCardFrame,
    ResumeFrame,
)
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(
    Annotated[ClientFrame, Field(discriminator="type")]
)
CLIENT_FRAME_TYPES = frozenset({"user_message", "stop", "confirm_card", "resume"})


# --- server → client ---------------------------------------------------------------------------


class TokenFrame(_Frame):
    """Streamed text of answer `message_seq`, placed at `offset` in the answer (a socket that
    joins mid-answer first gets everything so far at offset 0)."""

    type: Literal["token"] = "token"
    message_seq: int
    offset: int
    text: str


class MessageFrame(_Frame):
    """A stored message; `stopped` when the answer was cut short."""

    type: Literal["message"] = "message"
    seq: int
    role: Literal["user", "assistant"]
    text: str
    stopped: bool


class CardContent(BaseModel):
    """What a card says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    description: str
    policies: list[str]


class CardProposedFrame(_Frame):
    """A values card the interviewer proposes; later ones supersede it."""

    type: Literal["card_proposed"] = "card_proposed"
    proposal_id: int
    card: CardContent


class StatusFrame(_Frame):
    """The interviewer is answering, is asked again for a card, or is waiting."""

    type: Literal["status"] = "status"
    state: Literal["thinking", "retrying", "idle"]


class ErrorFrame(_Frame):
    """A refused frame or a failed answer; the socket stays open."""

    type: Literal["error"] = "error"
    code: str
    message: str


class CardSubmittedFrame(_Frame):
    """The card is submitted; the page goes on to `next`."""

    type: Literal["card_submitted"] = "card_submitted"
    card_id: int
    next: str


ServerFrame = (
    TokenFrame | MessageFrame | CardProposedFrame | StatusFrame | ErrorFrame | CardSubmittedFrame
)
SERVER_FRAMES: tuple[type[_Frame], ...] = (
    TokenFrame,
    MessageFrame,
    CardProposedFrame,
    StatusFrame,
    ErrorFrame,
    CardSubmittedFrame,
)
server_frame_adapter: TypeAdapter[ServerFrame] = TypeAdapter(
    Annotated[ServerFrame, Field(discriminator="type")]
)


def frame_data(frame: ServerFrame) -> dict[str, Any]:
    """The frame as plain data: for the channel layer, and for the wire."""
    return frame.model_dump(mode="json")


def frame_text(frame: ServerFrame) -> str:
    """The frame as sent on the socket."""
    return json.dumps(frame_data(frame))


class DemographicQuestion(BaseModel):
    """One demographic question a study asks (`Study.demographic_questions`, a JSON list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["choice", "text"] = "choice"
    choices: tuple[str, ...] = ()
    is_required: bool = False


demographic_questions_adapter: TypeAdapter[list[DemographicQuestion]] = TypeAdapter(
    list[DemographicQuestion]
)
MAX_DEMOGRAPHIC_ANSWER_CHARS = 200


class SurveyItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    statement: str


# Agreement from 1 (strongly disagree) to 5 (strongly agree), as in the reference study.
SURVEY_ITEMS: tuple[SurveyItem, ...] = (
    SurveyItem(
        key="felt_represented",
        statement="The values card I submitted represents what I care about.",
    ),
    SurveyItem(
        key="clarified_values",
        statement="The conversation helped me clarify what matters to me here.",
    ),
    SurveyItem(
        key="learned_about_others",
        statement="I learned something about what other people value.",
    ),
    SurveyItem(
        key="gained_respect",
        statement="I have more respect for people who see this question differently.",
    ),
    SurveyItem(
        key="trust_process",
        statement="I trust this process to combine people's values fairly.",
    ),
)
SURVEY_SCALE = (
    (1, "Strongly disagree"),
    (2, "Disagree"),
    (3, "Neutral"),
    (4, "Agree"),
    (5, "Strongly agree"),
)
SURVEY_COMMENT_KEY = "comment"
MAX_SURVEY_COMMENT_CHARS = 2000
