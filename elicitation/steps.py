"""The participant journey's progress bar, shared by its pages: each step's name and about how
many minutes it takes."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from elicitation.models import Study

# (key, label, about how many minutes it takes; 0: a moment). The total is what the start
# page promises.
_STEPS = (
    ("consent", _("Welcome"), 1),
    ("demographics", _("About you"), 1),
    ("question", _("Question"), 1),
    ("interview", _("Interview"), 8),
    ("picks", _("Wise values"), 2),
    ("votes", _("Stories"), 3),
    ("survey", _("Survey"), 1),
    ("finished", _("Done"), 0),
)


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # "done", "current" or "todo"
    minutes: int = 0
    key: str = ""


def _study_steps(study: Study) -> list[tuple[str, str, int]]:
    return [
        (key, str(label), minutes)
        for key, label, minutes in _STEPS
        if key != "demographics" or study.demographic_questions
    ]


def journey_steps(study: Study, current: str) -> list[Step]:
    """The progress bar: where the participant is among the journey's steps."""
    steps = _study_steps(study)
    index = [key for key, _label, _minutes in steps].index(current)
    return [
        Step(label, "done" if i < index else "current" if i == index else "todo", minutes, key)
        for i, (key, label, minutes) in enumerate(steps)
    ]


def journey_minutes(study: Study) -> int:
    """About how long the whole journey takes, in minutes."""
    return sum(minutes for _key, _label, minutes in _study_steps(study))
