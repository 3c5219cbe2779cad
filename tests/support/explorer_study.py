"""A small study for the graph explorer's tests: three values, two contexts, votes, an upgrade
story per edge and the canonicalisation decisions that put raw cards into a value."""

from __future__ import annotations

from dataclasses import dataclass

from elicitation.models import Participant, Question, Study
from moralgraph import services
from moralgraph.graph import Params
from moralgraph.models import CanonicalisationDecision, GraphSnapshot, UpgradeHypothesis, Value
from moralgraph.services import snapshots

FAST = Params(
    mode="reference", bootstrap=0, grid_min_wiser=(), grid_min_likelihood=(), grid_max_entropy=()
)
DOUBT = "When in doubt"
GRIEF = "When someone is grieving"
MERGED_CARD = "Raw card: <i>being there</i> & listening"
STORY_DOUBT = "She stopped rushing to fix things and <b>stayed</b> with him."
STORY_GRIEF = "He found that calm alone was not enough; courage mattered."


@dataclass
class ExplorerStudy:
    study: Study
    values: list[Value]  # honest care, calm presence (with HTML), courage
    context_ids: dict[str, int]
    snapshot: GraphSnapshot


def explorer_study_build(slug: str = "explore") -> ExplorerStudy:
    study = Study.objects.create(slug=slug, title="An explorable study")
    question = Question.objects.create(study=study, title="Q", text="What now?")
    context_ids = {
        text: services.context_ensure(study_id=study.pk, text=text, question_ids=[question.pk])
        for text in (DOUBT, GRIEF)
    }
    values = [
        Value.objects.create(study=study, title=title, description=text, policies=policies)
        for title, text, policies in [
            ("Honest care", "Caring by telling the truth.", ["TRUTHS that are kind"]),
            ("Calm <b>presence</b>", "Being there & listening.", ["MOMENTS of <quiet>"]),
            ("Courage", "Facing what is hard.", ["FEARS worth facing"]),
        ]
    ]
    _votes(study, values[0], values[1], context_ids[DOUBT])
    _votes(study, values[1], values[2], context_ids[GRIEF])
    for (a, b), context, story in [((0, 1), DOUBT, STORY_DOUBT), ((1, 2), GRIEF, STORY_GRIEF)]:
        UpgradeHypothesis.objects.create(
            study=study,
            from_value=values[a],
            to_value=values[b],
            context_id=context_ids[context],
            story=story,
            run_id="test",
        )
    for card_id, title, is_merged in [(9001, "Calm presence", False), (9002, MERGED_CARD, True)]:
        CanonicalisationDecision.objects.create(
            study=study,
            card_id=card_id,
            card_title=title,
            value=values[1],
            is_merged=is_merged,
            judge="offline rule",
            reason="the same attention" if is_merged else "no candidate close enough",
        )
    snapshot = snapshots.snapshot_build(study_id=study.pk, params=FAST)
    return ExplorerStudy(study, values, context_ids, snapshot)


def _votes(study: Study, from_value: Value, to_value: Value, context_id: int, n: int = 3) -> None:
    for _ in range(n):
        participant = Participant.objects.create(study=study)
        services.upgrade_vote_cast(
            participant_id=participant.pk,
            from_value_id=from_value.pk,
            to_value_id=to_value.pk,
            context_id=context_id,
            choice="upgrade",
        )
