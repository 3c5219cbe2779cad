"""The moderation queue of a study: cards held by screening (or waiting for approval) with
Approve / Reject, cards recently shown to other participants (which may still be rejected),
and the log of recent decisions. Thin: the form checks the input, services write."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.models import Study
from elicitation.staff.access import study_required
from elicitation.staff.lookups import study_or_404
from elicitation.staff.moderation_forms import CardDecisionForm

TEMPLATE = "elicitation/staff/moderation.html"


def _page(
    request: HttpRequest, study: Study, bound: CardDecisionForm | None = None
) -> HttpResponse:
    """The queue; `bound` is a rejected decision's form with its error, shown on its card."""
    context = {
        "study": study,
        "waiting": selectors.moderation_cards_waiting(study_id=study.pk),
        "shown": selectors.moderation_cards_recently_shown(study_id=study.pk),
        "log": selectors.moderation_log(study_id=study.pk),
        "bound": bound,
        "bound_card": bound.data.get("card") if bound is not None else None,
        "is_staff_approval": study.card_review == Study.CardReview.STAFF_APPROVAL,
    }
    return render(request, TEMPLATE, context, status=400 if bound is not None else 200)


def _actor_id(request: HttpRequest) -> int:
    """The signed-in staff member (the access decorators let no one else through)."""
    actor_id = request.user.pk
    assert actor_id is not None
    return int(actor_id)


@study_required
def moderation(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, study_or_404(slug))


@study_required
@require_POST
def moderation_decide(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    form = CardDecisionForm(request.POST)
    if not form.is_valid():
        return _page(request, study, form)
    card_id = form.cleaned_data["card"]
    try:
        if form.cleaned_data["decision"] == "approve":
            card = services.values_card_approve(
                study_id=study.pk, card_id=card_id, actor_id=_actor_id(request)
            )
            note = f"“{card.title}” approved: other participants can now be shown it."
        else:
            card = services.values_card_reject(
                study_id=study.pk,
                card_id=card_id,
                actor_id=_actor_id(request),
                reason=form.cleaned_data["reason"],
            )
            note = f"“{card.title}” rejected: no other participant will be shown it."
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, note)
    return redirect("staff:moderation", slug=study.slug)
