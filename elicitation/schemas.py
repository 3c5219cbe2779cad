"""Pydantic schemas: the interview socket's frames, both ways, and the study's questions and
survey. README's "The interview socket" section is generated from the frame models
(`python -m elicitation.interview.protocol_doc --write`)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from django.utils.translation import gettext_noop
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from elicitation.hygiene import control_character

MAX_MESSAGE_CHARS = 4000
# A frame holds at most one message plus JSON overhead; anything larger is refused unread.
MAX_FRAME_BYTES = 4 * MAX_MESSAGE_CHARS + 1024


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- client → server ---------------------------------------------------------------------------


def _typed_text(value: str) -> str:
    """Text a person typed: no NUL or other control character (tab and new line are fine)."""
    if control_character(value) is not None:
        raise ValueError(
            "the message contains a control character (such as NUL) that cannot be stored; "
            "remove it and send it again"
        )
    return value


class UserMessageFrame(_Frame):
    """The participant's message; resent with the same `client_id`, it is stored once."""

    type: Literal["user_message"]
    client_id: uuid.UUID
    text: Annotated[
        str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS), AfterValidator(_typed_text)
    ]


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


# Generous bounds on an edited card's frame; the card editor's own rules (elicitation.services.
# card_rules) say what a card may be, with reasons the participant can act on.
MAX_EDITED_FIELD_CHARS = 2000
MAX_EDITED_POLICIES = 20


