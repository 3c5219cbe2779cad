"""Writes to studies themselves: their state (draft, open, closed) and panel settings."""

from __future__ import annotations

from django.db import transaction

from elicitation.errors import ApplicationError
from elicitation.models import Study

_State = Study.Status

# Which states a study may move to from each state: a draft opens; an open study closes; a
# closed one reopens. Nothing goes back to draft once participants could have entered.
STUDY_TRANSITIONS: dict[str, frozenset[str]] = {
    _State.DRAFT: frozenset({_State.OPEN}),
    _State.OPEN: frozenset({_State.CLOSED}),
    _State.CLOSED: frozenset({_State.OPEN}),
}
_AS_NOW: dict[str, str] = {_State.DRAFT: "a draft", _State.OPEN: "open", _State.CLOSED: "closed"}
_AS_DONE: dict[str, str] = {
    _State.DRAFT: "made a draft again",
    _State.OPEN: "opened",
    _State.CLOSED: "closed",
}


@transaction.atomic
def study_state_set(*, study_id: int, state: str) -> Study:
    """Move one study to `state` if the transition is allowed; returns the study."""
    if state not in _State.values:
        raise ApplicationError("bad_status", f"Unknown study state {state!r}.")
    study = Study.objects.select_for_update().get(pk=study_id)
    if state not in STUDY_TRANSITIONS[study.status]:
        raise ApplicationError(
            "bad_transition",
            f"This study is {_AS_NOW[study.status]}, so it cannot be {_AS_DONE[state]}.",
        )
    study.status = state
    study.save(update_fields=["status", "updated_at"])
    return study


@transaction.atomic
def study_status_set(*, study_ids: list[int], status: str) -> int:
    """Move the studies to `status` where that transition is allowed (the admin's bulk
    actions). Returns how many changed; the others are left as they are."""
    if status not in _State.values:
        raise ApplicationError("bad_status", f"Unknown study status {status!r}.")
    sources = [source for source, targets in STUDY_TRANSITIONS.items() if status in targets]
    return Study.objects.filter(pk__in=study_ids, status__in=sources).update(status=status)


@transaction.atomic
def study_participation_update(
    *, study_id: int, participation_mode: str, quota: int | None
) -> Study:
    """How people enter the study, and how many may."""
    if participation_mode not in Study.ParticipationMode.values:
        raise ApplicationError("bad_mode", f"Unknown participation mode {participation_mode!r}.")
    if quota is not None and quota < 1:
        raise ApplicationError("bad_quota", "The quota must be at least 1, or empty for none.")
    study = Study.objects.select_for_update().get(pk=study_id)
    study.participation_mode = participation_mode
    study.quota = quota
    study.save(update_fields=["participation_mode", "quota", "updated_at"])
    return study


@transaction.atomic
def study_panel_settings_set(
    *, study_id: int, panel_param: str, completion_url: str, completion_code: str
) -> Study:
    """The panel's URL parameter for its participant id, and its completion URL and code as
    the panel gives them (the form checks their shape; this keeps them as given)."""
    study = Study.objects.select_for_update().get(pk=study_id)
    study.panel_param = panel_param.strip()
    study.completion_redirect_url = completion_url.strip()
    study.panel_completion_code = completion_code.strip()
    study.save(
        update_fields=[
            "panel_param",
            "completion_redirect_url",
            "panel_completion_code",
            "updated_at",
        ]
    )
    return study
