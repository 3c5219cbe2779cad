"""`/s/<slug>/stories/review/`: from the survey, back to the stories the participant judged.

Each story is shown with the participant's current choice and reason and a small form of its
own; saving one changes that judgement (the same vote, never a second one) and comes back to
this page. Only at the survey step: earlier steps are sent where they belong, and a finished
participant to their last page, since a finished journey's judgements no longer change.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from elicitation import ratelimits, services
from elicitation.errors import ApplicationError
from elicitation.hygiene import parse_id
from elicitation.models import Participant
from elicitation.resume_views import resume_code_for
from elicitation.selectors.story_review import JudgedStory, stories_judged
from elicitation.steps import journey_steps
from elicitation.views import participant_at


def _story_form(
    request: HttpRequest, story: JudgedStory, error: str, saved: int | None
) -> dict[str, Any]:
    """One story's form: the stored judgement, or what was sent with its refused change."""
    if error:
        choice, reason = request.POST.get("choice", ""), request.POST.get("reason", "")
    else:
        choice, reason = story.choice, story.reason
    return {
        "story": story,
        "choice": choice,
        "reason": reason,
        "error": error,
        "is_saved": not error and story.hypothesis_id == saved,
    }


@require_http_methods(["GET", "POST"])
@ratelimits.limit_posts("votes")
def stories_review(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Participant.Stage.SURVEY)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    error, posted = "", 0
    if request.method == "POST":
        posted = parse_id(request.POST.get("hypothesis", "")) or 0
        try:
            services.upgrade_vote_revise(
                participant=participant,
                hypothesis_id=posted,
                choice=request.POST.get("choice", ""),
                reason=request.POST.get("reason", ""),
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            page = reverse("elicitation:stories_review", kwargs={"slug": study.slug})
            return redirect(f"{page}?saved={posted}#story-{posted}")
    saved = parse_id(request.GET.get("saved", ""))
    forms = [
        _story_form(request, story, error if story.hypothesis_id == posted else "", saved)
        for story in stories_judged(participant=participant, language=get_language())
    ]
    return render(
        request,
        "elicitation/stories_review.html",
        {
            "study": study,
            "forms": forms,
            # A refused change of a story not on this page: its error goes at the top.
            "error": "" if any(form["error"] for form in forms) else error,
            "steps": journey_steps(study, "votes"),
            "resume_code": resume_code_for(request, participant),
        },
        status=400 if error else 200,
    )
