"""The study's report page: the figures of `manage.py study_report`, with counts and shares,
and what participants wrote about their value's position."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from elicitation import selectors
from elicitation.schemas import SURVEY_ITEMS
from elicitation.staff.access import study_required
from elicitation.staff.lookups import study_or_404


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


@study_required
@require_GET
def study_report_page(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    report = selectors.study_report(study_id=study.pk)
    fair, dedup = report["fair_position"], report["dedup_verification"]
    survey = [
        {
            "statement": item.statement,
            "key": item.key,
            **report["survey"][item.key],
            "percent": _percent(
                report["survey"][item.key]["agree"], report["survey"][item.key]["n"]
            ),
        }
        for item in SURVEY_ITEMS
    ]
    funnel = [
        {"label": selectors.FUNNEL_LABELS.get(stage, stage), "count": count}
        for stage, count in report["funnel"].items()
    ]
    context = {
        "study": study,
        "fair": {**fair, "percent": _percent(fair["yes"], fair["total"])},
        "dedup": {**dedup, "percent": _percent(dedup["same"], dedup["total"])},
        "survey": survey,
        "funnel": funnel,
        "comments": selectors.fair_position_comments(study_id=study.pk),
    }
    return render(request, "elicitation/staff/report.html", context)
