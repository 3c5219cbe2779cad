"""Trust in the result: the moderation log and the legitimacy checks participants answer."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ModerationAction(models.Model):
    """The moderation log: every screening verdict and every staff action on a card or a
    participant, with who (null: the screening itself) and why. It never copies a card's text,
    so erasing a participant leaves no words of theirs here."""

    class Action(models.TextChoices):
        SCREENED = "screened", "Passed screening"
        HELD = "held", "Held for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        QUARANTINED = "quarantined", "Participant quarantined"
        RELEASED = "released", "Participant released from quarantine"
        WITHDRAWN = "withdrawn", "Participant withdrew"
        ERASED = "erased", "Participant erased on request"

    study = models.ForeignKey(
        "elicitation.Study", on_delete=models.CASCADE, related_name="moderation_actions"
    )
    card = models.ForeignKey(
        "elicitation.ValuesCard",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation",
    )
    participant = models.ForeignKey(
        "elicitation.Participant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(blank=True)
    # The live snapshot when the action was taken, so a page can show what it changed.
    snapshot_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["study", "created_at"], name="moderation_study_time")]

    def __str__(self) -> str:
        return f"{self.action} ({self.created_at:%Y-%m-%d %H:%M})"


class PositionVerification(models.Model):
    """ "Is this a fair position for your value?", asked on the finish page after showing
    where the participant's value sits (the reference study's graphPositionVerification)."""

    participant = models.ForeignKey(
        "elicitation.Participant", on_delete=models.CASCADE, related_name="position_verifications"
    )
    value = models.ForeignKey(
        "moralgraph.Value", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_fair = models.BooleanField()
    comment = models.TextField(blank=True)
    source_id = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "value"], name="position_check_once")
        ]

    def __str__(self) -> str:
        return f"fair={self.is_fair}"


class DedupVerification(models.Model):
    """ "Is this the same value as yours?" for the canonical value a participant's card was
    merged into (the reference study's deduplicationVerification)."""

    class Option(models.TextChoices):
        SAME = "same", "Yes, the same value"
        DIFFERENT = "different", "No, a different value"

    participant = models.ForeignKey(
        "elicitation.Participant", on_delete=models.CASCADE, related_name="dedup_verifications"
    )
    card = models.ForeignKey(
        "elicitation.ValuesCard", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    value = models.ForeignKey(
        "moralgraph.Value", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    option = models.CharField(max_length=10, choices=Option.choices)
    source_id = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "card", "value"], name="dedup_check_once"
            )
        ]

    def __str__(self) -> str:
        return self.option
