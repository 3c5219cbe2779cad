"""Reads for the participant journey. They return plain data, safe to hand to async code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from elicitation.models import (
    CardProposal,
    Interview,
    Message,
    Participant,
    Question,
    Study,
    ValuesCard,
)
from elicitation.schemas import DemographicQuestion, demographic_questions_adapter

# An answer's claim is renewed while it streams; one not renewed for this long is taken to be
# lost (its server process died), so the participant can go on.
ANSWER_STALE_AFTER = timedelta(seconds=60)
ANSWER_HEARTBEAT_S = 15.0


@dataclass(frozen=True)
class InterviewInfo:
    id: int
    participant_id: int
    study_id: int
    question_id: int
    question_text: str
    status: str
    backend: str
    model: str
    prompt_version: int | None
    max_turns: int
    max_tokens: int
    turn_count: int
    token_count: int


# What the model is told after a card it proposed was shown (OpenAI's protocol needs a tool
# result after every tool call).
CARD_SHOWN_RESULT = (
    "The card was shown to the participant. They can confirm it with a button, or ask for "
    "changes in the chat; only they can submit it."
)


def message_as_frame(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "stopped": message.is_stopped,
    }


def study_open_get(*, slug: str) -> Study | None:
    return Study.objects.filter(slug=slug, status=Study.Status.OPEN).first()


def study_public_list() -> list[Study]:
    return list(Study.objects.filter(status=Study.Status.OPEN, visibility=Study.Visibility.PUBLIC))


def study_questions(*, study: Study) -> list[Question]:
    return list(study.questions.order_by("order", "id"))


def participant_get(*, participant_id: int | None, study: Study) -> Participant | None:
    if participant_id is None:
        return None
    return Participant.objects.filter(pk=participant_id, study=study).first()


def interview_owned(*, interview_id: int, participant_ids: list[int]) -> Interview | None:
    """The interview with its question and study, if one of these participants owns it."""
    return (
        Interview.objects.select_related("question", "participant__study")
        .filter(pk=interview_id, participant_id__in=participant_ids)
        .first()
    )


def interview_for_participant(
    *, interview_id: int, participant_ids: list[int]
) -> InterviewInfo | None:
    """The interview, if it belongs to one of this browser session's participants."""
    interview = (
        Interview.objects.select_related("question", "participant__study")
        .filter(pk=interview_id, participant_id__in=participant_ids)
        .first()
    )
    if interview is None:
        return None
    study = interview.participant.study
    return InterviewInfo(
        id=interview.pk,
        participant_id=interview.participant_id,
        study_id=study.pk,
        question_id=interview.question_id,
        question_text=interview.question.text,
        status=interview.status,
        backend=interview.backend,
        model=interview.model,
        prompt_version=interview.prompt_version,
        max_turns=study.max_turns,
        max_tokens=study.max_tokens,
        turn_count=interview.turn_count,
        token_count=interview.token_count,
    )


def proposal_as_frame(proposal: CardProposal) -> dict[str, Any]:
    return {
        "type": "card_proposed",
        "proposal_id": proposal.pk,
        "card": {
            "title": proposal.title,
            "description": proposal.description,
            "policies": list(proposal.policies),
        },
    }


def interview_frames_after(*, interview_id: int, after_seq: int) -> list[dict[str, Any]]:
    """The message frames after `after_seq`, each followed by the card it proposed."""
    messages = list(
        Message.objects.filter(
            interview_id=interview_id, seq__gt=after_seq, role__in=("user", "assistant")
        ).order_by("seq")
    )
    proposals: dict[int, list[CardProposal]] = {}
    for proposal in CardProposal.objects.filter(
        interview_id=interview_id, message__in=messages
    ).order_by("id"):
        proposals.setdefault(proposal.message_id or 0, []).append(proposal)
    frames: list[dict[str, Any]] = []
    for message in messages:
        frames.append(message_as_frame(message))
        frames += [proposal_as_frame(p) for p in proposals.get(message.pk, [])]
    return frames


@dataclass(frozen=True)
class InterviewHistory:
    """What the interviewer needs for its next answer, read fresh before each answer."""

    messages: list[dict[str, Any]]  # the conversation in the OpenAI wire shape
    user_texts: list[str]
    current_card: dict[str, Any] | None
    turn_count: int
    token_count: int
    max_turns: int
    max_tokens: int

    @property
    def is_last_turn(self) -> bool:
        return self.turn_count >= self.max_turns


