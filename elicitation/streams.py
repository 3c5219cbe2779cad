"""Interviewer answers that outlive the socket that asked for them.

A participant's phone drops its connection mid-answer all the time. The answer keeps
streaming in this process; whoever is connected to the interview receives it (a reconnected
socket first gets the text streamed so far), and it is stored when complete. Token frames
carry the `offset` of their text in the answer, so a client that catches up never shows a
piece twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Frame = dict[str, Any]
Send = Callable[[Frame], Awaitable[None]]


@dataclass(eq=False)
class AnswerStream:
    interview_id: int
    seq: int
    sent_text: str = ""
    subscribers: set[Send] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    # Set before the final frames go out: a socket that has seen "idle" may speak at once.
    is_finished: bool = False

    async def publish(self, frame: Frame) -> None:
        """Send to every connected socket; a socket that fails is dropped, the stream goes on."""
        for send in list(self.subscribers):
            try:
                await send(frame)
            except Exception:
                log.info("interview %s: a socket went away mid-answer", self.interview_id)
                self.subscribers.discard(send)

    async def publish_tokens(self, text: str) -> None:
        frame = {
            "type": "token",
            "message_seq": self.seq,
            "offset": len(self.sent_text),
            "text": text,
        }
        self.sent_text += text
        await self.publish(frame)

    def catch_up(self) -> Frame | None:
        """The text streamed so far, for a socket that joins mid-answer."""
        if not self.sent_text:
            return None
        return {"type": "token", "message_seq": self.seq, "offset": 0, "text": self.sent_text}

    async def cancel(self) -> None:
        task = self.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


_active: dict[int, AnswerStream] = {}


def active(interview_id: int) -> AnswerStream | None:
    stream = _active.get(interview_id)
    if stream is None or stream.is_finished or (stream.task is not None and stream.task.done()):
        return None
    return stream


def start(
    *, interview_id: int, seq: int, run: Callable[[AnswerStream], Coroutine[Any, Any, None]]
) -> AnswerStream:
    """Run `run(stream)` as this interview's one answer in progress in this process."""
    if active(interview_id) is not None:
        raise RuntimeError(f"interview {interview_id} already has an answer in progress")
    stream = AnswerStream(interview_id=interview_id, seq=seq)
    _active[interview_id] = stream
    stream.task = asyncio.create_task(run(stream), name=f"interview-{interview_id}-answer")

    def forget(_: asyncio.Task[None]) -> None:
        if _active.get(interview_id) is stream:
            del _active[interview_id]

    stream.task.add_done_callback(forget)
    return stream
