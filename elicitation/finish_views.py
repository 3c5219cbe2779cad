"""The finish page: thanks, the completion code, the participant's card and where its value
sits now, then the legitimacy checks (a fair position? the same value?) and withdrawal."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from elicitation import selectors
from elicitation.models import DedupVerification, Participant, Study
from elicitation.ratification_views import ratification_available
from elicitation.services.withdrawal import participant_withdrawal_code
from elicitation.steps import journey_steps
from elicitation.views import participant_at

# What `?answered=` on the finish page thanks the participant for (after a POST, PRG).
THANKS = {
    "position": _("Thank you: your answer about your value's position is recorded."),
    "dedup": _("Thank you: your answer about the combined value is recorded."),
}
# The same-value check's answers, as the page offers them.
DEDUP_OPTION_LABELS: dict[str, object] = {
    DedupVerification.Option.SAME: _("Yes, the same value"),
    DedupVerification.Option.DIFFERENT: _("No, a different value"),
}


def finish_page(
    request: HttpRequest,
    study: Study,
    participant: Participant,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page, for a GET or for a check's form answered with an error (`errors` by form)."""
    panel = (
        selectors.panel_return(study=study, participant=participant)
        if study.participation_mode == Study.ParticipationMode.PANEL
        else None
    )
    errors = errors or {}
    answered = "" if errors else request.GET.get("answered", "")
    position = selectors.participant_graph_position(participant=participant)
    can_answer = study.is_open or participant.is_preview
    dedup_check = selectors.dedup_check(participant=participant) if can_answer else None
    # An error of a check whose form the page does not show goes at the top.
    shown = {"position": position is not None and can_answer, "dedup": dedup_check is not None}
    page_errors = [message for form, message in errors.items() if not shown.get(form)]
    return render(
        request,
        "elicitation/finish.html",
        {
            "study": study,
            "card": selectors.participant_card(participant=participant),
            "position": position,
            "completion_code": panel.code if panel else "",
            "return_url": panel.url if panel else "",
            "steps": journey_steps(study, "finished"),
            "can_answer": can_answer,
            "position_answer": selectors.position_answer(participant=participant),
            "dedup_check": dedup_check,
            "errors": errors,
            "page_errors": page_errors,
            "posted": request.POST if errors else {},
            "dedup_options": [
                (option, DEDUP_OPTION_LABELS.get(str(option), label))
                for option, label in DedupVerification.Option.choices
            ],
            "thanks": THANKS.get(answered, ""),
            "thanks_for": answered,
            "participant_is_preview": participant.is_preview,
            "can_ratify": ratification_available(participant=participant),
            "withdrawal_code": (
                ""
                if participant.is_preview
                else participant_withdrawal_code(participant=participant)
            ),
        },
        status=status,
    )


def finish(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Participant.Stage.FINISHED)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    return finish_page(request, study, participant)
