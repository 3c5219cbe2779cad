"""The proposed-card shape rules and the propose_card tool schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from inference.schemas import (
    CARD_SCHEMA,
    PROPOSE_CARD_TOOL,
    CardShapeError,
    card_problems,
    count_sentences,
    render_card,
    validate_card,
)

GOOD: dict[str, Any] = {
    "title": "Honest Care for Her Growth",
    "description": "Helping her notice what she really wants, e.g. on the team. "
    "Not deciding for her.",
    "policies": [
        "MOMENTS where she hesitates before speaking",
        "FEELINGS of pride in her own effort",
        "OPPORTUNITIES for her to choose for herself",
        "PEOPLE around her who see her clearly",
    ],
}


def test_a_good_card_is_accepted_and_matches_the_tool_schema() -> None:
    card = validate_card({**GOOD, "title": "  Honest  Care for Her Growth "})

    assert card.title == "Honest Care for Her Growth"
    assert card.policies == tuple(GOOD["policies"])
    jsonschema.validate(GOOD, CARD_SCHEMA)
    assert PROPOSE_CARD_TOOL["function"]["name"] == "propose_card"
    assert PROPOSE_CARD_TOOL["function"]["parameters"] is CARD_SCHEMA


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "Care"}, "the title has 1 word(s); it needs 3 to 6"),
        ({"title": "One two three four five six seven"}, "the title has 7 word(s)"),
        ({"title": " "}, "the title is missing"),
        ({"description": ""}, "the description is missing"),
        ({"description": "One. Two. Three. Four."}, "the description has 4 sentences"),
        ({"policies": GOOD["policies"][:2]}, "there are 2 policies; a card needs 3 to 7"),
        ({"policies": GOOD["policies"] * 2}, "there are 8 policies"),
        ({"policies": "MOMENTS where"}, "the policies must be a list of texts"),
        (
            {"policies": [*GOOD["policies"][:3], "moments where she laughs"]},
            "policy 4 ('moments where she laughs') does not start with a capitalised noun phrase",
        ),
        (
            {"policies": [*GOOD["policies"][:3], "SENSE of calm in her"]},
            "starts with 'SENSE', which is not a plural noun phrase",
        ),
        (
            {"policies": [*GOOD["policies"][:3], "KINDNESS toward her"]},
            "'KINDNESS', which is not a plural noun phrase",
        ),
        ({"policies": [*GOOD["policies"][:3], "MOMENTS"]}, "is only a capitalised phrase"),
        (
            {"policies": [*GOOD["policies"][:3], GOOD["policies"][0]]},
            "appears twice",
        ),
        ({"author": "model"}, "unexpected field(s) author"),
    ],
)
def test_each_shape_violation_is_named(change: dict[str, Any], message: str) -> None:
    card = {**GOOD, **change}

    with pytest.raises(CardShapeError) as caught:
        validate_card(card)

    assert any(message in problem for problem in caught.value.problems), caught.value.problems
    assert str(caught.value).startswith("The proposed card is not well-formed: ")


def test_all_problems_are_reported_at_once() -> None:
    assert len(card_problems({"title": "x", "description": "", "policies": []})) == 3


def test_multiword_capitalised_phrases_and_irregular_plurals() -> None:
    policies = [
        "SMALL MOMENTS where she lights up",
        "CHILDREN on the team who follow her",
        "WAYS she could speak up",
    ]
    assert card_problems({**GOOD, "policies": policies}) == []


@pytest.mark.parametrize(
    ("text", "sentences"),
    [("One sentence", 1), ("One. Two!", 2), ("Kind, i.e. gentle. Yes? Sure.", 3)],
)
def test_sentence_count(text: str, sentences: int) -> None:
    assert count_sentences(text) == sentences


def test_render_card_for_prompts() -> None:
    text = render_card(GOOD)
    assert text.startswith("Title: Honest Care for Her Growth\nDescription: ")
    assert "- FEELINGS of pride in her own effort" in text
