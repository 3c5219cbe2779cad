"""Writes for the participant journey: one transaction each, keyword-only arguments."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from elicitation import selectors
from elicitation.errors import ApplicationError
from elicitation.models import (
    CardProposal,
    Interview,
    InviteCode,
    Message,
    Participant,
    Question,
    Study,
    SurveyResponse,
    ValuesCard,
)
from elicitation.schemas import (
    MAX_DEMOGRAPHIC_ANSWER_CHARS,
    MAX_SURVEY_COMMENT_CHARS,
    SURVEY_COMMENT_KEY,
    SURVEY_ITEMS,
)
from elicitation.selectors import ANSWER_STALE_AFTER, message_as_frame, proposal_as_frame
from inference.prompts import load_prompt
from inference.schemas import CardShapeError, validate_card
from moralgraph.errors import MoralGraphError

WISE_VALUES_SHOWN = 6
WISE_VALUES_REQUIRED = 2


def hash_external_id(*, study: Study, external_id: str) -> str:
    return hashlib.sha256(f"{study.pk}:{external_id}".encode()).hexdigest()


def _require_stage(participant: Participant, *stages: str) -> None:
    if participant.stage not in stages:
        raise ApplicationError(
            "wrong_step", "That step is not open to you now; continue where you left off."
        )


@transaction.atomic
def participant_consent(
    *, study: Study, external_id: str = "", invite_code: str = ""
) -> Participant:
    """A participant agrees to the study's consent text and enters it: by the link, with an
    unused invite code, or once per panel id, as the study's participation mode says."""
    study = Study.objects.select_for_update().get(pk=study.pk)  # serialises the quota
    if not study.is_open:
        raise ApplicationError("study_closed", "This study is not open for participation.")
    if study.quota is not None and study.participants.count() >= study.quota:
        raise ApplicationError("study_full", "This study has reached its number of participants.")
    mode = study.participation_mode
    external_id = external_id.strip()
    code: InviteCode | None = None
    if mode == Study.ParticipationMode.PANEL and not external_id:
        raise ApplicationError(
            "panel_id_missing",
            "This study is entered from the link your panel gave you; that link carries your "
            "participant id. Please open it again from the panel.",
        )
    if mode == Study.ParticipationMode.INVITE_CODES:
        code = (
            InviteCode.objects.select_for_update()
            .filter(study=study, code__iexact=invite_code.strip())
            .first()
            if invite_code.strip()
            else None
        )
        if code is None:
            raise ApplicationError(
                "invite_invalid", "That invite code is not valid for this study."
            )
        if code.used_at is not None:
            raise ApplicationError("invite_used", "That invite code has already been used.")
    external_hash = (
        hash_external_id(study=study, external_id=external_id)
        if external_id and mode == Study.ParticipationMode.PANEL
        else ""
    )
    if (
        external_hash
        and Participant.objects.filter(study=study, external_id_hash=external_hash).exists()
    ):
        raise ApplicationError("already_entered", "This panel id has already taken part.")
    participant = Participant.objects.create(
        study=study,
        external_id_hash=external_hash,
        consented_at=timezone.now(),
        consent_version=study.consent_version,
    )
    if code is not None:
        code.used_at = timezone.now()
        code.participant = participant
        code.save(update_fields=["used_at", "participant"])
    return participant


@transaction.atomic
def participant_demographics_save(
    *, participant: Participant, answers: dict[str, str]
) -> Participant:
    """Store the answers to the study's demographic questions (validated against them)."""
    _require_stage(participant, Participant.Stage.CONSENTED, Participant.Stage.DEMOGRAPHICS)
    questions = selectors.study_demographic_questions(study=participant.study)
    stored: dict[str, str] = {}
    for question in questions:
        answer = " ".join(str(answers.get(question.key, "")).split())
        if not answer:
            if question.is_required:
                raise ApplicationError("answer_required", f"Please answer “{question.label}”.")
            continue
        if question.kind == "choice" and answer not in question.choices:
            raise ApplicationError(
                "bad_choice", f"Please choose one of the answers to “{question.label}”."
            )
        if len(answer) > MAX_DEMOGRAPHIC_ANSWER_CHARS:
            raise ApplicationError(
                "answer_too_long",
                f"Please keep “{question.label}” under {MAX_DEMOGRAPHIC_ANSWER_CHARS} characters.",
            )
        stored[question.key] = answer
    participant.demographics = stored
    participant.stage = Participant.Stage.DEMOGRAPHICS
    participant.save(update_fields=["demographics", "stage"])
    return participant


