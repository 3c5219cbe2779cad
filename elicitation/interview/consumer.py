"""The interview socket: a thin adapter between frames and the interview's turns.

One message is processed at a time. The interviewer's answer (`elicitation.interview.turn`)
runs in an asyncio task that "stop" cancels and a dropped connection does not: the answer goes
on, a reconnected socket catches up with it (`elicitation.interview.streams`), and it is
stored when complete. Sockets of the same interview in other server processes hear the
answer's final frames and a "stop" through the channel layer. The ORM is reached only through
services and selectors wrapped in database_sync_to_async. The frames are the models of
`elicitation.schemas`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import translation
from django.utils.translation import gettext as _
from pydantic import ValidationError

from elicitation import ratelimits, selectors, services
from elicitation.errors import ApplicationError
from elicitation.interview import streams, turn
from elicitation.interview.language import scope_language
from elicitation.participant_session import session_participant_ids
from elicitation.schemas import (
    CLIENT_FRAME_TYPES,
    MAX_FRAME_BYTES,
    ClientFrame,
    ConfirmCardFrame,
    EditCardFrame,
    ErrorFrame,
    ResumeFrame,
    ServerFrame,
    StatusFrame,
    StopFrame,
    UserMessageFrame,
    client_frame_adapter,
    frame_text,
    server_frame_adapter,
)

log = logging.getLogger(__name__)

SERVER_ERROR = "Something went wrong on our side. Your messages are saved: press “Try again”."
INTERRUPTED = (
    "The interviewer was interrupted before it could answer. Your message is saved: press "
    "“Try again”."
)


class InterviewConsumer(AsyncWebsocketConsumer):
    interview: selectors.InterviewInfo
    in_group = False
    watcher: asyncio.Task[None] | None = None
    language = "en"

    async def connect(self) -> None:
        session = self.scope.get("session")
        participant_ids = session_participant_ids(session)
        interview_id = int(self.scope["url_route"]["kwargs"]["interview_id"])
        info = await database_sync_to_async(selectors.interview_for_participant)(
            interview_id=interview_id, participant_ids=participant_ids
        )
        if info is None:
            # Not this browser's interview: refuse without saying whether it exists.
            await self.close(code=4403)
            return
        self.interview = info
        self.language = scope_language(self.scope)
        await self.accept()
        await self.channel_layer.group_add(streams.group_name(info.id), self.channel_name)
        self.in_group = True
        # An answer in progress is followed from the `resume` the client sends first: its
        # frames then come in order (the text so far, then what follows).

    async def disconnect(self, code: int) -> None:
        # The answer in progress goes on without this socket; it is stored when complete.
        if self.watcher is not None:
            self.watcher.cancel()
        if not self.in_group:
            return
        stream = streams.active(self.interview.id)
        if stream is not None:
            stream.subscribers.discard(self.send_frame)
        await self.channel_layer.group_discard(
            streams.group_name(self.interview.id), self.channel_name
        )

    async def send_frame(self, frame: ServerFrame) -> None:
        await self.send(text_data=frame_text(frame))

    async def send_error(self, code: str, message: str) -> None:
        await self.send_frame(ErrorFrame(code=code, message=message))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Messages for the participant (and the answer started here) in their page language.
        with translation.override(self.language):
            await self.receive_frame(text_data)

    async def receive_frame(self, text_data: str | None) -> None:
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
            if isinstance(frame, UserMessageFrame | ConfirmCardFrame | EditCardFrame):
                await self.require_open_study()
            if isinstance(frame, UserMessageFrame | EditCardFrame):
                await self.require_rate()
            await self.dispatch_frame(frame)
        except ApplicationError as exc:
            await self.send_error(exc.code, exc.message)
        except Exception:  # a bug: the socket stays open and says so, the log has the rest
            log.exception("interview %s: a %s frame failed", self.interview.id, frame.type)
            await self.send_error("server_error", SERVER_ERROR)

    async def require_open_study(self) -> None:
        """A draft or closed study takes no new messages or cards."""
        if not await database_sync_to_async(selectors.interview_study_is_open)(
            interview_id=self.interview.id
        ):
            raise ApplicationError(
                "study_closed", "This study is closed, so no new answers can be sent."
            )

    async def require_rate(self) -> None:
        """A message past the rate limits is refused before it is stored."""
        session = self.scope.get("session")
        client = self.scope.get("client") or ("", 0)
        keys = [
            ("ip", str(client[0] or "")),
            ("session", (getattr(session, "session_key", None) or "") if session else ""),
            ("participant", str(self.interview.participant_id)),
        ]
        limited = await sync_to_async(ratelimits.hit)("messages", keys)
        if limited is not None:
            raise ApplicationError(ratelimits.RATE_LIMITED, limited.message)

    async def dispatch_frame(self, frame: ClientFrame) -> None:
        match frame:
            case UserMessageFrame():
                await self.on_user_message(frame)
            case StopFrame():
                await self.on_stop()
            case ResumeFrame():
                await self.on_resume(frame)
            case ConfirmCardFrame():
                await self.send_frame(
                    await turn.card_confirm(
                        interview_id=self.interview.id, proposal_id=frame.proposal_id
                    )
                )
            case EditCardFrame():
                await self.on_edit_card(frame)

    async def on_edit_card(self, frame: EditCardFrame) -> None:
        """Keep the participant's edit as the card's newest version; not while the
        interviewer is answering (its answer may bring a version of its own)."""
        if await self._is_answering():
            await self.send_error(
                "busy", _("The interviewer is still answering. Wait for it, then save your card.")
            )
            return
        await self.send_frame(
            await turn.card_edit(
                interview_id=self.interview.id,
                proposal_id=frame.proposal_id,
                card=frame.card.model_dump(),
            )
        )

    async def on_resume(self, frame: ResumeFrame) -> None:
        """Replay what was stored after `after_seq`, then join the answer in progress."""
        frames = await database_sync_to_async(selectors.interview_frames_after)(
            interview_id=self.interview.id, after_seq=frame.after_seq
        )
        for replay in frames:
            await self.send_frame(replay)
        stream = streams.active(self.interview.id)
        if stream is not None:
            stream.subscribers.add(self.send_frame)
            await self.send_frame(StatusFrame(state="thinking"))
            catch_up = stream.catch_up()
            if catch_up is not None:
                await self.send_frame(catch_up)
        elif await database_sync_to_async(selectors.interview_is_answering)(
            interview_id=self.interview.id
        ):
            # Being answered in another server process: ask it to relay the answer here, and
            # watch that process's heartbeat in case it died mid-answer.
            await self.send_frame(StatusFrame(state="thinking"))
            await self.channel_layer.group_send(
                streams.group_name(self.interview.id),
                {"type": "interview.follow", "origin": streams.PROCESS_ID},
            )
            self.watch_interrupted()
        else:
            await self.end_interrupted()
            await self.send_frame(StatusFrame(state="idle"))

    def watch_interrupted(self) -> None:
        if self.watcher is None or self.watcher.done():
            self.watcher = asyncio.create_task(self._watch_interrupted())

    async def _watch_interrupted(self) -> None:
        """Follow the answer's claim until it is freed; if it goes stale instead (its server
        process died), end the answer here with what was checkpointed."""
        interview_id = self.interview.id
        try:
            while True:
                await asyncio.sleep(selectors.ANSWER_HEARTBEAT_S)
                if streams.active(interview_id) is not None:
                    return  # answered in this process now: its frames come directly
                if await database_sync_to_async(selectors.interview_is_answering)(
                    interview_id=interview_id
                ):
                    continue
                if await self.end_interrupted():
                    await self.send_frame(StatusFrame(state="idle"))
                return
        except Exception:  # the socket or the database went away: the next resume retries
            log.warning("interview %s: could not watch the answer", interview_id, exc_info=True)

    async def end_interrupted(self) -> bool:
        """End an answer whose server process went away, sending what it had said; True
        when there was one."""
        recovery = await turn.answer_recover(interview_id=self.interview.id)
        if recovery is None:
            return False
        if recovery.message is not None:
            await self.send_frame(recovery.message)
        else:
            await self.send_error("interrupted", INTERRUPTED)
        return True

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
                await self.send_frame(stored)
                return
            await self.send_error(
                "busy", "The interviewer is still answering. Wait for it, or press stop."
            )
            return
        await self.end_interrupted()  # an answer cut off by a dead process comes first
        message, is_new = await database_sync_to_async(services.interview_message_add_user)(
            interview_id=self.interview.id, client_id=frame.client_id, text=frame.text
        )
        await self.send_frame(message)
        # A resent message is stored once; it is answered again only if its answer never
        # came (the model failed, or the server went away first): that is "try again".
        if is_new or await database_sync_to_async(selectors.interview_awaits_answer)(
            interview_id=self.interview.id
        ):
            await self.start_answer()

    async def start_answer(self) -> None:
        interview_id = self.interview.id
        seq = await turn.answer_claim(interview_id=interview_id)
        if seq is None:
            return  # another socket's answer got there first; this one follows it
        stream = streams.start(
            interview_id=interview_id,
            seq=seq,
            run=self.stream_answer,
            release=partial(turn.answer_release, interview_id=interview_id),
            renew=lambda stream: turn.answer_checkpoint(
                interview_id=interview_id, seq=seq, text=stream.sent_text
            ),
            heartbeat_s=selectors.ANSWER_HEARTBEAT_S,
        )
        stream.subscribers.add(self.send_frame)

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
        for data in event["frames"]:
            await self.send_frame(server_frame_adapter.validate_python(data))

    async def stream_answer(self, stream: streams.AnswerStream) -> None:
        """Send one answer's events as frames, the last ones together when it ends; an
        answer always ends with them, whatever broke on the way."""
        final: list[ServerFrame] = []
        try:
            await self._stream_events(stream, final)
        except Exception:
            log.exception("interview %s: the answer broke", self.interview.id)
            final.append(ErrorFrame(code="answer_failed", message=turn.ANSWER_FAILED))
        if not stream.is_finished:
            await stream.finish([*final, StatusFrame(state="idle")])

    async def _stream_events(self, stream: streams.AnswerStream, final: list[ServerFrame]) -> None:
        events = turn.answer_turn(self.interview, language=self.language)
        event = await anext(events, None)
        while event is not None:
            try:
                await self.send_event(stream, event, final)
            except asyncio.CancelledError:
                # "stop" came while a frame was going out: the turn keeps what came so far.
                event = await _stop(events)
            else:
                event = await anext(events, None)

    async def send_event(
        self, stream: streams.AnswerStream, event: turn.TurnEvent, final: list[ServerFrame]
    ) -> None:
        match event:
            case turn.Thinking():
                await stream.publish(StatusFrame(state="thinking"))
            case turn.Streamed(text=text):
                await stream.publish_tokens(text)
            case turn.Retrying():
                await stream.restart(StatusFrame(state="retrying"))
            case turn.AnswerStored(message=message):
                final.append(message)
            case turn.CardStored(proposal=proposal):
                final.append(proposal)
            case turn.Failed(code=code, message=message):
                final.append(ErrorFrame(code=code, message=message))
            case turn.Ended():
                await stream.finish([*final, StatusFrame(state="idle")])


async def _stop(events: AsyncGenerator[turn.TurnEvent]) -> turn.TurnEvent | None:
    """Stop the turn where it waits, and take its next event."""
    try:
        return await events.athrow(asyncio.CancelledError())
    except StopAsyncIteration:
        return None


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in CLIENT_FRAME_TYPES)
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
