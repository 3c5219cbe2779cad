"""The ratification phase's storage: a round opened from a snapshot and its pairs file, the
pairs drawn for a participant (their own question's contexts, blind, stable), judgements
recorded once and only on drawn pairs, and the per-context report with Wilson intervals."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from elicitation import services as elicitation_services
from elicitation.models import Participant, Question, Study
from moralgraph.errors import MoralGraphError
from moralgraph.models import GraphSnapshot, RatificationJudgement
from moralgraph.selectors.ratification import (
    MAX_PAIRS_PER_PARTICIPANT,
    drawn_pairs,
    ratification_open_round,
    ratification_progress,
    ratification_report,
    wilson_interval,
)
from moralgraph.services import context_ensure
from moralgraph.services.ratification import (
    ratification_judgement_record,
    ratification_round_close,
    ratification_round_open,
)
from tests.factories import (
    make_participant,
    make_question,
    make_researcher,
    make_small_graph,
    make_study,
)

pytestmark = pytest.mark.django_db


def pair_line(
    snapshot: GraphSnapshot, context: str, n: int, extra: dict[str, Any] | None = None
) -> str:
    record = {
        "key": f"ratify|{context}|{n}",
        "context": context,
        "context_id": None,
        "question_ids": [],
        "prompt": f"Prompt {n} in {context}",
        "target_answer": f"TARGET {context} {n}",
        "baseline_answer": f"BASELINE {context} {n}",
        "value_ids": [1],
        "snapshot_content_hash": snapshot.content_hash,
        "target_model": "fake-model",
        "baseline_model": "base-model",
        **(extra or {}),
    }
    return json.dumps(record)


class World:
    def __init__(self) -> None:
        self.study: Study = make_study()
        self.mine: Question = make_question(self.study, title="Mine")
        self.other: Question = make_question(self.study, title="Other", order=1)
        _, _, self.snapshot = make_small_graph(self.study, self.mine)  # "When in doubt"
        for text, question in (("When grieving", self.mine), ("When angry", self.other)):
            context_ensure(study_id=self.study.pk, text=text, question_ids=[question.pk])

    def open(self, per_context: int = 2, contexts: tuple[str, ...] | None = None) -> None:
        contexts = contexts or ("When in doubt", "When grieving", "When angry")
        ratification_round_open(
            study_id=self.study.pk,
            snapshot_id=self.snapshot.pk,
            pairs_lines=[
                pair_line(self.snapshot, c, n) for c in contexts for n in range(per_context)
            ],
            opened_by_id=None,
        )

    def participant(self, question: Question | None = None) -> Participant:
        participant = make_participant(self.study)
        elicitation_services.interview_start(
            participant=participant, question=question or self.mine
        )
        return participant


@pytest.fixture
def world() -> World:
    return World()


def test_a_round_opens_from_the_snapshots_pairs_and_only_one_at_a_time(world: World) -> None:
    world.open()

    opened = ratification_open_round(study_id=world.study.pk)
    assert opened is not None
    assert (opened.pair_count, opened.snapshot_id) == (6, world.snapshot.pk)
    assert (opened.target_model, opened.baseline_model) == ("fake-model", "base-model")
    with pytest.raises(MoralGraphError) as refused:
        world.open()
    assert refused.value.code == "round_open"

    ratification_round_close(study_id=world.study.pk)
    assert ratification_open_round(study_id=world.study.pk) is None
    world.open()  # a new round once the last is closed
    assert ratification_open_round(study_id=world.study.pk) is not None


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ({"snapshot_content_hash": "f" * 64}, "wrong_snapshot"),
        ({"context": "When nobody asked"}, "unknown_context"),
        ({"target_answer": ""}, "bad_pairs_file"),
    ],
)
def test_a_pairs_file_that_does_not_fit_the_snapshot_is_refused(
    world: World, line: dict[str, Any], code: str
) -> None:
    with pytest.raises(MoralGraphError) as refused:
        ratification_round_open(
            study_id=world.study.pk,
            snapshot_id=world.snapshot.pk,
            pairs_lines=[pair_line(world.snapshot, "When in doubt", 0, line)],
            opened_by_id=None,
        )
    assert refused.value.code == code
    assert ratification_open_round(study_id=world.study.pk) is None


def test_a_participant_is_drawn_only_pairs_of_their_own_questions_contexts(world: World) -> None:
    world.open()
    mine, theirs = world.participant(), world.participant(world.other)

    contexts = {pair.context.text for pair, _ in drawn_pairs(participant_id=mine.pk)}
    assert contexts == {"When in doubt", "When grieving"}
    assert {p.context.text for p, _ in drawn_pairs(participant_id=theirs.pk)} == {"When angry"}
    # No interview yet: no question, nothing to judge.
    assert drawn_pairs(participant_id=make_participant(world.study).pk) == []


def test_the_blind_order_and_sides_are_stable_per_participant_and_vary_between_them(
    world: World,
) -> None:
    world.open(per_context=3)
    participants = [world.participant() for _ in range(8)]

    draws = {}
    for participant in participants:
        first = [(p.pk, left) for p, left in drawn_pairs(participant_id=participant.pk)]
        assert [(p.pk, left) for p, left in drawn_pairs(participant_id=participant.pk)] == first
        draws[participant.pk] = first
    # The side of the target's answer is drawn: both sides occur, and orders differ.
    sides = {left for draw in draws.values() for _, left in draw}
    assert sides == {True, False}
    assert len({tuple(pk for pk, _ in draw) for draw in draws.values()}) > 1
    # What the participant sees says nothing of which answer is whose, but matches the draw.
    progress = ratification_progress(participant_id=participants[0].pk)
    for shown, (pair, is_target_left) in zip(
        progress.pairs, drawn_pairs(participant_id=participants[0].pk), strict=True
    ):
        assert shown.answer_1 == (pair.target_answer if is_target_left else pair.baseline_answer)
        assert {shown.answer_1, shown.answer_2} == {pair.target_answer, pair.baseline_answer}


def test_the_draw_is_capped_and_spread_over_the_contexts(world: World) -> None:
    world.open(per_context=5)
    drawn = drawn_pairs(participant_id=world.participant().pk)
    assert len(drawn) == MAX_PAIRS_PER_PARTICIPANT
    by_context = [pair.context.text for pair, _ in drawn]
    assert by_context.count("When in doubt") == by_context.count("When grieving") == 3


def test_a_judgement_maps_the_shown_answer_to_the_target_or_the_baseline(world: World) -> None:
    world.open()
    participant = world.participant()
    pair, is_target_left = drawn_pairs(participant_id=participant.pk)[0]

    recorded = ratification_judgement_record(
        participant_id=participant.pk,
        pair_id=pair.pk,
        choice="answer_1",
        embodies_own_card="partly",
    )

    assert recorded.preferred == ("target" if is_target_left else "baseline")
    row = RatificationJudgement.objects.get(pk=recorded.id)
    assert (row.is_target_left, row.embodies_own_card) == (is_target_left, "partly")
    progress = ratification_progress(participant_id=participant.pk)
    assert (progress.judged, progress.total) == (1, 4)
    assert progress.next_pair is not None
    assert progress.next_pair.pair_id != pair.pk


def test_undrawn_pairs_double_submits_and_closed_rounds_are_refused(world: World) -> None:
    world.open()
    participant = world.participant()
    theirs = drawn_pairs(participant_id=world.participant(world.other).pk)[0][0]
    mine = drawn_pairs(participant_id=participant.pk)[0][0]

    def judge(pair_id: int, choice: str = "same", embodies: str = "yes") -> str:
        try:
            ratification_judgement_record(
                participant_id=participant.pk,
                pair_id=pair_id,
                choice=choice,
                embodies_own_card=embodies,
            )
        except MoralGraphError as error:
            return error.code
        return "recorded"

    assert judge(theirs.pk) == "not_drawn"
    assert judge(mine.pk, choice="left") == "answer_required"
    assert judge(mine.pk, embodies="maybe") == "embodiment_required"
    assert judge(mine.pk) == "recorded"
    assert judge(mine.pk, choice="answer_2") == "already_judged"
    assert RatificationJudgement.objects.filter(participant=participant).count() == 1
    ratification_round_close(study_id=world.study.pk)
    assert drawn_pairs(participant_id=participant.pk) == []  # nothing drawn once closed
    assert judge(mine.pk + 1) == "not_drawn"


def test_the_report_gives_shares_with_wilson_intervals_per_context(world: World) -> None:
    world.open(per_context=1, contexts=("When in doubt",))
    for n in range(10):
        participant = world.participant()
        pair, is_target_left = drawn_pairs(participant_id=participant.pk)[0]
        target_side = "answer_1" if is_target_left else "answer_2"
        other_side = "answer_2" if is_target_left else "answer_1"
        ratification_judgement_record(
            participant_id=participant.pk,
            pair_id=pair.pk,
            choice=target_side if n < 8 else (other_side if n == 8 else "same"),
            embodies_own_card="yes" if n < 5 else "no",
        )
    preview = world.participant()
    Participant.objects.filter(pk=preview.pk).update(is_preview=True)
    pair = drawn_pairs(participant_id=preview.pk)[0][0]
    ratification_judgement_record(
        participant_id=preview.pk, pair_id=pair.pk, choice="same", embodies_own_card="no"
    )
    round_id = ratification_open_round(study_id=world.study.pk).id  # type: ignore[union-attr]

    (report,) = ratification_report(round_id=round_id)

    assert (report.context, report.pairs, report.n) == ("When in doubt", 1, 10)
    assert (report.prefers_target.count, report.prefers_baseline.count, report.same.count) == (
        8,
        1,
        1,
    )
    assert report.prefers_target.share == pytest.approx(0.8)
    # The Wilson 95% interval of 8 of 10.
    assert (report.prefers_target.low, report.prefers_target.high) == pytest.approx(
        (0.4902, 0.9433), abs=1e-4
    )
    assert report.embodies_yes.share == pytest.approx(0.5)
    assert (report.embodies_yes.low, report.embodies_yes.high) == pytest.approx(
        (0.2366, 0.7634), abs=1e-4
    )


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 5)
    assert low == 0.0
    assert 0.4 < high < 0.5
    low, high = wilson_interval(5, 5)
    assert high == pytest.approx(1.0)
    assert 0.5 < low < 0.6


def test_the_researcher_opens_a_round_by_upload_sees_the_report_and_closes_it(
    world: World,
) -> None:
    client = Client()
    client.force_login(make_researcher(world.study))
    url = f"/research/{world.study.slug}/ratification/"
    lines = [pair_line(world.snapshot, c, 0) for c in ("When in doubt", "When grieving")]
    upload = SimpleUploadedFile("pairs.jsonl", "\n".join(lines).encode(), "application/json")

    opened = client.post(f"{url}open/", {"snapshot": world.snapshot.pk, "pairs": upload})

    assert opened.status_code == 302
    participant = world.participant()
    pair, is_target_left = drawn_pairs(participant_id=participant.pk)[0]
    ratification_judgement_record(
        participant_id=participant.pk,
        pair_id=pair.pk,
        choice="answer_1" if is_target_left else "answer_2",
        embodies_own_card="yes",
    )
    page = client.get(url).content.decode()
    assert "Close the round" in page
    row = page[page.index(f'data-context="{pair.context.text}"') :]
    assert '<td class="num" data-judgements>1</td>' in row[: row.index("</tr>")]
    assert "100% (21%–100%)" in row[: row.index("</tr>")]  # Wilson 95% of 1 of 1
    assert (
        f"/research/{world.study.slug}/ratification/"
        in client.get(f"/research/{world.study.slug}/").content.decode()
    )

    refused = client.post(
        f"{url}open/",
        {"snapshot": world.snapshot.pk, "pairs": SimpleUploadedFile("p.jsonl", b"{}")},
    )
    assert refused.status_code == 400
    assert client.post(f"{url}close/").status_code == 302
    assert ratification_open_round(study_id=world.study.pk) is None


def test_the_management_command_opens_and_closes_a_round(world: World, tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(pair_line(world.snapshot, "When in doubt", 0) + "\n")
    out = StringIO()

    call_command(
        "ratification_open", world.study.slug, snapshot=world.snapshot.pk, pairs=path, stdout=out
    )

    assert "with 1 pairs" in out.getvalue()
    with pytest.raises(CommandError, match="already open"):
        call_command("ratification_open", world.study.slug, snapshot=world.snapshot.pk, pairs=path)
    call_command("ratification_open", world.study.slug, close=True, stdout=out)
    assert ratification_open_round(study_id=world.study.pk) is None


def test_a_finished_participants_finish_page_links_to_the_round(world: World) -> None:
    client = Client()
    assert client.post(f"/s/{world.study.slug}/", {"consent": "yes"}).status_code == 302
    participant = Participant.objects.filter(study=world.study).latest("id")
    elicitation_services.interview_start(participant=participant, question=world.mine)
    Participant.objects.filter(pk=participant.pk).update(stage=Participant.Stage.FINISHED)
    finish = f"/s/{world.study.slug}/done/"
    assert "Help check the result" not in client.get(finish).content.decode()

    world.open(per_context=1)

    assert f'href="/s/{world.study.slug}/ratify/"' in client.get(finish).content.decode()
    page = client.get(f"/s/{world.study.slug}/ratify/").content.decode()
    assert "Answer 1" in page
    assert "Answer 2" in page
    assert "TARGET" in page
    assert "BASELINE" in page
    pair_id = drawn_pairs(participant_id=participant.pk)[0][0].pk
    missing = client.post(f"/s/{world.study.slug}/ratify/", {"pair": pair_id, "choice": "same"})
    assert missing.status_code == 400
    sent = {"pair": pair_id, "choice": "same", "embodies": "no"}
    assert client.post(f"/s/{world.study.slug}/ratify/", sent).status_code == 302
    assert RatificationJudgement.objects.filter(participant=participant).count() == 1


def test_leaving_the_graph_removes_the_participants_ratification_judgements(
    world: World,
) -> None:
    from moralgraph.services import participant_graph_erase

    world.open()
    participant = world.participant()
    pair, _ = drawn_pairs(participant_id=participant.pk)[0]
    ratification_judgement_record(
        participant_id=participant.pk, pair_id=pair.pk, choice="same", embodies_own_card="no"
    )
    assert RatificationJudgement.objects.filter(participant=participant).exists()
    participant_graph_erase(
        study_id=participant.study_id, participant_id=participant.pk, value_ids=[], since=None
    )
    assert not RatificationJudgement.objects.filter(participant=participant).exists()