class EditedCardContent(BaseModel):
    """A card as the participant edited it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[str, Field(max_length=MAX_EDITED_FIELD_CHARS), AfterValidator(_typed_text)]
    description: Annotated[
        str, Field(max_length=MAX_EDITED_FIELD_CHARS), AfterValidator(_typed_text)
    ] = ""
    policies: Annotated[
        list[Annotated[str, Field(max_length=MAX_EDITED_FIELD_CHARS), AfterValidator(_typed_text)]],
        Field(max_length=MAX_EDITED_POLICIES),
    ]


class EditCardFrame(_Frame):
    """Save the participant's edit of the card in play (`proposal_id`, the latest version) as
    a new version; answered with its `card_proposed` frame, or an `error` saying what to fix."""

    type: Literal["edit_card"]
    proposal_id: Annotated[int, Field(ge=1)]
    card: EditedCardContent


ClientFrame = UserMessageFrame | StopFrame | ConfirmCardFrame | ResumeFrame | EditCardFrame
CLIENT_FRAMES: tuple[type[_Frame], ...] = (
    UserMessageFrame,
    StopFrame,
    ConfirmCardFrame,
    ResumeFrame,
    EditCardFrame,
)
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(
    Annotated[ClientFrame, Field(discriminator="type")]
)
CLIENT_FRAME_TYPES = frozenset({"user_message", "stop", "confirm_card", "resume", "edit_card"})


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
    """A version of the values card: proposed by the interviewer or saved by the participant
    (`author`); later versions supersede it. A draft (`is_draft`) opens in the card editor
    and cannot be confirmed until the participant saves it; `problems` says what to fix."""

    type: Literal["card_proposed"] = "card_proposed"
    proposal_id: int
    card: CardContent
    author: Literal["interviewer", "participant"] = "interviewer"
    is_draft: bool = False
    problems: list[str] = Field(default_factory=list)


class StatusFrame(_Frame):
    """The interviewer is answering, is revising a card the validator refused (the text
    streamed so far in this answer is withdrawn: the answer starts again), or is waiting."""

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


MAX_DEMOGRAPHIC_ANSWER_CHARS = 200
MAX_DEMOGRAPHIC_QUESTIONS = 30
MAX_DEMOGRAPHIC_CHOICES = 50
# Bounds for number questions, so that every stored number is an ordinary JSON number.
DEMOGRAPHIC_NUMBER_LIMIT = 10**12
DemographicKind = Literal["text", "number", "single_choice", "multiple_choice"]
DEMOGRAPHIC_KINDS: tuple[tuple[DemographicKind, str], ...] = (
    ("text", "Text"),
    ("number", "Number"),
    ("single_choice", "Single choice"),
    ("multiple_choice", "Multiple choice"),
)
CHOICE_KINDS = frozenset({"single_choice", "multiple_choice"})


def _clean_text(value: str, what: str) -> str:
    """Whitespace collapsed (answers are compared the same way); no control characters."""
    if any(not ch.isprintable() and not ch.isspace() for ch in value):
        raise ValueError(f"{what} contains a control character")
    return " ".join(value.split())


class DemographicQuestion(BaseModel):
    """One demographic question a study asks (`Study.demographic_questions`, a JSON list).

    A multiple-choice answer is stored as a list of the chosen choices, a number answer as a
    JSON number, the others as a string (`Participant.demographics`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    kind: DemographicKind = "single_choice"
    choices: tuple[str, ...] = ()
    is_required: bool = False
    minimum: Annotated[
        int | float | None,
        Field(ge=-DEMOGRAPHIC_NUMBER_LIMIT, le=DEMOGRAPHIC_NUMBER_LIMIT, allow_inf_nan=False),
    ] = None
    maximum: Annotated[
        int | float | None,
        Field(ge=-DEMOGRAPHIC_NUMBER_LIMIT, le=DEMOGRAPHIC_NUMBER_LIMIT, allow_inf_nan=False),
    ] = None

    @property
    def kind_label(self) -> str:
        return dict(DEMOGRAPHIC_KINDS)[self.kind]

    @property
    def has_choices(self) -> bool:
        return self.kind in CHOICE_KINDS

    @field_validator("kind", mode="before")
    @classmethod
    def _old_kind_names(cls, value: object) -> object:
        # Definitions saved before the builder called a single choice "choice".
        return "single_choice" if value == "choice" else value

    @field_validator("label", mode="before")
    @classmethod
    def _clean_label(cls, value: object) -> object:
        return _clean_text(value, "the label") if isinstance(value, str) else value

    @field_validator("choices", mode="before")
    @classmethod
    def _clean_choices(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            cleaned = [_clean_text(c, "a choice") if isinstance(c, str) else c for c in value]
            return tuple(c for c in cleaned if c != "")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DemographicQuestion:
        if self.kind in CHOICE_KINDS:
            if not self.choices:
                raise ValueError("a choice question needs at least one choice")
            if len(self.choices) > MAX_DEMOGRAPHIC_CHOICES:
                raise ValueError(f"at most {MAX_DEMOGRAPHIC_CHOICES} choices")
            if len(set(self.choices)) != len(self.choices):
                raise ValueError("each choice may appear only once")
            if any(len(c) > MAX_DEMOGRAPHIC_ANSWER_CHARS for c in self.choices):
                raise ValueError(
                    f"a choice is longer than {MAX_DEMOGRAPHIC_ANSWER_CHARS} characters"
                )
        elif self.choices:
            raise ValueError("only choice questions have choices")
        if self.kind != "number" and (self.minimum is not None or self.maximum is not None):
            raise ValueError("only number questions have a minimum or maximum")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("the minimum is above the maximum")
        return self


def _keys_unique(questions: list[DemographicQuestion]) -> list[DemographicQuestion]:
    keys = [q.key for q in questions]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"the key {duplicates[0]!r} is used twice")
    if len(questions) > MAX_DEMOGRAPHIC_QUESTIONS:
        raise ValueError(f"at most {MAX_DEMOGRAPHIC_QUESTIONS} questions")
    return questions


demographic_questions_adapter: TypeAdapter[list[DemographicQuestion]] = TypeAdapter(
    Annotated[list[DemographicQuestion], AfterValidator(_keys_unique)]
)


def demographic_questions_usable(raw: object) -> list[DemographicQuestion]:
    """The stored questions a participant can be asked: each valid one, the first of each key.
    A definition that does not validate (typed into the admin's JSON, or from an older
    version) is skipped rather than turned into an error page for the participant."""
    usable: list[DemographicQuestion] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            question = DemographicQuestion.model_validate(item)
        except ValidationError:
            continue
        if question.key not in {q.key for q in usable}:
            usable.append(question)
    return usable[:MAX_DEMOGRAPHIC_QUESTIONS]


class SurveyItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    statement: str


# Agreement from 1 (strongly disagree) to 5 (strongly agree), as in the reference study.
# Statements and labels are marked for translation (the pages show them translated;
# exports keep the English).
SURVEY_ITEMS: tuple[SurveyItem, ...] = (
    SurveyItem(
        key="felt_represented",
        statement=gettext_noop("The values card I submitted represents what I care about."),
    ),
    SurveyItem(
        key="clarified_values",
        statement=gettext_noop("The conversation helped me clarify what matters to me here."),
    ),
    SurveyItem(
        key="learned_about_others",
        statement=gettext_noop("I learned something about what other people value."),
    ),
    SurveyItem(
        key="gained_respect",
        statement=gettext_noop("I have more respect for people who see this question differently."),
    ),
    SurveyItem(
        key="trust_process",
        statement=gettext_noop("I trust this process to combine people's values fairly."),
    ),
)
SURVEY_SCALE = (
    (1, gettext_noop("Strongly disagree")),
    (2, gettext_noop("Disagree")),
    (3, gettext_noop("Neutral")),
    (4, gettext_noop("Agree")),
    (5, gettext_noop("Strongly agree")),
)
SURVEY_COMMENT_KEY = "comment"
MAX_SURVEY_COMMENT_CHARS = 2000
