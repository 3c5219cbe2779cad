"""The staff dashboard's figures for one study, as a JSON-ready dict: the same dict renders the
page's first paint and is pushed over the dashboard socket after every change
(`elicitation.staff.dashboard_consumer`). Preview walks never count.

What each figure counts:

- `funnel`: `study_funnel`, in `FUNNEL_STAGES` order with `FUNNEL_LABELS`, and each step's
  share of those who entered (a whole percent).
- `interviews_in_progress`: active interviews with a message (the participant's or the
  interviewer's) in the last `DASHBOARD_ACTIVE_WINDOW`.
- `answers_streaming`: interviews whose interviewer answer is being written right now, by the
  answer claim (`Interview.answer_started_at`, renewed while the answer streams).
- `model_calls`: interviewer answers stored in interviews run by the model backend
  (`Study.InterviewerBackend.OPENAI`): one per completed (or stopped) chat completion. Retries
  that stored nothing, and the pipeline's calls (embeddings, the judge, story generation,
  screening), are not counted here.
- `tokens`: the sum of `Interview.token_count` over interviews on the model (what the model
  reported); offline interviews spend none.
- `estimated_cost`: `tokens` / 1000 x `MGE_MODEL_COST_PER_1K_TOKENS`, as a string with two
  decimals, in whatever currency the setting is in; None while the setting is 0 (unset).
- `cards_held`, `cards_pending`: confirmed cards held for staff review, and still being
  screened.
- `participants_flagged`: participants `flagged_participants` names who are not quarantined;
  `participants_quarantined`: participants set aside by staff.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from elicitation.models import Interview, Message, Participant, Study, ValuesCard
from elicitation.selectors.funnel import FUNNEL_LABELS, FUNNEL_STAGES, study_funnel
from elicitation.selectors.integrity import flagged_participants
from elicitation.selectors.interviews import ANSWER_STALE_AFTER

# An active interview with a message this recent counts as in progress.
DASHBOARD_ACTIVE_WINDOW = timedelta(minutes=10)


def dashboard_cost_rate() -> Decimal:
    """`MGE_MODEL_COST_PER_1K_TOKENS` as a Decimal (0 when unset)."""
    return Decimal(str(getattr(settings, "MGE_MODEL_COST_PER_1K_TOKENS", 0) or 0))


def _estimated_cost(tokens: int, rate: Decimal) -> str | None:
    if rate <= 0:
        return None
    cost = Decimal(tokens) / Decimal(1000) * rate
    return str(cost.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def study_dashboard(*, study_id: int) -> dict[str, Any]:
    """The dashboard's figures for the study (see the module's docstring for each one)."""
    now = timezone.now()
    funnel = study_funnel(study_id=study_id)
    entered = funnel["entered"]
    participants = Participant.objects.filter(study_id=study_id, is_preview=False)
    interviews = Interview.objects.filter(
        participant__study_id=study_id, participant__is_preview=False
    )
    in_progress = (
        interviews.filter(
            status=Interview.Status.ACTIVE,
            messages__created_at__gte=now - DASHBOARD_ACTIVE_WINDOW,
        )
        .distinct()
        .count()
    )
    streaming = interviews.filter(answer_started_at__gte=now - ANSWER_STALE_AFTER).count()
    on_model = interviews.filter(backend=Study.InterviewerBackend.OPENAI)
    model_calls = Message.objects.filter(
        interview__in=on_model, role=Message.Role.ASSISTANT
    ).count()
    # The offline interviewer keeps a token count too (for the interview's length limit), but
    # spends no model tokens: only interviews on the model count here.
    tokens = int(on_model.aggregate(total=Sum("token_count"))["total"] or 0)
    rate = dashboard_cost_rate()
    cards = ValuesCard.objects.filter(participant__in=participants)
    flagged_ids = [
        flag.participant_id
        for flag in flagged_participants(study_id=study_id)
        if not flag.quarantined
    ]
    return {
        "study_id": study_id,
        "funnel": [
            {
                "stage": stage,
                "label": FUNNEL_LABELS[stage],
                "count": funnel[stage],
                "percent": round(100 * funnel[stage] / entered) if entered else 0,
            }
            for stage in FUNNEL_STAGES
        ],
        "interviews_in_progress": in_progress,
        "answers_streaming": streaming,
        "model_calls": model_calls,
        "tokens": tokens,
        "cost_per_1k_tokens": str(rate),
        "estimated_cost": _estimated_cost(tokens, rate),
        "cards_held": cards.filter(screening=ValuesCard.Screening.HELD).count(),
        "cards_pending": cards.filter(screening=ValuesCard.Screening.PENDING).count(),
        # A flag on a preview walk (if any) is not a participant's.
        "participants_flagged": participants.filter(pk__in=flagged_ids).count(),
        "participants_quarantined": participants.filter(quarantined_at__isnull=False).count(),
        "updated_at": now.isoformat(),
    }
