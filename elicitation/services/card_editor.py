"""Writes for the card editor: the drafts an interviewer leaves for the participant to finish,
the versions the participant saves, and the confirmation of the card in play.

Every version is a `CardProposal` row, kept: the interviewer's proposals and drafts, and each
edit the participant saves (`author` participant, `revises` the version it changed). Only the
latest version of an interview's card can be edited or confirmed, and a draft only once the
participant has saved it (so a superseded card, or one still missing its title, is never
submitted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from elicitation.errors import ApplicationError
from elicitation.models import CardProposal, Interview, Message, ValuesCard
from elicitation.schemas import CardProposedFrame, MessageFrame
from elicitation.selectors import proposal_as_frame
from elicitation.services.card_rules import (
    POLICY_COUNT,
    POLICY_MAX_CHARS,
    card_edit_problems,
    edited_card,
    title_max_chars,
)
from elicitation.services.interviews import interview_answer_store, values_card_submit


def _superseded() -> ApplicationError:
    return ApplicationError(
        "superseded",
        _("A newer version of this card exists: confirm or edit the latest one."),
    )


def _latest_proposal(interview: Interview) -> CardProposal | None:
    return interview.proposals.order_by("-id").first()


def _draft_content(draft: Mapping[str, Any]) -> dict[str, Any]:
    """What a draft can hold: texts that fit their columns, at most the editor's lines."""
    tidy = edited_card(draft)
    return {
        "title": tidy.title[: title_max_chars()],
        "description": tidy.description,
        "policies": [p[:POLICY_MAX_CHARS] for p in tidy.policies][: POLICY_COUNT[1]],
    }


@transaction.atomic
def interview_answer_store_with_draft(
    *,
    interview_id: int,
    text: str,
    draft: Mapping[str, Any],
    duration_ms: int | None = None,
    tokens: int = 0,
) -> tuple[MessageFrame, CardProposedFrame]:
    """Store the interviewer's answer with a card for the participant to finish in the
    editor (a draft: it cannot be confirmed as it is). The draft's problems are the editor's
    rules it breaks, for the page to show."""
    message_frame, _proposal = interview_answer_store(
        interview_id=interview_id, text=text, duration_ms=duration_ms, tokens=tokens
    )
    content = _draft_content(draft)
    proposal = CardProposal.objects.create(
        interview_id=interview_id,
        message=Message.objects.get(interview_id=interview_id, seq=message_frame.seq),
        author=CardProposal.Author.INTERVIEWER,
        is_draft=True,
        problems=card_edit_problems(content),
        **content,
    )
    return message_frame, proposal_as_frame(proposal)


def _interview_for_card(interview_id: int) -> Interview:
    interview = Interview.objects.select_for_update().filter(pk=interview_id).first()
    if interview is None:
        raise ApplicationError("not_found", _("No such interview."))
    if interview.status != Interview.Status.ACTIVE:
        raise ApplicationError(
            "interview_closed", _("This interview is finished; its card cannot change.")
        )
    return interview


@transaction.atomic
def card_proposal_revise(
    *, interview_id: int, proposal_id: int, card: Mapping[str, Any]
) -> CardProposal:
    """Keep the participant's edit of the card in play as its newest version (the version
    they edited stays as it was). An edit that breaks the editor's rules is refused with
    every problem; saving an unchanged, finished card keeps no copy."""
    interview = _interview_for_card(interview_id)
    base = interview.proposals.filter(pk=proposal_id).first()
    if base is None:
        raise ApplicationError(
            "unknown_proposal", _("That card was not proposed in this interview.")
        )
    latest = _latest_proposal(interview)
    if latest is None or latest.pk != base.pk:
        raise _superseded()
    problems = card_edit_problems(card)
    if problems:
        raise ApplicationError("card_invalid", " ".join(problems))
    tidy = edited_card(card).as_dict()
    unchanged = tidy == {
        "title": base.title,
        "description": base.description,
        "policies": list(base.policies),
    }
    if unchanged and not base.is_draft:
        return base
    last_message = interview.messages.order_by("-seq").first()
    return CardProposal.objects.create(
        interview=interview,
        # Shown after this message when the conversation is replayed (a reload).
        message=last_message,
        author=CardProposal.Author.PARTICIPANT,
        revises=base,
        **tidy,
    )


@transaction.atomic
def values_card_confirm(*, interview_id: int, proposal_id: int) -> ValuesCard:
    """The participant confirms the card in play: refused for a superseded version and for
    a draft not yet finished in the editor; otherwise submitted (`values_card_submit`)."""
    interview = Interview.objects.select_for_update().filter(pk=interview_id).first()
    if interview is None:
        raise ApplicationError("not_found", _("No such interview."))
    proposal = interview.proposals.filter(pk=proposal_id).first()
    if proposal is not None and interview.status == Interview.Status.ACTIVE:
        latest = _latest_proposal(interview)
        if latest is not None and latest.pk != proposal.pk:
            raise _superseded()
        if proposal.is_draft:
            raise ApplicationError(
                "card_draft",
                _("This card is a draft: finish it in the editor and save it, then confirm it."),
            )
    return values_card_submit(interview_id=interview_id, proposal_id=proposal_id)
