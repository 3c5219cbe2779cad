"""API tokens: issue (the token is returned once, only its hash is stored), revoke, list, and
the check each API request makes. Writes are keyword-only services, one transaction each."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from moralgraph.api import selectors
from moralgraph.errors import MoralGraphError
from moralgraph.models import MAX_TOKEN_NAME, ApiToken

TOKEN_PREFIX = "mge_"
HINT_LENGTH = 8  # "mge_" and four random characters: enough to tell tokens apart on the page
# `last_used_at` is written at most once a minute per token, so a busy agent costs no write
# per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """What the issuing page shows once: the token itself is never stored."""

    token_id: int
    name: str
    token: str


@dataclass(frozen=True)
class TokenRow:
    token_id: int
    name: str
    hint: str
    study_id: int | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class Bearer:
    """An active token that authenticated a request; `study_id` None: every study."""

    token_id: int
    study_id: int | None

    def may_read(self, study_id: int) -> bool:
        return self.study_id is None or self.study_id == study_id


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_issue(*, name: str, study_id: int | None, created_by_id: int | None) -> IssuedToken:
    """A new token for one study (or every study when `study_id` is None)."""
    name = name.strip()
    if not name:
        raise MoralGraphError("token_name_required", "Give the token a name.")
    if len(name) > MAX_TOKEN_NAME:
        raise MoralGraphError(
            "token_name_too_long", f"A token's name has at most {MAX_TOKEN_NAME} characters."
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        name=name,
        token_hash=token_hash(token),
        hint=token[:HINT_LENGTH],
        study_id=study_id,
        created_by_id=created_by_id,
    )
    return IssuedToken(token_id=row.pk, name=row.name, token=token)


@transaction.atomic
def api_token_revoke(*, token_id: int, study_id: int, may_revoke_global: bool) -> TokenRow:
    """Revoke a token of this study, or (for admins) one for every study. Revoking twice is
    harmless: the first time is kept."""
    token = (
        ApiToken.objects.select_for_update()
        .filter(Q(study_id=study_id) | Q(study__isnull=True), pk=token_id)
        .first()
    )
    if token is None:
        raise MoralGraphError("token_not_found", "No such token for this study.")
    if token.study_id is None and not may_revoke_global:
        raise MoralGraphError(
            "token_global", "Only an admin may revoke a token that reads every study."
        )
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    return _rows(ApiToken.objects.filter(pk=token.pk))[0]


def api_tokens_for_study(*, study_id: int, with_global: bool) -> list[TokenRow]:
    """The study's tokens, newest first; with `with_global`, also those for every study."""
    scope = Q(study_id=study_id) | Q(study__isnull=True) if with_global else Q(study_id=study_id)
    return _rows(ApiToken.objects.filter(scope))


def _rows(queryset: QuerySet[ApiToken]) -> list[TokenRow]:
    fields = ["pk", "name", "hint", "study_id", "created_by__username", "created_at"]
    fields += ["last_used_at", "revoked_at"]
    return [
        TokenRow(
            token_id=row[0],
            name=row[1],
            hint=row[2],
            study_id=row[3],
            created_by=row[4] or "",
            created_at=row[5],
            last_used_at=row[6],
            revoked_at=row[7],
        )
        for row in queryset.order_by("-created_at", "-id").values_list(*fields)
    ]


def api_token_authenticate(*, token: str) -> Bearer | None:
    """The active token presented, or None (unknown or revoked). Marks it used, at most once
    per `LAST_USED_RESOLUTION`."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = selectors.active_token_row(token_hash=token_hash(token))
    if row is None:
        return None
    token_id, study_id, last_used_at = row
    now = timezone.now()
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return Bearer(token_id=token_id, study_id=study_id)
