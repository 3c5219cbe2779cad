"""The ratification page: while the study's ratification round is open, a finished participant
checks the result. One pair at a time, for a context of their own question: the prompt and
the situation, two answers labelled "Answer 1" and "Answer 2" (which one is the graph's
alignment target is drawn per participant and never shown), and two questions. Then a
thank-you. Thin: moralgraph's ratification selectors draw the pairs and its service records
each judgement once (refusing pairs not drawn for the participant)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from elicitation import ratelimits, selectors
from elicitation.hygiene import parse_id
from elicitation.models import Participant
from elicitation.views import participant_at
from moralgraph import selectors as graph_selectors
from moralgraph import services as graph_services

PREFERENCE_OPTIONS = (
    ("answer_1", gettext_lazy("Answer 1")),
    ("answer_2", gettext_lazy("Answer 2")),
    ("same", gettext_lazy("About the same")),
)
EMBODIMENT_OPTIONS = (
    ("yes", gettext_lazy("Yes")),
    ("partly", gettext_lazy("Partly")),
    ("no", gettext_lazy("No")),
)


def ratification_available(*, participant: Participant) -> bool:
    """Whether the finish page offers "Help check the result": a round is open and it has
    pairs for a context of the participant's question."""
    return graph_selectors.ratification_progress(participant_id=participant.pk).total > 0


@require_http_methods(["GET", "POST"])
@ratelimits.limit_posts("votes")
def ratify(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Participant.Stage.FINISHED)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    error = ""
    posted = {"choice": "", "embodies": ""}
    if request.method == "POST":
        posted = {
            "choice": request.POST.get("choice", ""),
            "embodies": request.POST.get("embodies", ""),
        }
        pair_id = parse_id(request.POST.get("pair", ""))
        try:
            if pair_id is None:
                raise graph_services.MoralGraphError(
                    "not_drawn", _("That pair was not shown to you.")
                )
            graph_services.ratification_judgement_record(
                participant_id=participant.pk,
                pair_id=pair_id,
                choice=posted["choice"],
                embodies_own_card=posted["embodies"],
            )
        except graph_services.MoralGraphError as exc:
            if exc.code != "already_judged":  # a resent form: just show the next pair
                error = exc.message
        else:
            return redirect("elicitation:ratify", slug=study.slug)
    progress = graph_selectors.ratification_progress(participant_id=participant.pk)
    pair = progress.next_pair
    return render(
        request,
        "elicitation/ratify.html",
        {
            "study": study,
            "progress": progress,
            "pair": pair,
            "position": progress.judged + 1,
            "card": selectors.participant_card(participant=participant),
            "preference_options": PREFERENCE_OPTIONS,
            "embodiment_options": EMBODIMENT_OPTIONS,
            "error": error,
            "posted": posted if error else {"choice": "", "embodies": ""},
        },
        status=400 if error else 200,
    )
