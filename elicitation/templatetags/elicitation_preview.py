"""`{% session_is_preview as is_preview %}`: whether this browser's participant in the page's
study is a staff preview (the journey pages' banner says so)."""

from __future__ import annotations

from typing import Any

from django import template

from elicitation import selectors
from elicitation.models import Participant, Study
from elicitation.participant_session import session_participant_ids

register = template.Library()


@register.simple_tag(takes_context=True)
def session_is_preview(context: Any) -> bool:
    request, study = context.get("request"), context.get("study")
    if request is None or not isinstance(study, Study):
        return False
    participant = context.get("participant")  # a page that has it already saves a query
    if not isinstance(participant, Participant) or participant.study_id != study.pk:
        ids = session_participant_ids(request.session)
        participant = selectors.participant_for_session(study=study, participant_ids=ids)
    return participant is not None and participant.is_preview
