"""The rubric judge that screens a confirmed values card before other participants see it:
its prompt (``card_moderation``), the JSON schema of its verdict, and the call.

The app runs its offline rules first; this judge is optional and only ever adds reasons to
hold a card. Its verdict names concerns from a fixed list, never the card's words, so the
moderation log that records it holds nothing the participant wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from inference.gateway import Gateway, Message, StructuredOutputError
from inference.prompts import load_prompt

MODERATION_PROMPT = "card_moderation"
MAX_MESSAGE_CHARS = 2000
MAX_MESSAGES = 20

Concern = Literal["instructions_to_ai", "not_about_attention", "abusive", "personal_data", "spam"]
CONCERN_LABELS: dict[str, str] = {
    "instructions_to_ai": "judge: instructions to an AI",
    "not_about_attention": "judge: not about what someone attends to",
    "abusive": "judge: abusive text",
    "personal_data": "judge: personal data",
    "spam": "judge: spam or nonsense",
}

MODERATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "is_acceptable": {"type": "boolean"},
        "concerns": {"type": "array", "items": {"type": "string", "enum": list(CONCERN_LABELS)}},
    },
    "required": ["is_acceptable", "concerns"],
    "additionalProperties": False,
}


class ModerationVerdict(BaseModel):
    is_acceptable: bool
    concerns: list[Concern]

    def reasons(self) -> list[str]:
        """Why the card is held (labels, in a stable order); empty when it may be shown. A
        verdict that rejects the card without naming a concern still holds it."""
        labels = [CONCERN_LABELS[c] for c in sorted(set(self.concerns))]
        if not self.is_acceptable and not labels:
            labels = ["judge: not acceptable"]
        return labels


def _card_text(title: str, description: str, policies: Sequence[str]) -> str:
    lines = [f"Title: {title}", f"Description: {description}", "Policies:"]
    lines += [f"- {policy}" for policy in policies]
    return "\n".join(lines)


def moderation_messages(
    *, title: str, description: str, policies: Sequence[str], participant_messages: Sequence[str]
) -> list[Message]:
    """The judge's prompt for one card (the newest messages, each cut to a bounded length)."""
    kept = [m[:MAX_MESSAGE_CHARS] for m in participant_messages[-MAX_MESSAGES:]]
    said = "\n".join(f"{n}. {text}" for n, text in enumerate(kept, start=1)) or "(none)"
    prompt = load_prompt(MODERATION_PROMPT)
    content = prompt.render(card=_card_text(title, description, policies), messages=said)
    return [{"role": "user", "content": content}]


def moderation_judge(
    gateway: Gateway,
    *,
    title: str,
    description: str,
    policies: Sequence[str],
    participant_messages: Sequence[str],
    model: str | None = None,
) -> ModerationVerdict:
    """The judge's verdict (a model call: never inside a transaction). Raises an
    ``LLMError`` (``LLMTimeout``, ``StructuredOutputError``…) when no valid verdict came."""
    messages = moderation_messages(
        title=title,
        description=description,
        policies=policies,
        participant_messages=participant_messages,
    )
    data = gateway.structured_sync(
        messages, schema=MODERATION_SCHEMA, name=MODERATION_PROMPT, model=model or None
    )
    try:
        return ModerationVerdict.model_validate(data)
    except ValidationError as error:
        raise StructuredOutputError(
            f"invalid {MODERATION_PROMPT!r} verdict: {error}", attempts=1, last_answer=None
        ) from error