def interview_history(*, interview_id: int) -> InterviewHistory:
    interview = Interview.objects.select_related("question", "participant__study").get(
        pk=interview_id
    )
    study = interview.participant.study
    wire: list[dict[str, Any]] = []
    if interview.question.seed_message:
        wire.append({"role": "assistant", "content": interview.question.seed_message})
    user_texts: list[str] = []
    for message in interview.messages.filter(role__in=("user", "assistant")).order_by("seq"):
        if message.role == Message.Role.USER:
            user_texts.append(message.text)
            wire.append({"role": "user", "content": message.text})
            continue
        calls = [c for c in message.tool_calls if isinstance(c, dict) and c.get("id")]
        if not message.text and not calls:
            continue
        entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
        if calls:
            entry["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in calls
            ]
        wire.append(entry)
        wire += [
            {"role": "tool", "tool_call_id": c["id"], "content": CARD_SHOWN_RESULT} for c in calls
        ]
    latest = interview.proposals.order_by("-id").first()
    return InterviewHistory(
        messages=wire,
        user_texts=user_texts,
        current_card=(
            None
            if latest is None
            else {
                "title": latest.title,
                "description": latest.description,
                "policies": list(latest.policies),
            }
        ),
        turn_count=interview.turn_count,
        token_count=interview.token_count,
        max_turns=study.max_turns,
        max_tokens=study.max_tokens,
    )


def interview_message_frame(*, interview_id: int, client_id: uuid.UUID) -> dict[str, Any] | None:
    """The participant's message sent with this client id, if it was stored."""
    message = Message.objects.filter(interview_id=interview_id, client_id=client_id).first()
    return message_as_frame(message) if message is not None else None


def interview_awaits_answer(*, interview_id: int) -> bool:
    """Whether the participant's last message has no answer yet (the model failed, or the
    connection dropped before one was stored)."""
    last = (
        Message.objects.filter(interview_id=interview_id, role__in=("user", "assistant"))
        .order_by("-seq")
        .values_list("role", flat=True)
        .first()
    )
    return last == Message.Role.USER


