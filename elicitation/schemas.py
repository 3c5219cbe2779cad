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
