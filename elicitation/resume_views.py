"""Continuing a participation in another browser with its resume code.

The pages after consent show the participant a short code (`resume_code_for`); the code is
kept in this browser's session and only its keyed hash in the database. In another browser,
`/s/<slug>/resume/` takes the code and adds that participation to the new session, which then
carries on where the participant left off. Guesses are rate-limited ("resumes"); a wrong code,
a withdrawn participation and a code of another study all get the same answer."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from elicitation import ratelimits, selectors, services
from elicitation.models import Participant
from elicitation.participant_session import (
    session_participant_add,
    session_participant_forget,
    session_participant_ids,
)

# Session key: {participant id: the resume code shown in this browser}.
SESSION_RESUME_CODES_KEY = "resume_codes"


def resume_code_for(request: HttpRequest, participant: Participant) -> str:
    """The participant's resume code as this browser shows it, issued the first time it is
    asked for here ("" for a staff preview, which has none)."""
    if participant.is_preview or participant.withdrawn_at is not None:
        return ""
    codes: dict[str, str] = dict(request.session.get(SESSION_RESUME_CODES_KEY, {}))
    code = codes.get(str(participant.pk), "")
    current_hash = services.resume_code_hash(study_id=participant.study_id, code=code)
    if not code or current_hash != participant.resume_code_hash:
        code = services.participant_resume_code_issue(participant=participant)
        codes[str(participant.pk)] = code
        request.session[SESSION_RESUME_CODES_KEY] = codes
    return code


def _remember(request: HttpRequest, participant: Participant, code: str) -> None:
    codes: dict[str, str] = dict(request.session.get(SESSION_RESUME_CODES_KEY, {}))
    normalised = services.resume_code_normalise(code)
    codes[str(participant.pk)] = f"{normalised[:4]}-{normalised[4:]}"
    request.session[SESSION_RESUME_CODES_KEY] = codes


@require_http_methods(["GET", "POST"])
@ratelimits.limit_posts("resumes")
def resume(request: HttpRequest, slug: str) -> HttpResponse:
    study = selectors.study_get(slug=slug)
    if study is None:
        raise Http404("There is no such study.")
    code = request.POST.get("code", "")[:40]
    error = ""
    if request.method == "POST":
        participant = selectors.participant_for_resume_code(
            study=study, code_hash=services.resume_code_hash(study_id=study.pk, code=code)
        )
        if participant is None:
            error = _(
                "That resume code does not match a participation in this study. Check it and "
                "try again."
            )
        else:
            # This browser's own participation in the study (if any) gives way to the one
            # resumed: a session follows one participant per study.
            current = selectors.participant_for_session(
                study=study, participant_ids=session_participant_ids(request.session)
            )
            if current is not None and current.pk != participant.pk:
                session_participant_forget(request, current.pk)
            if participant.pk not in session_participant_ids(request.session):
                session_participant_add(request, participant.pk)
            _remember(request, participant, code)
            return redirect(selectors.journey_url(participant=participant))
    return render(
        request,
        "elicitation/resume.html",
        {"study": study, "code": code, "error": error},
        status=400 if error else 200,
    )
