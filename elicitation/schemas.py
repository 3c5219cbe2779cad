"""WebSocket frames of the interview protocol (DESIGN §4.1), validated with pydantic."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

MAX_MESSAGE_CHARS = 4000
# A frame holds at most one message plus JSON overhead; anything larger is refused unread.
MAX_FRAME_BYTES = 4 * MAX_MESSAGE_CHARS + 1024


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserMessageFrame(_Frame):
    type: Literal["user_message"]
    client_id: uuid.UUID
    text: Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS)]


class StopFrame(_Frame):
    type: Literal["stop"]


class ConfirmCardFrame(_Frame):
    type: Literal["confirm_card"]
    proposal_id: Annotated[int, Field(ge=1)]


class ResumeFrame(_Frame):
    type: Literal["resume"]
    after_seq: Annotated[int, Field(ge=0)]


ClientFrame = Annotated[
    UserMessageFrame | StopFrame | ConfirmCardFrame | ResumeFrame, Field(discriminator="type")
]
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
CLIENT_FRAME_TYPES = frozenset({"user_message", "stop", "confirm_card", "resume"})
