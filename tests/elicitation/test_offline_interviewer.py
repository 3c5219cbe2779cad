"""The offline interviewer: its stages, cards that pass the model's validator, different
transcripts giving different cards, and revisions on request."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from elicitation.interview.offline import (
    ASK_ATTENTION,
    ASK_MORE,
    CONFIRM_HINT,
    PROPOSE,
    offline_turn,
)
from elicitation.interview.offline_cards import card_from_answers
from inference.schemas import card_problems

FRIEND = [
    "When my best friend asked me to cover for her, I said yes and regretted it for weeks.",
    "I noticed that she was scared of losing him. I paid attention to whether the lie would "
    "hurt anyone else, and how much she trusted me.",
    "A wise person would look at the friendship over years, not just this weekend.",
]
FATHER = [
    "My dad is 84 and fell twice; he refused any help at home.",
    "His pride. Whether he still felt in charge of his own life.",
    "The small daily choices he can still make, and the risks that are growing.",
]


def test_the_stages_then_a_card_from_the_participants_words() -> None:
    assert offline_turn(user_texts=FRIEND[:1]).text == ASK_ATTENTION
    assert offline_turn(user_texts=FRIEND[:2]).text == ASK_MORE
    turn = offline_turn(user_texts=FRIEND)
    assert turn.text == PROPOSE
    assert turn.card is not None
    assert card_problems(turn.card) == []
    assert "SIGNS that she was scared of losing him" in turn.card["policies"]
    assert "QUESTIONS of whether the lie would hurt anyone else" in turn.card["policies"]
    assert "friendship" in turn.card["title"]


def test_different_transcripts_give_different_valid_cards() -> None:
    friend = card_from_answers(FRIEND)
    father = card_from_answers(FATHER)
    assert card_problems(friend) == []
    assert card_problems(father) == []
    assert friend["title"] != father["title"]
    assert not set(friend["policies"]) & set(father["policies"])
    assert "pride" in father["title"].lower()


def test_the_last_turn_proposes_at_once() -> None:
    turn = offline_turn(user_texts=FRIEND[:1], must_propose=True)
    assert turn.card is not None
    assert card_problems(turn.card) == []


def test_a_change_request_gives_a_revised_card() -> None:
    card = card_from_answers(FRIEND)
    added = offline_turn(
        user_texts=[*FRIEND, "Please add that it takes courage"], current_card=card
    )
    assert added.card is not None
    assert added.card != card
    assert card_problems(added.card) == []
    assert added.card["policies"][0] == "SIGNS that it takes courage"
    assert "courage" in added.card["title"]

    renamed = offline_turn(
        user_texts=[*FRIEND, "Call it “Loyal but honest friendship”"], current_card=card
    )
    assert renamed.card is not None
    assert renamed.card["title"] == "Loyal but honest friendship"

    removed = offline_turn(user_texts=[*FRIEND, "remove the second one"], current_card=card)
    assert removed.card is not None
    assert removed.card["policies"] == [p for i, p in enumerate(card["policies"]) if i != 1]


def test_a_card_keeps_at_least_three_lines() -> None:
    card = {**card_from_answers(FRIEND)}
    card["policies"] = card["policies"][:3]
    turn = offline_turn(user_texts=[*FRIEND, "remove the first one"], current_card=card)
    assert turn.card is None
    assert "at least three lines" in turn.text


def test_agreement_points_to_the_confirm_button() -> None:
    card = card_from_answers(FRIEND)
    assert offline_turn(user_texts=[*FRIEND, "Yes, that's it!"], current_card=card).text == (
        CONFIRM_HINT
    )
    # "yes, but…" is a change, not an agreement.
    turn = offline_turn(user_texts=[*FRIEND, "yes but add honesty"], current_card=card)
    assert turn.card is not None


@settings(max_examples=150, deadline=None)
@given(
    answers=st.lists(st.text(min_size=0, max_size=300), min_size=3, max_size=4),
    change=st.text(min_size=1, max_size=200),
)
def test_any_transcript_gives_a_valid_card_and_revision(answers: list[str], change: str) -> None:
    card = card_from_answers(answers)
    assert card_problems(card) == []
    turn = offline_turn(user_texts=[*answers, change], current_card=card)
    if turn.card is not None:
        assert card_problems(turn.card) == []