@transaction.atomic
def interview_start(*, participant: Participant, question: Question) -> Interview:
    """The participant's interview about this question, started once."""
    if question.study_id != participant.study_id:
        raise ApplicationError("wrong_study", "That question belongs to another study.")
    study = participant.study
    if participant.stage == Participant.Stage.CONSENTED and study.demographic_questions:
        raise ApplicationError("demographics_first", "Please answer the questions about you first.")
    _require_stage(
        participant,
        Participant.Stage.CONSENTED,
        Participant.Stage.DEMOGRAPHICS,
        Participant.Stage.INTERVIEW,
    )
    prompt = load_prompt("interviewer", study.interviewer_prompt_version)
    interview, _ = Interview.objects.get_or_create(
        participant=participant,
        question=question,
        defaults={
            # Without a model server configured, every interview is an offline one.
            "backend": (
                study.interviewer_backend
                if settings.LLM_BASE_URL
                else Study.InterviewerBackend.OFFLINE
            ),
            "model": study.interviewer_model,
            "prompt_version": prompt.version,
            "prompt_hash": prompt.sha256,
        },
    )
    if participant.stage != Participant.Stage.INTERVIEW:
        participant.stage = Participant.Stage.INTERVIEW
        participant.save(update_fields=["stage"])
    return interview


def _next_seq(interview: Interview) -> int:
    last = Message.objects.filter(interview=interview).aggregate(m=Max("seq"))["m"]
    return (last or 0) + 1


def _limit_error(interview: Interview, study: Study) -> ApplicationError | None:
    has_card = interview.proposals.exists()
    next_step = (
        "Please confirm a card to go on."
        if has_card
        else "You can go on to the next step without a card."
    )
    if interview.turn_count >= study.max_turns:
        return ApplicationError(
            "turn_limit",
            f"This interview has reached its limit of {study.max_turns} messages. " + next_step,
        )
    if interview.token_count >= study.max_tokens:
        return ApplicationError(
            "token_limit", "This interview has reached its length limit. " + next_step
        )
    return None


def interview_message_add_user(
    *, interview_id: int, client_id: uuid.UUID, text: str
) -> tuple[dict[str, Any], bool]:
    """Store the participant's message once per client id; return its frame and whether it
    is new (a resent message returns the stored one)."""
    existing = Message.objects.filter(interview_id=interview_id, client_id=client_id).first()
    if existing is not None:
        return message_as_frame(existing), False
    try:
        with transaction.atomic():
            interview = (
                Interview.objects.select_for_update()
                .select_related("participant__study")
                .get(pk=interview_id)
            )
            if interview.status != Interview.Status.ACTIVE:
                raise ApplicationError(
                    "interview_closed", "This interview is finished; you cannot add to it."
                )
            limit = _limit_error(interview, interview.participant.study)
            if limit is not None:
                raise limit
            message = Message.objects.create(
                interview=interview,
                seq=_next_seq(interview),
                role=Message.Role.USER,
                text=text,
                client_id=client_id,
            )
            interview.turn_count += 1
            interview.save(update_fields=["turn_count", "updated_at"])
    except IntegrityError:
        # The same client id raced in from another connection: the first one won.
        existing = Message.objects.get(interview_id=interview_id, client_id=client_id)
        return message_as_frame(existing), False
    return message_as_frame(message), True


