"""Interviewer answers that outlive the socket that asked for them.

A participant's phone drops its connection mid-answer all the time. The answer keeps
streaming in the server process that started it; the sockets connected to the interview
receive it (a reconnected socket first gets the text streamed so far), and it is stored when
complete. Token frames carry the `offset` of their text in the answer, so a client that
catches up never shows a piece twice.

While it streams, a heartbeat renews the interview's answer claim and checkpoints the text so
far (`elicitation.services.answer_checkpoints`): if the process dies, the claim goes stale
within seconds and a socket that reconnects ends the answer with that text, as a stopped one.

Several server processes: each answer joins its interview's group on the channel layer with a
channel of its own, so a socket that reconnects to another process can ask it to relay the
answer ("follow") and can stop it ("stop"); the answer's final frames always go to the group.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from channels.layers import get_channel_layer

from elicitation.schemas import ServerFrame, StatusFrame, TokenFrame, frame_data

log = logging.getLogger(__name__)

Send = Callable[[ServerFrame], Awaitable[None]]

# Tells this process's own broadcasts apart from other processes' on the channel layer.
PROCESS_ID = uuid.uuid4().hex


def group_name(interview_id: int) -> str:
    return f"interview-{interview_id}"


@dataclass(eq=False)
class AnswerStream:
    interview_id: int
    seq: int
    sent_text: str = ""
    subscribers: set[Send] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    # Set before the final frames go out: a socket that has seen "idle" may speak at once.
    is_finished: bool = False
    # Set when a socket in another process follows this answer: tokens go to the group too.
    is_relayed: bool = False
    # Frees the interview's answer claim; called once, before the final frames go out.
    release: Callable[[], Awaitable[None]] | None = None

    async def publish(self, frame: ServerFrame) -> None:
        """Send to this process's sockets; a socket that fails is dropped, the answer goes on."""
        for send in list(self.subscribers):
            try:
                await send(frame)
            except Exception:
                log.info("interview %s: a socket went away mid-answer", self.interview_id)
                self.subscribers.discard(send)

    async def broadcast(self, frames: list[ServerFrame]) -> None:
        """Send to the interview's sockets in other processes (through the channel layer)."""
        data = [frame_data(frame) for frame in frames]
        try:
            await get_channel_layer().group_send(
                group_name(self.interview_id),
                {"type": "interview.frames", "frames": data, "origin": PROCESS_ID},
            )
        except Exception:  # the layer is down: the answer is stored all the same
            log.warning("interview %s: could not broadcast to the group", self.interview_id)

    async def publish_tokens(self, text: str) -> None:
        frame = TokenFrame(message_seq=self.seq, offset=len(self.sent_text), text=text)
        self.sent_text += text
        await self.publish(frame)
        if self.is_relayed:
            await self.broadcast([frame])

    async def restart(self, frame: ServerFrame) -> None:
        """The answer starts again (the model is asked again for its card): the text so far
        is withdrawn, which `frame` tells the sockets; new text is placed from offset 0."""
        self.sent_text = ""
        await self.publish(frame)
        if self.is_relayed:
            await self.broadcast([frame])

    async def release_claim(self) -> None:
        release, self.release = self.release, None
        if release is not None:
            await release()

    async def finish(self, frames: list[ServerFrame]) -> None:
        """The answer's last frames. The claim is freed first: a participant who has seen
        "idle" may send the next message at once, to any process."""
        self.is_finished = True
        await self.release_claim()
        await self.broadcast(frames)
        for frame in frames:
            await self.publish(frame)

    def catch_up(self) -> TokenFrame | None:
        """The text streamed so far, for a socket that joins mid-answer."""
        if not self.sent_text:
            return None
        return TokenFrame(message_seq=self.seq, offset=0, text=self.sent_text)

    async def cancel(self) -> None:
        task = self.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _listen(self, channel: str) -> None:
        """Requests from sockets in other processes: stop this answer, or relay it."""
        layer = get_channel_layer()
        while True:
            message = await layer.receive(channel)
            if message.get("origin") == PROCESS_ID:
                continue
            if message["type"] == "interview.stop" and self.task is not None:
                self.task.cancel()
            elif message["type"] == "interview.follow" and not self.is_finished:
                self.is_relayed = True
                catch_up = self.catch_up()
                await self.broadcast(
                    [StatusFrame(state="thinking"), *([catch_up] if catch_up else [])]
                )


_active: dict[int, AnswerStream] = {}


async def _heartbeat(
    stream: AnswerStream, renew: Callable[[AnswerStream], Awaitable[None]], every_s: float
) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await renew(stream)
        except Exception:  # the database hiccuped: the next beat tries again
            log.warning("could not renew an answer's claim")


def active(interview_id: int) -> AnswerStream | None:
    """The answer in progress in this process, if any."""
    stream = _active.get(interview_id)
    if stream is None or stream.is_finished or (stream.task is not None and stream.task.done()):
        return None
    return stream


def start(
    *,
    interview_id: int,
    seq: int,
    run: Callable[[AnswerStream], Coroutine[Any, Any, None]],
    release: Callable[[], Awaitable[None]],
    renew: Callable[[AnswerStream], Awaitable[None]],
    heartbeat_s: float,
) -> AnswerStream:
    """Run `run(stream)` as this interview's answer in progress. `renew(stream)` runs every
    `heartbeat_s` while it does (it keeps the interview's answer claim fresh and the text
    streamed so far checkpointed) and `release` at the end, whatever happens (it frees the
    claim)."""
    if active(interview_id) is not None:
        raise RuntimeError(f"interview {interview_id} already has an answer in progress")
    stream = AnswerStream(interview_id=interview_id, seq=seq, release=release)
    _active[interview_id] = stream

    async def lifetime() -> None:
        layer = get_channel_layer()
        group = group_name(interview_id)
        channel = ""
        listener: asyncio.Task[None] | None = None
        heartbeat = asyncio.create_task(_heartbeat(stream, renew, heartbeat_s))
        try:
            channel = await layer.new_channel()
            await layer.group_add(group, channel)
            listener = asyncio.create_task(stream._listen(channel))
        except Exception:  # without the layer the answer still streams to this process
            log.warning("interview %s: answering without the channel layer", interview_id)
        try:
            await run(stream)
        finally:
            for helper in (heartbeat, listener):
                if helper is not None:
                    helper.cancel()
                    await asyncio.gather(helper, return_exceptions=True)
            if channel:
                try:
                    await layer.group_discard(group, channel)
                except Exception:
                    log.warning("interview %s: could not leave the group", interview_id)
            await stream.release_claim()  # when the answer ended without its final frames

    stream.task = asyncio.create_task(lifetime(), name=f"interview-{interview_id}-answer")

    def forget(_: asyncio.Task[None]) -> None:
        if _active.get(interview_id) is stream:
            del _active[interview_id]

    stream.task.add_done_callback(forget)
    return stream
