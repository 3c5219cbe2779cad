"""Scenario generation: per context, through the model, deduplicated by text and embedding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.cli import EXIT_OK, main
from inference.scenarios import normalise
from inference.targets import Snapshot
from inference.testing import FakeLLMServer
from inference.uncertainty import questions_for
from tests.inference_jobs.conftest import llm_args, read_jsonl


def batch_for(context: str) -> list[str]:
    return [
        f"My neighbour keeps asking me for money ({context}). Should I keep helping?",
        f"my neighbour keeps asking me for money ({context})  should i keep helping",  # same text
        f"My neighbour keeps asking me for money ({context}). Should I keep helping him?",  # near
        f"I lied to my best friend about why I missed her party ({context}). Do I tell her?",
        f"Our team lead takes credit for my work ({context}). How do I raise it?",
    ]


def test_scenarios_are_generated_per_context_and_deduplicated(
    fake_llm: FakeLLMServer, snapshot_path: Path, snapshot: Snapshot, tmp_path: Path
) -> None:
    for winner in snapshot.winners:
        fake_llm.script(
            {
                "json": {"scenarios": batch_for(winner.context)},
                "match": f"Situation: {winner.context}\n",
            }
        )
    out = tmp_path / "scenarios"

    code = main(
        [
            "scenarios",
            str(snapshot_path),
            "--out",
            str(out),
            "--per-context",
            "3",
            "--max-rounds",
            "1",
            *llm_args(fake_llm, "--embed-model", "fake-embedding"),
        ]
    )

    assert code == EXIT_OK
    scenarios = read_jsonl(out / "scenarios.jsonl")
    by_context: dict[str, list[str]] = {}
    for record in scenarios:
        by_context.setdefault(record["context"], []).append(record["text"])
        assert record["context_id"] == snapshot.context_ids[record["context"]]
    assert set(by_context) == {w.context for w in snapshot.winners}
    for context, texts in by_context.items():
        batch = batch_for(context)
        # The exact repeat and the near-duplicate are gone; order is kept.
        assert texts == [batch[0], batch[3], batch[4]]
        assert len({normalise(t) for t in texts}) == 3
    # What the model was asked: the context, the count and its own questions as examples.
    chats = fake_llm.chat_requests()
    assert len(chats) == len(snapshot.winners)
    for body in chats:
        prompt = body["messages"][-1]["content"]
        assert "Write 4 new messages" in prompt
        context = next(w.context for w in snapshot.winners if f"Situation: {w.context}\n" in prompt)
        own = questions_for(snapshot, context)
        assert own
        assert all(question in prompt for question in own)
        assert not any(q in prompt for q in snapshot.questions if q not in own)
        assert body["response_format"]["type"] == "json_schema"
    # The near-duplicate was caught by embeddings fetched through the gateway.
    embedded = [t for r in fake_llm.requests("embeddings") for t in r["body"]["input"]]
    assert any("Should I keep helping him?" in text for text in embedded)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["identity"]["snapshot_content_hash"] == snapshot.content_hash
    assert manifest["scenarios"]["total"] == 3 * len(snapshot.winners)


def test_a_short_context_gets_another_round_told_what_exists(
    fake_llm: FakeLLMServer, snapshot_path: Path, snapshot: Snapshot, tmp_path: Path
) -> None:
    first = snapshot.winners[0].context
    # Round one gives every context one scenario; round two gives the rest.
    fake_llm.script(
        *(
            {"json": {"scenarios": [f"Only one so far about {w.context}."]}, "match": w.context}
            for w in snapshot.winners
        ),
        *(
            {
                "json": {"scenarios": [f"A second, different worry, {w.context}: what now?"]},
                "match": w.context,
            }
            for w in snapshot.winners
        ),
    )

    code = main(
        [
            "scenarios",
            str(snapshot_path),
            "--out",
            str(tmp_path),
            "--per-context",
            "2",
            *llm_args(fake_llm),
        ]
    )

    assert code == EXIT_OK
    texts = [r["text"] for r in read_jsonl(tmp_path / "scenarios.jsonl") if r["context"] == first]
    assert len(texts) == 2
    second_round = [
        b["messages"][-1]["content"]
        for b in fake_llm.chat_requests()
        if f"Situation: {first}\n" in b["messages"][-1]["content"]
    ][-1]
    assert f"- Only one so far about {first}." in second_round


@pytest.mark.parametrize("text", ["Hello, World!", "  hello   world  ", "HÉLLO — world"])
def test_normalised_text_ignores_case_accents_and_punctuation(text: str) -> None:
    assert normalise(text) == "hello world"
