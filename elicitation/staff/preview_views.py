"""Staff preview: walk a study's journey as a participant would, in this browser, without
spending an invite code or counting anywhere (see `elicitation.services.preview`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.participant_session import session_participant_add
from elicitation.staff.access import study_required


@study_required
@require_POST
def study_preview_start(request: HttpRequest, slug: str) -> HttpResponse:
    """A fresh preview participant, in this browser's session as a consent would put one,
    and on to its first step."""
    study = selectors.study_get(slug=slug)
    if study is None:
        raise Http404("There is no such study.")
    user_id = request.user.pk
    assert user_id is not None  # `study_required` lets only logged-in staff in
    try:
        participant = services.participant_preview_start(study_id=study.pk, user_id=user_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("staff:study_participation", slug=study.slug)
    session_participant_add(request, participant.pk)
    return redirect(selectors.journey_url(participant=participant))