def interview_next_seq(*, interview_id: int) -> int:
    last = (
        Message.objects.filter(interview_id=interview_id)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return (last or 0) + 1


# --- the journey -----------------------------------------------------------------------------


def study_demographic_questions(*, study: Study) -> list[DemographicQuestion]:
    return demographic_questions_adapter.validate_python(study.demographic_questions or [])


def participant_for_session(*, study: Study, participant_ids: list[int]) -> Participant | None:
    """This browser session's participant in the study, if it has entered it."""
    return (
        Participant.objects.select_related("study")
        .filter(pk__in=participant_ids, study=study)
        .order_by("-pk")
        .first()
    )


def participant_active_interview(*, participant: Participant) -> Interview | None:
    return participant.interviews.filter(status=Interview.Status.ACTIVE).order_by("-pk").first()


def journey_url(*, participant: Participant) -> str:
    """Where the participant belongs now: every journey page sends people elsewhere here."""
    stage = participant.stage
    slug = participant.study.slug
    Stage = Participant.Stage
    if stage == Stage.CONSENTED and participant.study.demographic_questions:
        return reverse("elicitation:demographics", kwargs={"slug": slug})
    if stage in (Stage.CONSENTED, Stage.DEMOGRAPHICS):
        return reverse("elicitation:question_choose", kwargs={"slug": slug})
    if stage == Stage.INTERVIEW:
        interview = participant_active_interview(participant=participant)
        if interview is None:
            return reverse("elicitation:question_choose", kwargs={"slug": slug})
        return reverse("elicitation:interview", kwargs={"interview_id": interview.pk})
    names = {
        Stage.PICKS: "elicitation:wise_values",
        Stage.VOTES: "elicitation:upgrade_votes",
        Stage.SURVEY: "elicitation:survey",
        Stage.FINISHED: "elicitation:finish",
    }
    return reverse(names[Stage(stage)], kwargs={"slug": slug})


def participant_card(*, participant: Participant) -> ValuesCard | None:
    return participant.cards.order_by("-submitted_at").first()


def wise_value_candidates(*, participant: Participant) -> list[int]:
    """Canonical values of the participant's question from other people (DESIGN §4.3):
    values other participants' cards on that question became, and values the study seeded
    or imported for the question's contexts. Never the participant's own."""
    from moralgraph.models import UpgradeHypothesis, Value

    card = participant_card(participant=participant)
    if card is None or card.question_id is None:
        return []
    from_cards = (
        ValuesCard.objects.filter(question_id=card.question_id, value__isnull=False)
        .exclude(participant=participant)
        .values_list("value_id", flat=True)
    )
    in_contexts = UpgradeHypothesis.objects.filter(
        study_id=participant.study_id, context__questions=card.question_id
    )
    seeded = set(in_contexts.values_list("from_value_id", flat=True)) | set(
        in_contexts.values_list("to_value_id", flat=True)
    )
    own = set(
        ValuesCard.objects.filter(participant=participant, value__isnull=False).values_list(
            "value_id", flat=True
        )
    )
    ids = (set(from_cards) | seeded) - own
    return list(
        Value.objects.filter(pk__in=ids, study_id=participant.study_id, status=Value.Status.ACTIVE)
        .order_by("id")
        .values_list("id", flat=True)
    )


def values_in_order(*, value_ids: list[int]) -> list[Any]:
    from moralgraph.models import Value

    by_id = {v.pk: v for v in Value.objects.filter(pk__in=value_ids)}
    return [by_id[i] for i in value_ids if i in by_id]


@dataclass(frozen=True)
class UpgradeScreen:
    """One "did this person become wiser?" screen."""

    hypothesis_id: int
    position: int
    total: int
    context: str
    story: str
    from_value: Any
    to_value: Any


def upgrade_screen_next(*, participant: Participant) -> UpgradeScreen | None:
    """The first story drawn for the participant that they have not judged yet."""
    from moralgraph.models import UpgradeHypothesis, UpgradeVote

    drawn: list[int] = list(participant.upgrade_hypothesis_ids or [])
    judged = set(
        UpgradeVote.objects.filter(participant=participant, hypothesis_id__in=drawn).values_list(
            "hypothesis_id", flat=True
        )
    )
    for position, hypothesis_id in enumerate(drawn, start=1):
        if hypothesis_id in judged:
            continue
        hypothesis = (
            UpgradeHypothesis.objects.select_related("from_value", "to_value", "context")
            .filter(pk=hypothesis_id)
            .first()
        )
        if hypothesis is None:
            continue
        return UpgradeScreen(
            hypothesis_id=hypothesis.pk,
            position=position,
            total=len(drawn),
            context=hypothesis.context.text,
            story=hypothesis.story,
            from_value=hypothesis.from_value,
            to_value=hypothesis.to_value,
        )
    return None


@dataclass(frozen=True)
class GraphPosition:
    """Where a participant's value sits in the study's newest graph snapshot."""

    value_title: str
    votes: int
    participants: int
    wins: list[dict[str, Any]]
    wiser_than: int
    less_wise_than: int
    is_in_graph: bool


def participant_graph_position(*, participant: Participant) -> GraphPosition | None:
    """Only for participants who have voted (no graph before voting), once their card has
    a canonical value and the study has a snapshot."""
    from moralgraph.models import UpgradeVote
    from moralgraph.selectors import snapshot_document_get, snapshot_get

    if not UpgradeVote.objects.filter(participant=participant).exists():
        return None
    card = participant_card(participant=participant)
    if card is None or card.value_id is None:
        return None
    snapshot = snapshot_get(study_id=participant.study_id)
    if snapshot is None:
        return None
    document = snapshot_document_get(snapshot)
    value_id = card.value_id
    wins = [w for w in document.get("winners", []) if w.get("value_id") == value_id]
    kept = [e for e in document.get("edges", []) if e.get("kept")]
    wiser_than = sum(1 for e in kept if e.get("to") == value_id)
    less_wise_than = sum(1 for e in kept if e.get("from") == value_id)
    in_graph = any(value_id in (e.get("from"), e.get("to")) for e in document.get("edges", []))
    stats = document.get("stats", {})
    return GraphPosition(
        value_title=card.value.title if card.value else card.title,
        votes=int(stats.get("votes", snapshot.vote_count)),
        participants=int(stats.get("participants", snapshot.participant_count)),
        wins=wins,
        wiser_than=wiser_than,
        less_wise_than=less_wise_than,
        is_in_graph=in_graph,
    )


def interview_excerpts(*, study_id: int, question_id: int) -> list[str]:
    """What each participant said in their interview about this question, one excerpt per
    interview (their messages joined), oldest interview first. Participants' words only."""
    rows = (
        Message.objects.filter(
            interview__question_id=question_id,
            interview__participant__study_id=study_id,
            role=Message.Role.USER,
        )
        .order_by("interview_id", "seq")
        .values_list("interview_id", "text")
    )
    by_interview: dict[int, list[str]] = {}
    for interview_id, text in rows:
        by_interview.setdefault(interview_id, []).append(text)
    return [" ".join(texts) for texts in by_interview.values()]


def interview_is_answering(*, interview_id: int) -> bool:
    """Whether an answer is being written for this interview (maybe in another process)."""
    since = timezone.now() - ANSWER_STALE_AFTER
    return Interview.objects.filter(pk=interview_id, answer_started_at__gte=since).exists()
