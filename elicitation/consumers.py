"""The interview socket (DESIGN §4.1): a thin adapter between frames and services.

One message is processed at a time. The interviewer's answer streams in an asyncio task that
"stop" cancels and a dropped connection does not: the answer goes on, a reconnected socket
catches up with it (`elicitation.streams`), and it is stored when complete. Sockets of the
same interview in other server processes hear the answer's final frames and a "stop" through
the channel layer. The ORM is reached only through services and selectors wrapped in
database_sync_to_async.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from pydantic import ValidationError

from elicitation import interviewer, selectors, services, streams
from elicitation.errors import ApplicationError
from elicitation.schemas import (
    CLIENT_FRAME_TYPES,
    MAX_FRAME_BYTES,
    ConfirmCardFrame,
    ResumeFrame,
    StopFrame,
    UserMessageFrame,
    client_frame_adapter,
)

log = logging.getLogger(__name__)

# Tokens are coalesced: at most one token frame per stream every this many seconds.
TOKEN_FLUSH_S = 0.1
SESSION_PARTICIPANTS_KEY = "participant_ids"


class InterviewConsumer(AsyncWebsocketConsumer):
    interview: selectors.InterviewInfo
    in_group = False

    async def connect(self) -> None:
        session = self.scope.get("session")
        participant_ids = list(session.get(SESSION_PARTICIPANTS_KEY, [])) if session else []
        interview_id = int(self.scope["url_route"]["kwargs"]["interview_id"])
        info = await database_sync_to_async(selectors.interview_for_participant)(
            interview_id=interview_id, participant_ids=participant_ids
        )
        if info is None:
            # Not this browser's interview: refuse without saying whether it exists.
            await self.close(code=4403)
            return
        self.interview = info
        await self.accept()
        await self.channel_layer.group_add(streams.group_name(info.id), self.channel_name)
        self.in_group = True
        stream = streams.active(info.id)
        if stream is not None:
            stream.subscribers.add(self.send_json)

    async def disconnect(self, code: int) -> None:
        # The answer in progress goes on without this socket; it is stored when complete.
        if not self.in_group:
            return
        stream = streams.active(self.interview.id)
        if stream is not None:
            stream.subscribers.discard(self.send_json)
        await self.channel_layer.group_discard(
            streams.group_name(self.interview.id), self.channel_name
        )

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame))

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.send_error("binary_frame", "Frames must be JSON text.")
            return
        if len(text_data.encode()) > MAX_FRAME_BYTES:
            await self.send_error("frame_too_large", "That message is too long to send.")
            return
        try:
            raw = json.loads(text_data)
        except json.JSONDecodeError:
            await self.send_error("malformed_frame", "The frame is not valid JSON.")
            return
        if not isinstance(raw, dict) or raw.get("type") not in CLIENT_FRAME_TYPES:
            await self.send_error("unknown_type", "Unknown frame type.")
            return
        try:
            frame = client_frame_adapter.validate_python(raw)
        except ValidationError as exc:
            await self.send_error("invalid_frame", _describe(exc))
            return
        try:
            await self.dispatch_frame(frame)
        except ApplicationError as exc:
            await self.send_error(exc.code, exc.message)

    async def dispatch_frame(
        self, frame: UserMessageFrame | StopFrame | ConfirmCardFrame | ResumeFrame
    ) -> None:
        match frame:
            case UserMessageFrame():
                await self.on_user_message(frame)
            case StopFrame():
                await self.on_stop()
            case ResumeFrame():
                await self.on_resume(frame)
            case ConfirmCardFrame():
                card = await database_sync_to_async(services.values_card_submit)(
                    interview_id=self.interview.id, proposal_id=frame.proposal_id
                )
                await self.send_json(
                    {
                        "type": "card_submitted",
                        "card_id": card.pk,
                        "next": interviewer.next_url(card),
                    }
                )

    async def on_resume(self, frame: ResumeFrame) -> None:
        """Replay what was stored after `after_seq`, then join the answer in progress."""
        frames = await database_sync_to_async(selectors.interview_frames_after)(
            interview_id=self.interview.id, after_seq=frame.after_seq
        )
        for replay in frames:
            await self.send_json(replay)
        stream = streams.active(self.interview.id)
        if stream is not None:
            stream.subscribers.add(self.send_json)
            await self.send_json({"type": "status", "state": "thinking"})
            catch_up = stream.catch_up()
            if catch_up is not None:
                await self.send_json(catch_up)
        elif await database_sync_to_async(selectors.interview_is_answering)(
            interview_id=self.interview.id
        ):
            # Being answered in another server process: ask it to relay the answer here.
            await self.send_json({"type": "status", "state": "thinking"})
            await self.channel_layer.group_send(
                streams.group_name(self.interview.id),
                {"type": "interview.follow", "origin": streams.PROCESS_ID},
            )
        else:
            await self.send_json({"type": "status", "state": "idle"})

    async def _is_answering(self) -> bool:
        return streams.active(self.interview.id) is not None or await database_sync_to_async(
            selectors.interview_is_answering
        )(interview_id=self.interview.id)

    async def on_user_message(self, frame: UserMessageFrame) -> None:
        if await self._is_answering():
            stored = await database_sync_to_async(selectors.interview_message_frame)(
                interview_id=self.interview.id, client_id=frame.client_id
            )
            if stored is not None:
                # Resent after a reconnect: it is being answered already.
                await self.send_json(stored)
                return
            await self.send_error(
                "busy", "The interviewer is still answering. Wait for it, or press stop."
            )
            return
        message, is_new = await database_sync_to_async(services.interview_message_add_user)(
            interview_id=self.interview.id, client_id=frame.client_id, text=frame.text
        )
        await self.send_json(message)
        # A resent message is stored once; it is answered again only if its answer never
        # came (the model failed, or the server went away first): that is "try again".
        if is_new or await database_sync_to_async(selectors.interview_awaits_answer)(
            interview_id=self.interview.id
        ):
            await self.start_answer()

    async def start_answer(self) -> None:
        interview_id = self.interview.id
        if not await database_sync_to_async(services.interview_answer_claim)(
            interview_id=interview_id
        ):
            return  # another socket's answer got there first; this one follows it
        seq = await database_sync_to_async(selectors.interview_next_seq)(interview_id=interview_id)

        async def release() -> None:
            await database_sync_to_async(services.interview_answer_release)(
                interview_id=interview_id
            )

        async def renew() -> None:
            await database_sync_to_async(services.interview_answer_renew)(interview_id=interview_id)

        stream = streams.start(
            interview_id=interview_id,
            seq=seq,
            run=self.stream_answer,
            release=release,
            renew=renew,
            heartbeat_s=selectors.ANSWER_HEARTBEAT_S,
        )
        stream.subscribers.add(self.send_json)

    async def on_stop(self) -> None:
        stream = streams.active(self.interview.id)
        if stream is not None:
            await stream.cancel()
        else:
            # The answer may be streaming in another server process: it hears the group.
            await self.channel_layer.group_send(
                streams.group_name(self.interview.id),
                {"type": "interview.stop", "origin": streams.PROCESS_ID},
            )

    async def interview_stop(self, event: dict[str, Any]) -> None:
        """For the answer's own channel; sockets have nothing to do."""

    async def interview_follow(self, event: dict[str, Any]) -> None:
        """For the answer's own channel; sockets have nothing to do."""

    async def interview_frames(self, event: dict[str, Any]) -> None:
        """An answer's frames from another process (this process's sockets get them directly)."""
        if event.get("origin") == streams.PROCESS_ID:
            return
        for frame in event["frames"]:
            await self.send_json(frame)

    async def stream_answer(self, stream: streams.AnswerStream) -> None:
        """Stream one interviewer answer; store it when complete, or what came when stopped."""
        started = time.monotonic()
        parts: list[str] = []
        pending: list[str] = []
        last_flush = 0.0
        tokens = 0
        card: interviewer.CardProposed | None = None
        card_failed: interviewer.CardFailed | None = None
        stopped = False
        failed: interviewer.InterviewerFailure | None = None
        final: list[dict[str, Any]] = []
        await stream.publish({"type": "status", "state": "thinking"})
        try:
            history = await database_sync_to_async(selectors.interview_history)(
                interview_id=self.interview.id
            )
            async for event in interviewer.reply(self.interview, history):
                match event:
                    case interviewer.Token(text=text):
                        parts.append(text)
                        pending.append(text)
                        now = time.monotonic()
                        if now - last_flush >= TOKEN_FLUSH_S:
                            await stream.publish_tokens("".join(pending))
                            pending.clear()
                            last_flush = now
                    case interviewer.Used(tokens=used):
                        tokens += used
                    case interviewer.Retrying():
                        await stream.publish({"type": "status", "state": "retrying"})
                    case interviewer.CardProposed():
                        card = event
                    case interviewer.CardFailed():
                        card_failed = event
        except asyncio.CancelledError:
            stopped = True
        except interviewer.InterviewerFailure as exc:
            failed = exc
        if pending and not stopped:
            await stream.publish_tokens("".join(pending))
        text = "".join(parts)
        if stopped:
            card = None  # a stopped answer proposes nothing
        elif card is not None and not text.strip():
            text = interviewer.CARD_ONLY_TEXT
        if not text:
            # Nothing to store: the participant's message stays unanswered and can be retried.
            error = failed or interviewer.InterviewerFailure(
                "empty_answer", "The interviewer gave no answer. Press “Try again”."
            )
            if not stopped or failed is not None:
                final.append({"type": "error", "code": error.code, "message": error.message})
            final.append({"type": "status", "state": "idle"})
            await stream.finish(final)
            return
        message, proposal = await database_sync_to_async(services.interview_answer_store)(
            interview_id=self.interview.id,
            text=text,
            is_stopped=stopped or failed is not None,
            card=card.card if card else None,
            tool_call=card.tool_call if card else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            tokens=tokens or len(parts),
        )
        final.append(message)
        if proposal is not None:
            final.append(proposal)
        if failed is not None:
            final.append({"type": "error", "code": failed.code, "message": failed.message})
        if card_failed is not None:
            final.append(
                {"type": "error", "code": card_failed.code, "message": card_failed.message}
            )
        final.append({"type": "status", "state": "idle"})
        await stream.finish(final)


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in CLIENT_FRAME_TYPES)
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
