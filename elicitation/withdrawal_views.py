"""Withdrawing with the code shown on the finish page: from the finish page's button or, later,
from /s/<slug>/withdraw/ by anyone who has the code. Two steps (the code, then a confirmation)
and a done page that says nothing more than that it is done. A wrong code, in any study, gets
the same answer; a code already used gets the same done page as the first time."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_http_methods

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.participant_session import session_participant_forget

TEMPLATE = "elicitation/withdraw.html"
# services.UNKNOWN_CODE, marked here for translation (the page shows it in its language).
UNKNOWN_CODE = gettext_noop("That withdrawal code does not match any participation in this study.")


@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    study = selectors.study_get(slug=slug)
    if study is None:
        raise Http404("There is no such study.")
    code = request.POST.get("code", "").strip()[:60]
    context = {"study": study, "code": code, "step": "code", "error": ""}
    if request.method == "GET":
        return render(request, TEMPLATE, context)
    if not selectors.withdrawal_code_known(study_id=study.pk, code=code):
        context["error"] = _(UNKNOWN_CODE)
        return render(request, TEMPLATE, context, status=400)
    if request.POST.get("confirm") != "yes":
        return render(request, TEMPLATE, {**context, "step": "confirm"})
    try:
        outcome = services.participant_withdraw(study_id=study.pk, code=code)
    except ApplicationError:  # the code vanished between the two reads
        return render(request, TEMPLATE, {**context, "error": _(UNKNOWN_CODE)}, status=400)
    # This browser no longer holds the participation: a new visit starts afresh.
    session_participant_forget(request, outcome.participant_id)
    return render(request, TEMPLATE, {"study": study, "step": "done", "code": "", "error": ""})