@transaction.atomic
def interview_answer_store(
    *,
    interview_id: int,
    text: str,
    is_stopped: bool = False,
    card: dict[str, Any] | None = None,
    tool_call: dict[str, Any] | None = None,
    duration_ms: int | None = None,
    tokens: int = 0,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Store the interviewer's answer, and the card it proposed (kept, never overwritten);
    return the message frame and the `card_proposed` frame. A card is validated again here:
    nothing that breaks the card shape is ever stored as a proposal."""
    interview = Interview.objects.select_for_update().get(pk=interview_id)
    proposed = None
    if card is not None:
        try:
            proposed = validate_card(card)
        except CardShapeError as exc:
            raise ApplicationError("card_invalid", str(exc)) from exc
    message = Message.objects.create(
        interview=interview,
        seq=_next_seq(interview),
        role=Message.Role.ASSISTANT,
        text=text,
        tool_calls=[tool_call] if tool_call else [],
        is_stopped=is_stopped,
        duration_ms=duration_ms,
    )
    interview.token_count += tokens
    interview.save(update_fields=["token_count", "updated_at"])
    proposal_frame = None
    if proposed is not None:
        proposal = CardProposal.objects.create(
            interview=interview,
            message=message,
            title=proposed.title,
            description=proposed.description,
            policies=list(proposed.policies),
        )
        proposal_frame = proposal_as_frame(proposal)
    return message_as_frame(message), proposal_frame


@transaction.atomic
def values_card_submit(*, interview_id: int, proposal_id: int) -> ValuesCard:
    """The participant confirms one of the interviewer's proposals: the only way a card is
    submitted. Canonicalisation runs after commit."""
    from elicitation import tasks

    interview = (
        Interview.objects.select_for_update()
        .select_related("participant__study")
        .get(pk=interview_id)
    )
    proposal = interview.proposals.filter(pk=proposal_id).first()
    if proposal is None:
        raise ApplicationError("unknown_proposal", "That card was not proposed in this interview.")
    if interview.status == Interview.Status.SUBMITTED or hasattr(interview, "card"):
        raise ApplicationError("already_submitted", "You have already submitted a card here.")
    if interview.status != Interview.Status.ACTIVE:
        raise ApplicationError("interview_closed", "This interview is closed.")
    card = ValuesCard.objects.create(
        interview=interview,
        proposal=proposal,
        participant=interview.participant,
        question_id=interview.question_id,
        title=proposal.title,
        description=proposal.description,
        policies=proposal.policies,
        submitted_at=timezone.now(),
    )
    interview.status = Interview.Status.SUBMITTED
    interview.save(update_fields=["status", "updated_at"])
    participant = interview.participant
    participant.stage = Participant.Stage.PICKS
    participant.save(update_fields=["stage"])
    transaction.on_commit(lambda: tasks.values_card_canonicalise.delay(card.pk))
    return card


@transaction.atomic
def interview_leave_without_card(*, participant: Participant, interview_id: int) -> Interview:
    """At the interview's length limit with no card to confirm, the participant goes on to
    the survey (no card: nothing of others to judge)."""
    interview = (
        Interview.objects.select_for_update()
        .select_related("participant__study")
        .filter(pk=interview_id, participant=participant)
        .first()
    )
    if interview is None:
        raise ApplicationError("not_found", "No such interview.")
    if interview.status != Interview.Status.ACTIVE:
        raise ApplicationError("interview_closed", "This interview is already closed.")
    if _limit_error(interview, participant.study) is None:
        raise ApplicationError(
            "not_at_limit",
            "You can leave without a card only when the interview reaches its limit.",
        )
    interview.status = Interview.Status.ABANDONED
    interview.save(update_fields=["status", "updated_at"])
    participant.stage = Participant.Stage.SURVEY
    participant.save(update_fields=["stage"])
    return interview


@transaction.atomic
def wise_values_draw(*, participant: Participant) -> list[int]:
    """The values shown to the participant in "which of these are wise?", drawn once (up to
    six, seeded by the participant) and recorded as impressions."""
    import random

    from moralgraph.services import selection_record

    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_stage(participant, Participant.Stage.PICKS)
    if participant.wise_value_ids is not None:
        return list(participant.wise_value_ids)
    candidates = selectors.wise_value_candidates(participant=participant)
    random.Random(str(participant.public_id)).shuffle(candidates)
    shown = candidates[:WISE_VALUES_SHOWN]
    participant.wise_value_ids = shown
    participant.save(update_fields=["wise_value_ids"])
    if shown:
        card = selectors.participant_card(participant=participant)
        selection_record(
            participant_id=participant.pk,
            draw_id=_wise_draw_id(participant),
            shown_value_ids=shown,
            picked_value_ids=[],
            question_id=card.question_id if card else None,
        )
    return shown


def _wise_draw_id(participant: Participant) -> str:
    return f"wise:{participant.public_id}"


def wise_values_required(*, shown: int) -> int:
    return min(WISE_VALUES_REQUIRED, shown)


@transaction.atomic
def wise_values_pick(*, participant: Participant, picked_value_ids: list[int]) -> Participant:
    from moralgraph.services import selection_record

    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_stage(participant, Participant.Stage.PICKS)
    if participant.wise_value_ids is None:
        raise ApplicationError("not_drawn", "Please look at the values first.")
    shown = list(participant.wise_value_ids)
    picked = list(dict.fromkeys(picked_value_ids))
    if not set(picked) <= set(shown):
        raise ApplicationError("not_shown", "You can only pick values that were shown to you.")
    required = wise_values_required(shown=len(shown))
    if len(picked) < required:
        raise ApplicationError(
            "too_few_picks", f"Please pick at least {required} values that you find wise."
        )
    if shown:
        card = selectors.participant_card(participant=participant)
        try:
            selection_record(
                participant_id=participant.pk,
                draw_id=_wise_draw_id(participant),
                shown_value_ids=shown,
                picked_value_ids=picked,
                question_id=card.question_id if card else None,
            )
        except MoralGraphError as exc:
            raise ApplicationError(exc.code, exc.message) from exc
    participant.stage = Participant.Stage.VOTES
    participant.save(update_fields=["stage"])
    return participant


@transaction.atomic
def upgrade_hypotheses_assign(*, participant: Participant) -> list[int]:
    """The upgrade stories the participant judges, drawn once by the graph engine
    (`study.upgrade_votes` of them, fewer when fewer exist)."""
    from moralgraph.selectors import hypotheses_draw

    participant = (
        Participant.objects.select_for_update().select_related("study").get(pk=participant.pk)
    )
    _require_stage(participant, Participant.Stage.VOTES)
    if participant.upgrade_hypothesis_ids is not None:
        return list(participant.upgrade_hypothesis_ids)
    drawn = hypotheses_draw(
        participant_id=participant.pk,
        study_id=participant.study_id,
        count=participant.study.upgrade_votes,
    )
    participant.upgrade_hypothesis_ids = [h.id for h in drawn]
    participant.save(update_fields=["upgrade_hypothesis_ids"])
    return list(participant.upgrade_hypothesis_ids)


@transaction.atomic
def upgrade_vote_submit(
    *, participant: Participant, hypothesis_id: int, choice: str, reason: str = ""
) -> Any:
    """The participant's judgement of one story drawn for them; a story never drawn for
    them is refused. After the last one they go on to the survey."""
    from moralgraph.models import UpgradeHypothesis, UpgradeVote
    from moralgraph.services import upgrade_vote_cast

    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_stage(participant, Participant.Stage.VOTES)
    drawn = list(participant.upgrade_hypothesis_ids or [])
    if hypothesis_id not in drawn:
        raise ApplicationError("not_drawn", "That story was not shown to you.")
    if choice not in UpgradeVote.Choice.values:
        raise ApplicationError("bad_choice", "Please choose Yes, No or Not sure.")
    hypothesis = UpgradeHypothesis.objects.get(pk=hypothesis_id)
    try:
        vote = upgrade_vote_cast(
            participant_id=participant.pk,
            from_value_id=hypothesis.from_value_id,
            to_value_id=hypothesis.to_value_id,
            context_id=hypothesis.context_id,
            choice=choice,
            reason=reason,
            hypothesis_id=hypothesis.pk,
        )
    except MoralGraphError as exc:
        raise ApplicationError(exc.code, exc.message) from exc
    if selectors.upgrade_screen_next(participant=participant) is None:
        participant.stage = Participant.Stage.SURVEY
        participant.save(update_fields=["stage"])
    return vote


@transaction.atomic
def upgrade_votes_continue(*, participant: Participant) -> Participant:
    """Go on when there was nothing (left) to judge."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_stage(participant, Participant.Stage.VOTES)
    if participant.upgrade_hypothesis_ids is None:
        raise ApplicationError("not_drawn", "Please look at the stories first.")
    if selectors.upgrade_screen_next(participant=participant) is not None:
        raise ApplicationError("votes_pending", "Please judge the remaining stories first.")
    participant.stage = Participant.Stage.SURVEY
    participant.save(update_fields=["stage"])
    return participant


@transaction.atomic
def survey_submit(
    *, participant: Participant, answers: dict[str, int], comment: str = ""
) -> Participant:
    """The five 1–5 items (all required) and an optional comment; the journey ends here,
    with a completion code for panels."""
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    _require_stage(participant, Participant.Stage.SURVEY)
    for item in SURVEY_ITEMS:
        answer = answers.get(item.key)
        if answer is None or not 1 <= answer <= 5:
            raise ApplicationError("answer_required", "Please answer every statement, from 1 to 5.")
    for item in SURVEY_ITEMS:
        SurveyResponse.objects.update_or_create(
            participant=participant, item=item.key, defaults={"answer": answers[item.key]}
        )
    comment = comment.strip()[:MAX_SURVEY_COMMENT_CHARS]
    if comment:
        SurveyResponse.objects.update_or_create(
            participant=participant, item=SURVEY_COMMENT_KEY, defaults={"text": comment}
        )
    participant.stage = Participant.Stage.FINISHED
    participant.finished_at = timezone.now()
    participant.completion_code = participant.completion_code or secrets.token_hex(4).upper()
    participant.save(update_fields=["stage", "finished_at", "completion_code"])
    return participant


@transaction.atomic
def values_card_canonicalise(*, card_id: int) -> int:
    """Give a submitted card its canonical value (idempotent: a card that has one keeps it)."""
    from moralgraph.services import value_for_card

    card = ValuesCard.objects.select_for_update().select_related("participant").get(pk=card_id)
    if card.value_id is not None:
        return card.value_id
    value_id = value_for_card(
        study_id=card.participant.study_id,
        title=card.title,
        description=card.description,
        policies=list(card.policies),
        card_id=card.pk,
    )
    card.value_id = value_id
    card.save(update_fields=["value"])
    return value_id


@transaction.atomic
def demo_study_seed() -> Study:
    """Create or bring up to date the demo study; running it twice changes nothing."""
    from elicitation.demo import DEMO_QUESTIONS, DEMO_SLUG, DEMO_STUDY
    from moralgraph.services import context_ensure, demo_graph_seed

    study, _ = Study.objects.update_or_create(
        slug=DEMO_SLUG,
        defaults={
            **DEMO_STUDY,
            "status": Study.Status.OPEN,
            "visibility": Study.Visibility.PUBLIC,
        },
    )
    for order, spec in enumerate(DEMO_QUESTIONS):
        question, _ = Question.objects.update_or_create(
            study=study,
            source_id=f"demo-{order}",
            defaults={
                "title": spec["title"],
                "text": spec["text"],
                "seed_message": spec["seed_message"],
                "order": order,
            },
        )
        for text in spec["contexts"]:
            context_ensure(study_id=study.pk, text=text, question_ids=[question.pk])
    demo_graph_seed(study_id=study.pk)
    return study


def contexts_mine_from_interviews(*, study_id: int, question_id: int, count: int = 5) -> list[int]:
    """Contexts mined from what participants said about a question (DESIGN §4.3); the model
    call happens before any write, so a failure stores nothing."""
    from elicitation.selectors import interview_excerpts
    from moralgraph.generation import contexts_mine

    excerpts = interview_excerpts(study_id=study_id, question_id=question_id)
    contexts = contexts_mine(
        study_id=study_id, question_id=question_id, excerpts=excerpts, count=count
    )
    return [context.pk for context in contexts]


def interview_answer_claim(*, interview_id: int) -> bool:
    """Claim the right to write this interview's next answer (compare-and-set): False when
    another answer is being written, in this process or another."""
    now = timezone.now()
    free = Q(answer_started_at__isnull=True) | Q(answer_started_at__lt=now - ANSWER_STALE_AFTER)
    return Interview.objects.filter(free, pk=interview_id).update(answer_started_at=now) == 1


def interview_answer_renew(*, interview_id: int) -> None:
    """The answer is still being written: keep its claim fresh."""
    Interview.objects.filter(pk=interview_id, answer_started_at__isnull=False).update(
        answer_started_at=timezone.now()
    )


def interview_answer_release(*, interview_id: int) -> None:
    Interview.objects.filter(pk=interview_id).update(answer_started_at=None)
