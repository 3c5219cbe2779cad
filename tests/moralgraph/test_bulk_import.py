"""moralgraph's bulk import services: plain rows in, ids out, idempotent upserts, only the
study's own values, contexts and questions, and a rebuild requested by the votes' import."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from elicitation.models import Participant, Question, Study
from moralgraph.errors import MoralGraphError
from moralgraph.models import Context, GraphRebuildState, UpgradeVote, Value
from moralgraph.services import (
    ContextRow,
    HypothesisRow,
    SelectionRow,
    ValueRow,
    VoteRow,
    contexts_import,
    hypotheses_import,
    selections_import,
    upgrade_votes_import,
    values_import,
)

pytestmark = pytest.mark.django_db
WHEN = datetime(2023, 9, 20, 12, 0, tzinfo=UTC)


def value_row(source_id: str, title: str = "") -> ValueRow:
    return ValueRow(
        source_id=source_id,
        title=title or f"Value {source_id}",
        description="d",
        policies=("MOMENTS when …",),
        instructions_short="short",
        instructions_detailed="detailed",
        created_at=WHEN,
    )


def vote_row(participant: Participant, a: int, b: int, context: int, choice: str) -> VoteRow:
    return VoteRow(
        participant_id=participant.pk,
        from_value_id=a,
        to_value_id=b,
        context_id=context,
        story="A story.",
        choice=choice,
        reason="",
        created_at=WHEN,
        updated_at=WHEN,
    )


@pytest.fixture
def study() -> Study:
    return Study.objects.create(slug="bulk", title="Bulk")


def test_rows_in_ids_out_and_importing_again_changes_nothing(study: Study) -> None:
    question = Question.objects.create(study=study, title="Q", text="What now?")
    participant = Participant.objects.create(study=study)
    values = values_import(study_id=study.pk, values=[value_row("1"), value_row("2")])
    assert set(values) == {"1", "2"}
    assert Value.objects.get(pk=values["1"]).policies == ["MOMENTS when …"]
    contexts = contexts_import(
        study_id=study.pk, contexts=[ContextRow(text="When in doubt", question_ids=(question.pk,))]
    )
    context = Context.objects.get(pk=contexts["When in doubt"])
    assert list(context.questions.all()) == [question]
    a, b, c = values["1"], values["2"], contexts["When in doubt"]
    hypothesis = HypothesisRow(
        from_value_id=a, to_value_id=b, context_id=c, story="s", run_id="r", created_at=WHEN
    )
    assert hypotheses_import(study_id=study.pk, hypotheses=[hypothesis]) == 1
    shown = SelectionRow(
        participant_id=participant.pk,
        value_id=b,
        question_id=question.pk,
        draw_id="draw",
        is_picked=True,
        created_at=WHEN,
    )
    assert selections_import(study_id=study.pk, selections=[shown]) == 1
    assert (
        upgrade_votes_import(study_id=study.pk, votes=[vote_row(participant, a, b, c, "upgrade")])
        == 1
    )
    state = GraphRebuildState.objects.get(study=study)
    assert state.is_queued
    assert state.requested_seq == 1

    # Again, with one title changed upstream and the vote changed: same ids, rows updated.
    again = values_import(study_id=study.pk, values=[value_row("1", "Renamed"), value_row("2")])
    assert again == values
    assert Value.objects.get(pk=a).title == "Renamed"
    assert (
        contexts_import(study_id=study.pk, contexts=[ContextRow("When in doubt", ())]) == contexts
    )
    assert hypotheses_import(study_id=study.pk, hypotheses=[hypothesis]) == 1
    assert selections_import(study_id=study.pk, selections=[shown]) == 1
    votes = [vote_row(participant, a, b, c, "not_sure")]
    assert upgrade_votes_import(study_id=study.pk, votes=votes) == 1
    assert UpgradeVote.objects.get().choice == "not_sure"
    state.refresh_from_db()
    assert state.requested_seq == 2


def test_rows_may_not_point_into_another_study(study: Study) -> None:
    other = Study.objects.create(slug="other", title="Other")
    theirs = values_import(study_id=other.pk, values=[value_row("1"), value_row("2")])
    their_context = contexts_import(study_id=other.pk, contexts=[ContextRow("When lost", ())])
    their_question = Question.objects.create(study=other, title="Q", text="Theirs?")
    participant = Participant.objects.create(study=study)
    vote = vote_row(participant, theirs["1"], theirs["2"], their_context["When lost"], "upgrade")

    with pytest.raises(MoralGraphError) as error:
        upgrade_votes_import(study_id=study.pk, votes=[vote])
    assert error.value.code == "other_study"
    with pytest.raises(MoralGraphError) as error:
        contexts_import(study_id=study.pk, contexts=[ContextRow("When lost", (their_question.pk,))])
    assert error.value.code == "other_study"
    assert not UpgradeVote.objects.exists()
    assert not Context.objects.filter(study=study).exists()
    assert not GraphRebuildState.objects.filter(study=study).exists()


def test_an_unknown_choice_is_refused(study: Study) -> None:
    values = values_import(study_id=study.pk, values=[value_row("1"), value_row("2")])
    contexts = contexts_import(study_id=study.pk, contexts=[ContextRow("When lost", ())])
    participant = Participant.objects.create(study=study)
    vote = vote_row(participant, values["1"], values["2"], contexts["When lost"], "maybe")
    with pytest.raises(MoralGraphError) as error:
        upgrade_votes_import(study_id=study.pk, votes=[vote])
    assert error.value.code == "bad_choice"
    assert not UpgradeVote.objects.exists()
