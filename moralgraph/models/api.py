"""Tokens that agents present to the values API (`/api/v1/`): issued by staff on a study's
research page, shown once, stored only as a hash."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

MAX_TOKEN_NAME = 80


class ApiToken(models.Model):
    """A bearer token for the read-only values API. Only the SHA-256 of the token is kept
    (tokens are 256 random bits, so a plain hash is enough; nobody can read one back).
    `study` null means every study (only admins issue those). A revoked token stays, so the
    page can show who issued it and when it stopped working."""

    name = models.CharField(max_length=MAX_TOKEN_NAME)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16, help_text="the token's first characters")
    study = models.ForeignKey(
        "elicitation.Study",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="empty: every study",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"API token {self.name!r} ({self.hint}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
