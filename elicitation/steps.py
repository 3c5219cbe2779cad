"""The participant journey's progress bar, shared by its pages."""

from __future__ import annotations

from dataclasses import dataclass

from elicitation.models import Study


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # "done", "current" or "todo"


def journey_steps(study: Study, current: str) -> list[Step]:
    """The progress bar: where the participant is among the journey's steps."""
    labels = [("consent", "Welcome")]
    if study.demographic_questions:
        labels.append(("demographics", "About you"))
    labels += [
        ("question", "Question"),
        ("interview", "Interview"),
        ("picks", "Wise values"),
        ("votes", "Stories"),
        ("survey", "Survey"),
        ("finished", "Done"),
    ]
    keys = [key for key, _ in labels]
    index = keys.index(current)
    return [
        Step(label, "done" if i < index else "current" if i == index else "todo")
        for i, (_, label) in enumerate(labels)
    ]
