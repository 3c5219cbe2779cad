"""Participant pages: thin adapters from HTTP to services and selectors.

Every journey page belongs to one stage; a participant who asks for another stage's page is
sent to where they are: no dead ends, and no looking ahead (other people's values and the
graph stay out of reach until the participant's own card is in).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from elicitation import client_signals, ratelimits, selectors, services
from elicitation.errors import ApplicationError
from elicitation.hygiene import parse_id, parse_ids
from elicitation.models import Interview, Participant, Study
from elicitation.participant_session import session_participant_add, session_participant_ids
from elicitation.resume_views import resume_code_for
from elicitation.schemas import SURVEY_ITEMS, SURVEY_SCALE
from elicitation.selectors import story_review
from elicitation.steps import journey_minutes
from elicitation.steps import journey_steps as _steps
from elicitation.survey_draft import survey_draft, survey_draft_clear, survey_draft_keep

Stage = Participant.Stage


def _study(slug: str) -> Study:
    study = selectors.study_get(slug=slug)
    if study is None:
        raise Http404("There is no such study.")
    return study


def _not_open(request: HttpRequest, study: Study) -> HttpResponse:
    """A draft or closed study's answer to every participant page: a page that says so."""
    return render(request, "elicitation/study_not_open.html", {"study": study}, status=403)


def participant_at(
    request: HttpRequest, slug: str, *stages: str
) -> tuple[Study, Participant] | HttpResponseRedirect:
    """The session's participant if they are at one of `stages`, else a redirect to where
    they belong (the start page for someone who has not entered, or while the study is not
    open: it says so). A finished participant may still see their last page when closed."""
    study = _study(slug)
    participant = selectors.participant_for_session(
        study=study, participant_ids=session_participant_ids(request.session)
    )
    is_open = study.is_open or (participant is not None and participant.is_preview)
    if not is_open and not (study.status == Study.Status.CLOSED and Stage.FINISHED in stages):
        return redirect("elicitation:study_start", slug=study.slug)
    if participant is None:
        return redirect("elicitation:study_start", slug=study.slug)
    if participant.stage not in stages:
        return redirect(selectors.journey_url(participant=participant))
    return study, participant


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "elicitation/home.html", {"studies": selectors.study_public_list()})


