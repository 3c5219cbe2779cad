"""Versioned prompt files and their loader."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from inference.prompts import PROMPTS_DIR, PromptError, available_prompts, load_prompt


@pytest.fixture
def prompt_dir(tmp_path: Path) -> Path:
    (tmp_path / "greet.v1.md").write_text("Hello $name.\n")
    (tmp_path / "greet.v2.md").write_text('Hi ${name}, about $topic: {"json": true} costs $$5.\n')
    (tmp_path / "greet.v10.md").write_text("Hey $name!\n")
    (tmp_path / "notes.txt").write_text("not a prompt")
    return tmp_path


def test_latest_version_is_the_default(prompt_dir: Path) -> None:
    prompt = load_prompt("greet", directory=prompt_dir)

    assert (prompt.name, prompt.version, prompt.ref) == ("greet", 10, "greet.v10")
    assert available_prompts(prompt_dir) == {"greet": [1, 2, 10]}


def test_a_given_version_and_its_hash(prompt_dir: Path) -> None:
    prompt = load_prompt("greet", 2, directory=prompt_dir)

    raw = (prompt_dir / "greet.v2.md").read_bytes()
    assert prompt.sha256 == hashlib.sha256(raw).hexdigest()
    assert load_prompt("greet", 2, directory=prompt_dir).sha256 == prompt.sha256
    assert prompt.sha256 != load_prompt("greet", 1, directory=prompt_dir).sha256
    assert prompt.variables == {"name", "topic"}
    assert (
        prompt.render(name="Ana", topic="sport")
        == 'Hi Ana, about sport: {"json": true} costs $5.\n'
    )


def test_missing_variable_fails_loudly(prompt_dir: Path) -> None:
    prompt = load_prompt("greet", 2, directory=prompt_dir)

    with pytest.raises(PromptError, match=r"greet\.v2 needs variable\(s\) topic"):
        prompt.render(name="Ana")


def test_unknown_prompt_or_version(prompt_dir: Path) -> None:
    with pytest.raises(PromptError, match="no prompt named 'nope'"):
        load_prompt("nope", directory=prompt_dir)
    with pytest.raises(PromptError, match=r"no version 3 \(has \[1, 2, 10\]\)"):
        load_prompt("greet", 3, directory=prompt_dir)


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("interviewer", {"question"}),
        ("canonicalisation_judge", {"card_a", "card_b", "language_a", "language_b"}),
        ("context_generation", {"question", "values", "count"}),
        ("upgrade_story", {"context", "value_a", "value_b"}),
    ],
)
def test_shipped_prompts_render(name: str, variables: set[str]) -> None:
    prompt = load_prompt(name)

    assert prompt.variables == variables
    text = prompt.render(**{v: f"<{v}>" for v in variables})
    assert "$" not in text
    assert all(f"<{v}>" in text for v in variables)
    assert (PROMPTS_DIR / f"{prompt.ref}.md").exists()


def test_interviewer_prompt_covers_the_method() -> None:
    text = load_prompt("interviewer").render(question="What should I tell her?").lower()

    for must in (
        "personal story",
        "paid attention to",
        "your guess",
        "propose_card",
        "one question at a time",
        "do not lead",
        "plain words",
        "keep to the original question",
        "several values",
    ):
        assert must in text, must
