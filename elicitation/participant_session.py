"""Which participants this browser session holds: the ids the journey pages, the interview
socket, the preview banner and withdrawal read and write, under one session key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

SESSION_PARTICIPANTS_KEY = "participant_ids"


def session_participant_ids(session: Mapping[str, Any] | None) -> list[int]:
    """The participant ids a session holds (a request's session, or a socket scope's)."""
    return [int(i) for i in (session or {}).get(SESSION_PARTICIPANTS_KEY, [])]


def session_participant_add(request: HttpRequest, participant_id: int) -> None:
    request.session[SESSION_PARTICIPANTS_KEY] = [
        *session_participant_ids(request.session),
        participant_id,
    ]


def session_participant_forget(request: HttpRequest, participant_id: int) -> None:
    request.session[SESSION_PARTICIPANTS_KEY] = [
        i for i in session_participant_ids(request.session) if i != participant_id
    ]
