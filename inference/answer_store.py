"""Guided answers, generated once and reused by every dataset kind.

An answer is the generation model's reply to one scenario under the guidance of one value in
one context (``inference/prompts/guided_answer.v1.md`` as the system message, the scenario as
the user message). The same answer serves SFT (the winner's), DPO (either side of every edge
the value is on) and KTO (desirable or undesirable), so it is generated once per (context,
value, scenario, prompt version, model, sampling) and kept in an answers folder
(``answers.jsonl`` and its ``manifest.json``; by default ``OUT/answers/``, or the folder
``--answers`` names, which several dataset commands may share one after another).

- The folder's identity is the generation: model, prompt and its hash, temperature and
  token limit. A folder made with other settings is refused (like a dataset folder).
- An answer's key names its context, value and scenario ids and a hash of the exact
  system and user messages, so a value or scenario whose text changed is never served an
  old answer.
- Concurrent requests for one answer share one generation (a DPO run asks for a value's
  answer once per edge the value is on).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.engine import complete_text, prompt_tokens_estimate, read_records
from inference.engine.checkpoints import JobState
from inference.gateway import Gateway
from inference.prompts import Prompt, load_prompt
from inference.scenarios import Scenario
from inference.targets import ValueCard

GUIDED_PROMPT = "guided_answer"
DEFAULT_MAX_TOKENS = 700
DEFAULT_TEMPERATURE = 0.7
ANSWERS = "answers"
ANSWERS_FORMAT_VERSION = 1


@dataclass(frozen=True)
class GenerationSettings:
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float | None = DEFAULT_TEMPERATURE

    @property
    def max_words(self) -> int:
        # About 0.7 words per token, with room to finish the last sentence.
        return max(30, int(self.max_tokens * 0.6))


def guidance(prompt: Prompt, context: str, value: ValueCard, *, max_words: int) -> str:
    return prompt.render(
        context=context,
        value_title=value.title,
        value_description=value.description,
        value_policies="\n".join(f"- {policy}" for policy in value.policies),
        max_words=max_words,
    )


@dataclass(frozen=True, slots=True)
class AnswerRequest:
    context: str
    context_id: int | str
    scenario: Scenario
    value: ValueCard


class AnswerStore:
    """The answers folder of one generation setting, open for one run (it holds its lock)."""

    def __init__(
        self,
        gateway: Gateway,
        folder: Path,
        settings: GenerationSettings | None = None,
        prompt: Prompt | None = None,
    ) -> None:
        self.gateway = gateway
        self.folder = folder
        self.prompt = prompt or load_prompt(GUIDED_PROMPT)
        self.settings = settings or GenerationSettings()
        self._systems: dict[tuple[str, int], str] = {}
        self._texts: dict[str, str] = {}
        self._pending: dict[str, asyncio.Future[str]] = {}
        self._state: JobState | None = None
        self.generated = 0

    def generation(self) -> dict[str, Any]:
        """How the answers are written: recorded in every example and in the identities."""
        return {
            "model": self.gateway.model,
            "prompt": self.prompt.ref,
            "prompt_sha256": self.prompt.sha256,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }

    # -- the folder ------------------------------------------------------------------------

    def open(self, needed: Iterable[AnswerRequest]) -> None:
        """Lock the folder, check its identity and load the answers this run needs."""
        state = JobState(
            self.folder,
            ANSWERS,
            {"format_version": ANSWERS_FORMAT_VERSION, **self.generation()},
        )
        state.open()
        state.checkpoint(answers=len(state.keys))  # the identity, before the first answer
        self._state = state
        wanted = {self.key(r) for r in needed} & state.keys
        if wanted:
            for record in read_records(state.jsonl_path):
                if record["key"] in wanted:
                    self._texts[str(record["key"])] = str(record["text"])

    def close(self) -> None:
        if self._state is None:
            return
        self._state.checkpoint(answers=len(self._state.keys))
        self._state.close()
        self._state = None

    # -- answers ---------------------------------------------------------------------------

    def system_for(self, context: str, value: ValueCard) -> str:
        cache_key = (context, value.id)
        text = self._systems.get(cache_key)
        if text is None:
            text = self._systems[cache_key] = guidance(
                self.prompt, context, value, max_words=self.settings.max_words
            )
        return text

    def key(self, request: AnswerRequest) -> str:
        system = self.system_for(request.context, request.value)
        digest = hashlib.sha256(f"{system}\0{request.scenario.text}".encode()).hexdigest()
        return (
            f"answer|ctx={request.context_id}|value={request.value.id}"
            f"|scn={request.scenario.id}|h={digest[:16]}"
        )

    def has(self, request: AnswerRequest) -> bool:
        return self.key(request) in self._texts

    async def answer(self, request: AnswerRequest) -> str:
        """The stored answer, or one generated now (once, however many ask at a time)."""
        key = self.key(request)
        stored = self._texts.get(key)
        if stored is not None:
            return stored
        waiting = self._pending.get(key)
        if waiting is not None:
            # shield: one waiter's cancellation must not cancel the others' answer
            return await asyncio.shield(waiting)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._pending[key] = future
        try:
            text = await self._generate(request)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
            raise
        finally:
            del self._pending[key]
        self._store(key, request, text)
        future.set_result(text)
        return text

    async def _generate(self, request: AnswerRequest) -> str:
        messages = [
            {"role": "system", "content": self.system_for(request.context, request.value)},
            {"role": "user", "content": request.scenario.text},
        ]
        return await complete_text(
            self.gateway,
            messages,
            max_tokens=self.settings.max_tokens,
            temperature=self.settings.temperature,
        )

    def _store(self, key: str, request: AnswerRequest, text: str) -> None:
        assert self._state is not None, "open the answer store first"
        self._state.append(
            {
                "key": key,
                "context_id": request.context_id,
                "value_id": request.value.id,
                "scenario_id": request.scenario.id,
                "text": text,
            }
        )
        self._texts[key] = text
        self.generated += 1

    async def answers(self, requests: Mapping[str, AnswerRequest]) -> dict[str, str]:
        """Several answers (by role), generated side by side."""
        if len(requests) == 1:  # no task for a lone request: less CPU per example
            ((role, request),) = requests.items()
            return {role: await self.answer(request)}
        texts = await asyncio.gather(*(self.answer(r) for r in requests.values()))
        return dict(zip(requests, texts, strict=True))

    def estimate(self, requests: Iterable[AnswerRequest]) -> int:
        """Tokens the answers not yet stored may take: their prompts and longest answers."""
        missing = [r for r in requests if not self.has(r)]
        if not missing:
            return 0
        prompts = prompt_tokens_estimate(
            [self.system_for(r.context, r.value) + r.scenario.text for r in missing]
        )
        return prompts + len(missing) * self.settings.max_tokens


def _retrieve(future: asyncio.Future[str]) -> None:
    """Mark a failed shared answer's error as seen (its requester reports it)."""
    if not future.cancelled():
        future.exception()
