"""The finish page's two checks, answered by POST and sent back to the finish page with a
thank-you (post/redirect/get), or shown again with the error."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from elicitation.errors import ApplicationError
from elicitation.finish_views import finish_page
from elicitation.models import Participant
from elicitation.services.legitimacy import dedup_verify, position_verify
from elicitation.views import participant_at

FAIR_ANSWERS = {"yes": True, "no": False}


def _thanks(slug: str, answered: str) -> HttpResponseRedirect:
    return redirect(f"{reverse('elicitation:finish', kwargs={'slug': slug})}?answered={answered}")


@require_POST
def position_answer(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Participant.Stage.FINISHED)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    is_fair = FAIR_ANSWERS.get(request.POST.get("is_fair", ""))
    try:
        if is_fair is None:
            raise ApplicationError("answer_required", _("Please choose yes or no."))
        position_verify(
            participant=participant,
            is_fair=is_fair,
            comment=request.POST.get("comment", ""),
        )
    except ApplicationError as exc:
        return finish_page(
            request, study, participant, errors={"position": exc.message}, status=400
        )
    return _thanks(study.slug, "position")


@require_POST
def dedup_answer(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Participant.Stage.FINISHED)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    try:
        dedup_verify(participant=participant, option=request.POST.get("option", ""))
    except ApplicationError as exc:
        return finish_page(request, study, participant, errors={"dedup": exc.message}, status=400)
    return _thanks(study.slug, "dedup")
