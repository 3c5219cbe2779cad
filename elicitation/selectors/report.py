"""The study's report: the legitimacy checks (a fair position? the same value?), the survey
and the funnel, for `manage.py study_report` and the staff report page. Real participants only:
preview walks are never counted, nor the answers of participants who withdrew."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from elicitation.models import (
    DedupVerification,
    PositionVerification,
    SurveyResponse,
)
from elicitation.schemas import SURVEY_ITEMS
from elicitation.selectors.funnel import study_funnel


@dataclass(frozen=True)
class FairPositionComment:
    is_fair: bool
    comment: str
    created_at: datetime


def _counted(model: Any, study_id: int) -> QuerySet[Any]:
    """The rows of `model` (with a `participant`) that the report counts."""
    return model.objects.filter(
        participant__study_id=study_id,
        participant__is_preview=False,
        participant__withdrawn_at__isnull=True,
    )


def fair_position_counts(*, study_id: int) -> dict[str, int]:
    counts = _counted(PositionVerification, study_id).aggregate(
        yes=Count("pk", filter=Q(is_fair=True)), total=Count("pk")
    )
    return {"yes": counts["yes"], "no": counts["total"] - counts["yes"], "total": counts["total"]}


def dedup_verification_counts(*, study_id: int) -> dict[str, int]:
    same = DedupVerification.Option.SAME
    counts = _counted(DedupVerification, study_id).aggregate(
        same=Count("pk", filter=Q(option=same)), total=Count("pk")
    )
    return {
        "same": counts["same"],
        "different": counts["total"] - counts["same"],
        "total": counts["total"],
    }


def survey_summary(*, study_id: int) -> dict[str, dict[str, Any]]:
    """Per survey item (in SURVEY_ITEMS order): how many answered (n), how many answered 4 or
    5 (agree) and their share of n (0.0 when no one answered)."""
    rows = (
        _counted(SurveyResponse, study_id)
        .filter(item__in=[item.key for item in SURVEY_ITEMS], answer__isnull=False)
        .values("item")
        .annotate(n=Count("pk"), agree=Count("pk", filter=Q(answer__gte=4)))
    )
    by_item = {row["item"]: row for row in rows}
    summary: dict[str, dict[str, Any]] = {}
    for item in SURVEY_ITEMS:
        row = by_item.get(item.key, {"n": 0, "agree": 0})
        n, agree = int(row["n"]), int(row["agree"])
        summary[item.key] = {"n": n, "agree": agree, "share_4_5": agree / n if n else 0.0}
    return summary


def fair_position_comments(*, study_id: int) -> list[FairPositionComment]:
    """What participants wrote with their answer to "is this a fair position?", newest first."""
    rows = _counted(PositionVerification, study_id).exclude(comment="").order_by("-created_at")
    return [
        FairPositionComment(is_fair=row.is_fair, comment=row.comment, created_at=row.created_at)
        for row in rows
    ]


def study_report(*, study_id: int) -> dict[str, Any]:
    """The report's figures, JSON-ready: counts (with shares for the survey) and the funnel."""
    return {
        "fair_position": fair_position_counts(study_id=study_id),
        "dedup_verification": dedup_verification_counts(study_id=study_id),
        "survey": survey_summary(study_id=study_id),
        "funnel": study_funnel(study_id=study_id),
    }
