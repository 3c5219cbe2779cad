"""Participant pages: thin adapters from HTTP to services and selectors."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from elicitation import selectors, services
from elicitation.consumers import SESSION_PARTICIPANTS_KEY
from elicitation.errors import ApplicationError
from elicitation.models import Interview, Participant, Study


def _session_participant(request: HttpRequest, study: Study) -> Participant | None:
    ids = request.session.get(SESSION_PARTICIPANTS_KEY, [])
    return Participant.objects.filter(pk__in=ids, study=study).first()


def _open_study(slug: str) -> Study:
    study = selectors.study_open_get(slug=slug)
    if study is None:
        raise Http404("This study does not exist or is not open.")
    return study


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "elicitation/home.html", {"studies": selectors.study_public_list()})


@require_http_methods(["GET", "POST"])
def study_start(request: HttpRequest, slug: str) -> HttpResponse:
    study = _open_study(slug)
    participant = _session_participant(request, study)
    if participant is not None:
        return redirect("elicitation:question_choose", slug=study.slug)
    error = ""
    if request.method == "POST":
        if request.POST.get("consent") != "yes":
            error = "Please tick the box to say you agree before you start."
        else:
            external_id = (
                request.GET.get(study.panel_param, "")
                if (study.participation_mode == Study.ParticipationMode.PANEL)
                else ""
            )
            try:
                participant = services.participant_consent(study=study, external_id=external_id)
            except ApplicationError as exc:
                error = exc.message
            else:
                ids = list(request.session.get(SESSION_PARTICIPANTS_KEY, []))
                request.session[SESSION_PARTICIPANTS_KEY] = [*ids, participant.pk]
                return redirect("elicitation:question_choose", slug=study.slug)
    return render(
        request,
        "elicitation/study_start.html",
        {"study": study, "questions": selectors.study_questions(study=study), "error": error},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def question_choose(request: HttpRequest, slug: str) -> HttpResponse:
    study = _open_study(slug)
    participant = _session_participant(request, study)
    if participant is None:
        return redirect("elicitation:study_start", slug=study.slug)
    questions = selectors.study_questions(study=study)
    if request.method == "POST":
        question = get_object_or_404(study.questions, pk=request.POST.get("question"))
        interview = services.interview_start(participant=participant, question=question)
        return redirect("elicitation:interview", interview_id=interview.pk)
    return render(
        request, "elicitation/question_choose.html", {"study": study, "questions": questions}
    )


def interview_page(request: HttpRequest, interview_id: int) -> HttpResponse:
    ids = request.session.get(SESSION_PARTICIPANTS_KEY, [])
    interview = get_object_or_404(
        Interview.objects.select_related("question", "participant__study"),
        pk=interview_id,
        participant_id__in=ids,
    )
    return render(
        request,
        "elicitation/interview.html",
        {
            "interview": interview,
            "study": interview.participant.study,
            "is_offline": interview.backend == Study.InterviewerBackend.OFFLINE,
            "messages_so_far": selectors.interview_frames_after(
                interview_id=interview.pk, after_seq=0
            ),
        },
    )


def after_card(request: HttpRequest, slug: str) -> HttpResponse:
    study = _open_study(slug)
    participant = _session_participant(request, study)
    if participant is None:
        return redirect("elicitation:study_start", slug=study.slug)
    return render(
        request,
        "elicitation/after_card.html",
        {"study": study, "cards": list(participant.cards.order_by("submitted_at"))},
    )
