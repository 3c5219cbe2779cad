"""Small factories for test data: real rows through the real services where one exists."""

from __future__ import annotations

import itertools
import uuid
from typing import Any
from unittest import mock

from django.contrib.auth import get_user_model

from elicitation import services
from elicitation.models import Interview, Participant, Question, Study
from moralgraph import services as graph_services
from moralgraph.graph import Params
from moralgraph.models import GraphRebuildState, GraphSnapshot, Value
from moralgraph.services import snapshots

_counter = itertools.count(1)


def make_study(**overrides: object) -> Study:
    n = next(_counter)
    fields: dict[str, object] = {
        "slug": f"study-{n}",
        "title": f"Study {n}",
        "welcome_text": "Welcome.",
        "consent_text": "You agree to take part.",
        "status": Study.Status.OPEN,
    }
    fields.update(overrides)
    return Study.objects.create(**fields)


def make_question(study: Study, **overrides: object) -> Question:
    fields: dict[str, object] = {
        "title": "A hard question",
        "text": "My friend asked me to lie for her. What should I do?",
        "order": 0,
    }
    fields.update(overrides)
    return Question.objects.create(study=study, **fields)


def make_participant(study: Study) -> Participant:
    return services.participant_consent(study=study)


def make_interview(study: Study | None = None) -> Interview:
    study = study or make_study()
    question = make_question(study)
    participant = make_participant(study)
    return services.interview_start(participant=participant, question=question)


def make_told_interview(
    study: Study, question: Question, said: list[str], *, reply: str = "Tell me more."
) -> Interview:
    """A new participant's interview on `question` in which they said each line of `said`,
    each answered by the interviewer with `reply`."""
    interview = services.interview_start(participant=make_participant(study), question=question)
    for text in said:
        services.interview_message_add_user(
            interview_id=interview.pk, client_id=uuid.uuid4(), text=text
        )
        services.interview_answer_store(interview_id=interview.pk, text=reply)
    return interview


def make_user(*, is_staff: bool = False) -> Any:
    """A user who can log in; `is_staff` for the staff pages."""
    n = next(_counter)
    return get_user_model().objects.create_user(
        f"user-{n}", password="a-long-passphrase-123", is_staff=is_staff
    )


def make_admin() -> Any:
    """An admin: a superuser, who sees and runs every study."""
    n = next(_counter)
    return get_user_model().objects.create_superuser(f"admin-{n}", password="a-long-passphrase-123")


def make_researcher(study: Study | None = None, *studies: Study) -> Any:
    """A researcher: a staff user who is a member of `study` (and any further `studies`)."""
    user = make_user(is_staff=True)
    for each in (study, *studies):
        if each is not None:
            services.study_member_add(study_id=each.pk, username=user.username, added_by_id=None)
    return user


# Snapshot parameters for small tests: reference mode, no bootstrap, no sensitivity grid.
FAST_PARAMS = Params(
    mode="reference", bootstrap=0, grid_min_wiser=(), grid_min_likelihood=(), grid_max_entropy=()
)


def make_small_graph(study: Study, question: Question) -> tuple[int, int, GraphSnapshot]:
    """A context of the question and a snapshot of the study that keeps one edge (three votes
    from two values' first to its second), built through the services: the context's id, the
    first value's id and the snapshot."""
    context_id = graph_services.context_ensure(
        study_id=study.pk, text="When in doubt", question_ids=[question.pk]
    )
    a, b = (
        Value.objects.create(study=study, title=t, description="d", policies=["MOMENTS of P"])
        for t in ("Honest loyalty", "Caring candour")
    )
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
        for _ in range(3):
            graph_services.upgrade_vote_cast(
                participant_id=Participant.objects.create(study=study).pk,
                from_value_id=a.pk,
                to_value_id=b.pk,
                context_id=context_id,
                choice="upgrade",
            )
    return context_id, a.pk, snapshots.snapshot_build(study_id=study.pk, params=FAST_PARAMS)


def rebuild_requests(study_id: int) -> int:
    """How many rebuilds of the study's graph have been requested so far (0 before the first
    request: the state row appears with it)."""
    state = GraphRebuildState.objects.filter(study_id=study_id).first()
    return state.requested_seq if state is not None else 0