@require_http_methods(["GET", "POST"])
@client_signals.browser_cookie_ensure
@ratelimits.limit_posts("signups")
def study_start(request: HttpRequest, slug: str) -> HttpResponse:
    study = _study(slug)
    if not study.is_open:
        return _not_open(request, study)
    participant = selectors.participant_for_session(
        study=study, participant_ids=session_participant_ids(request.session)
    )
    if participant is not None:
        return redirect(selectors.journey_url(participant=participant))
    is_panel = study.participation_mode == Study.ParticipationMode.PANEL
    panel_id = request.GET.get(study.panel_param, "").strip() if is_panel else ""
    error = ""
    if is_panel and not panel_id:
        error = _(
            "This study is entered from the link your panel gave you; that link carries "
            "your participant id. Please open it again from the panel."
        )
    if request.method == "POST" and not error:
        if request.POST.get("consent") != "yes":
            error = _("Please tick the box to say you agree before you start.")
        else:
            try:
                participant = services.participant_consent(
                    study=study,
                    external_id=panel_id,
                    invite_code=request.POST.get("invite_code", ""),
                    panel_study_id=request.GET.get("STUDY_ID", ""),
                    panel_session_id=request.GET.get("SESSION_ID", ""),
                    **client_signals.participant_signals(request),
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                session_participant_add(request, participant.pk)
                return redirect(selectors.journey_url(participant=participant))
    steps = _steps(study, "consent")
    # The plan's minutes: choosing the question is part of the interview's step.
    minutes = {step.key: step.minutes for step in steps}
    minutes["interview"] += minutes["question"]
    return render(
        request,
        "elicitation/study_start.html",
        {
            "study": study,
            "questions": selectors.study_questions(study=study),
            "error": error,
            "needs_invite_code": study.participation_mode == Study.ParticipationMode.INVITE_CODES,
            "invite_code": request.POST.get("invite_code", ""),
            "steps": steps,
            "minutes": minutes,
            "minutes_total": journey_minutes(study),
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def demographics(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Stage.CONSENTED)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    questions = selectors.study_demographic_questions(study=study)
    if not questions:
        # Nothing askable (every stored definition invalid): move on rather than loop back.
        services.participant_demographics_save(participant=participant, answers={})
        return redirect("elicitation:question_choose", slug=study.slug)
    error, error_key = "", ""
    # Every answer as the list of values sent (one for all but multiple-choice questions).
    answers = {q.key: request.POST.getlist(q.key) for q in questions}
    if request.method == "POST":
        try:
            services.participant_demographics_save(participant=participant, answers=answers)
        except services.DemographicAnswerError as exc:
            error, error_key = exc.message, exc.key
        else:
            return redirect("elicitation:question_choose", slug=study.slug)
    fields = [
        {
            "q": q,
            "answer": answers[q.key][0] if answers[q.key] else "",
            "error": error if q.key == error_key else "",
            "choices": [(i, c, c in answers[q.key]) for i, c in enumerate(q.choices)],
        }
        for q in questions
    ]
    return render(
        request,
        "elicitation/demographics.html",
        {
            "study": study,
            "fields": fields,
            "error": error,
            "steps": _steps(study, "demographics"),
            "resume_code": resume_code_for(request, participant),
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def question_choose(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Stage.CONSENTED, Stage.DEMOGRAPHICS)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    if participant.stage == Stage.CONSENTED and study.demographic_questions:
        return redirect("elicitation:demographics", slug=study.slug)
    questions = selectors.study_questions(study=study)
    error = ""
    if request.method == "POST":
        question = next((q for q in questions if str(q.pk) == request.POST.get("question")), None)
        if question is None:
            error = _("Please choose one of the questions.")
        else:
            interview = services.interview_start(participant=participant, question=question)
            return redirect("elicitation:interview", interview_id=interview.pk)
    return render(
        request,
        "elicitation/question_choose.html",
        {
            "study": study,
            "questions": questions,
            "error": error,
            "steps": _steps(study, "question"),
            "resume_code": resume_code_for(request, participant),
        },
        status=400 if error else 200,
    )


def _own_interview(request: HttpRequest, interview_id: int) -> Interview:
    # Someone else's interview is "not found": its existence is not confirmed.
    interview = selectors.interview_owned(
        interview_id=interview_id, participant_ids=session_participant_ids(request.session)
    )
    if interview is None:
        raise Http404("No such interview.")
    return interview


def interview_page(request: HttpRequest, interview_id: int) -> HttpResponse:
    interview = _own_interview(request, interview_id)
    participant = interview.participant
    study = participant.study
    if not study.is_open and not participant.is_preview:
        return redirect("elicitation:study_start", slug=study.slug)
    if interview.status != Interview.Status.ACTIVE or participant.stage != Stage.INTERVIEW:
        return redirect(selectors.journey_url(participant=participant))
    return render(
        request,
        "elicitation/interview.html",
        {
            "interview": interview,
            "study": study,
            "is_offline": interview.backend == Study.InterviewerBackend.OFFLINE,
            "card_rules": services.card_rules_for_page(),
            "steps": _steps(study, "interview"),
            "resume_code": resume_code_for(request, participant),
        },
    )


@require_POST
def interview_leave(request: HttpRequest, interview_id: int) -> HttpResponse:
    interview = _own_interview(request, interview_id)
    participant = interview.participant
    if not participant.study.is_open and not participant.is_preview:
        return redirect("elicitation:study_start", slug=participant.study.slug)
    try:
        services.interview_leave_without_card(participant=participant, interview_id=interview.pk)
    except ApplicationError:
        # Not at the limit, or already closed: nothing changed, so the participant as read
        # for this request says where they belong.
        return redirect(selectors.journey_url(participant=participant))
    return redirect("elicitation:survey", slug=participant.study.slug)


# How the wise-values page writes the number of values a study shows (1 to 20).
_NUMBER_WORDS = (
    *(gettext_lazy("zero"), gettext_lazy("one"), gettext_lazy("two"), gettext_lazy("three")),
    *(gettext_lazy("four"), gettext_lazy("five"), gettext_lazy("six"), gettext_lazy("seven")),
    *(gettext_lazy("eight"), gettext_lazy("nine"), gettext_lazy("ten"), gettext_lazy("eleven")),
    *(gettext_lazy("twelve"), gettext_lazy("thirteen"), gettext_lazy("fourteen")),
    *(gettext_lazy("fifteen"), gettext_lazy("sixteen"), gettext_lazy("seventeen")),
    *(gettext_lazy("eighteen"), gettext_lazy("nineteen"), gettext_lazy("twenty")),
)


@require_http_methods(["GET", "POST"])
@ratelimits.limit_posts("votes")
def wise_values(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Stage.PICKS)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    shown = services.wise_values_draw(participant=participant)
    error = ""
    picked: list[int] = []
    if request.method == "POST":
        picked = parse_ids(request.POST.getlist("value"))
        try:
            services.wise_values_pick(participant=participant, picked_value_ids=picked)
        except ApplicationError as exc:
            error = exc.message
        else:
            return redirect("elicitation:upgrade_votes", slug=study.slug)
    required = services.wise_values_required(study=study, shown=len(shown))
    return render(
        request,
        "elicitation/wise_values.html",
        {
            "study": study,
            # Other people's values, each in the page's language where it has a translation.
            "values": selectors.values_in_order(value_ids=shown, language=get_language()),
            "picked": picked,
            "required": required,
            "is_short": len(shown) < study.wise_values_shown,
            "wanted": _NUMBER_WORDS[study.wise_values_shown]
            if study.wise_values_shown < len(_NUMBER_WORDS)
            else str(study.wise_values_shown),
            "error": error,
            "steps": _steps(study, "picks"),
            "card": selectors.participant_card(participant=participant),
            "resume_code": resume_code_for(request, participant),
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@ratelimits.limit_posts("votes")
def upgrade_votes(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Stage.VOTES)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    if participant.upgrade_hypothesis_ids is None:  # drawn once, on the first visit
        participant = services.upgrade_hypotheses_assign(participant=participant)
    drawn = participant.upgrade_hypothesis_ids or []
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("continue"):
                services.upgrade_votes_continue(participant=participant)
                return redirect("elicitation:survey", slug=study.slug)
            hypothesis = request.POST.get("hypothesis", "")
            services.upgrade_vote_submit(
                participant=participant,
                hypothesis_id=parse_id(hypothesis) or 0,
                choice=request.POST.get("choice", ""),
                reason=request.POST.get("reason", "")[:4000],
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            # Back to this page: it shows the next story, or after the last one sends the
            # participant on to the survey.
            return redirect("elicitation:upgrade_votes", slug=study.slug)
    # Every story still to judge: the page's script shows them one after another.
    screens = selectors.upgrade_screens_remaining(participant=participant, language=get_language())
    return render(
        request,
        "elicitation/upgrade_vote.html",
        {
            "study": study,
            "screens": screens,
            "participant": participant,
            "drawn": len(drawn),
            "choice": request.POST.get("choice", ""),
            "reason": request.POST.get("reason", ""),
            "error": error,
            "steps": _steps(study, "votes"),
            "resume_code": resume_code_for(request, participant),
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, slug: str) -> HttpResponse:
    found = participant_at(request, slug, Stage.SURVEY)
    if isinstance(found, HttpResponseRedirect):
        return found
    study, participant = found
    error = ""
    answers: dict[str, int] = {}
    for item in SURVEY_ITEMS:
        answer = parse_id(request.POST.get(item.key, ""))
        if answer is not None:
            answers[item.key] = answer
    comment = request.POST.get("comment", "")
    if request.method == "POST" and request.POST.get("back"):
        # Back to the stories: the answers so far wait, unchecked, for the participant's return.
        survey_draft_keep(request, participant, answers, comment)
        return redirect("elicitation:stories_review", slug=study.slug)
    if request.method == "POST":
        try:
            services.survey_submit(participant=participant, answers=answers, comment=comment)
        except ApplicationError as exc:
            error = exc.message
        else:
            survey_draft_clear(request, participant)
            return redirect("elicitation:finish", slug=study.slug)
    else:
        answers, comment = survey_draft(request, participant)
    items = [
        {
            "key": item.key,
            "statement": _(item.statement),
            "answer": answers.get(item.key),
            "is_missing": bool(error) and item.key not in answers,
        }
        for item in SURVEY_ITEMS
    ]
    return render(
        request,
        "elicitation/survey.html",
        {
            "study": study,
            "items": items,
            "scale": [(value, _(label)) for value, label in SURVEY_SCALE],
            "comment": comment,
            "error": error,
            "can_go_back": story_review.has_judged_stories(participant=participant),
            "steps": _steps(study, "survey"),
            "resume_code": resume_code_for(request, participant),
        },
        status=400 if error else 200,
    )
