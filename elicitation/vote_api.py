"""`POST /s/<slug>/stories/vote`: the story page's script sends each judgement here and shows
the next story without loading the page again (the page's form still works without script).

Request: form-encoded or JSON (`{"hypothesis": 12, "choice": "upgrade", "reason": ""}`), with
the session cookie and the page's CSRF token in the `X-CSRFToken` header. Answers JSON:
200 `{"saved": true, "vote": id, "judged": n, "total": m, "next": url or null}` (`next` is
the survey's address after the last story); 400 `{"error": code, "message": text}` for a
vote that cannot be taken (nothing is stored); 409 with `next` when the participant is no
longer at this step (the page goes there); 429 past the vote limits, with `Retry-After`.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from elicitation import ratelimits, selectors
from elicitation.errors import ApplicationError
from elicitation.hygiene import parse_id
from elicitation.models import Participant
from elicitation.participant_session import session_participant_ids
from elicitation.services.story_votes import StoryVoteRefused, story_vote_cast

MAX_BODY_BYTES = 16 * 1024


def _error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, "message": message, **extra}, status=status)


def _fields(request: HttpRequest) -> dict[str, Any] | None:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None
    return request.POST.dict()


@require_POST
def story_vote(request: HttpRequest, slug: str) -> JsonResponse:
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        return _error(413, "too_large", _("That request is too large."))
    limited = ratelimits.hit("votes", ratelimits.request_keys(request))
    if limited is not None:
        response = _error(429, ratelimits.RATE_LIMITED, limited.message)
        response["Retry-After"] = str(limited.retry_after)
        return response
    fields = _fields(request)
    if fields is None:
        return _error(400, "bad_request", _("The vote could not be read; please try again."))
    hypothesis = fields.get("hypothesis")
    hypothesis_id = parse_id(str(hypothesis)) if isinstance(hypothesis, (int, str)) else None
    choice, reason = fields.get("choice", ""), fields.get("reason", "")
    if hypothesis_id is None or not isinstance(choice, str) or not isinstance(reason, str):
        return _error(400, "bad_request", _("The vote could not be read; please try again."))
    try:
        outcome = story_vote_cast(
            study_slug=slug,
            participant_ids=session_participant_ids(request.session),
            hypothesis_id=hypothesis_id,
            choice=choice,
            reason=reason,
        )
    except StoryVoteRefused as exc:
        return _error(409, exc.code, exc.message, next=_where(slug, exc.participant_id))
    except ApplicationError as exc:
        return _error(400, exc.code, exc.message)
    survey = reverse("elicitation:survey", kwargs={"slug": slug}) if outcome.done else None
    return JsonResponse(
        {
            "saved": True,
            "vote": outcome.vote_id,
            "judged": outcome.judged,
            "total": outcome.total,
            "next": survey,
        }
    )


def _where(slug: str, participant_id: int | None) -> str:
    participant = (
        Participant.objects.select_related("study").filter(pk=participant_id).first()
        if participant_id is not None
        else None
    )
    if participant is None:
        return reverse("elicitation:study_start", kwargs={"slug": slug})
    return selectors.journey_url(participant=participant)
