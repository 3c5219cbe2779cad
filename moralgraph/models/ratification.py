"""The ratification phase: after a snapshot, participants judge blind, side by side, an answer
written under the graph's alignment target and a baseline's, for contexts of their own
question (the pairs come from `python -m inference ratify-sample`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from moralgraph.models.graph import Context
from moralgraph.models.snapshots import GraphSnapshot


class RatificationRound(models.Model):
    """One round of a study: the pairs made from one snapshot. At most one round of a study
    is open at a time; a closed round keeps its pairs and judgements for the report."""

    study = models.ForeignKey("elicitation.Study", on_delete=models.CASCADE, related_name="+")
    # Live snapshots are compacted away; the round keeps the hash it was made from.
    snapshot = models.ForeignKey(
        GraphSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snapshot_content_hash = models.CharField(max_length=64)
    target_model = models.CharField(max_length=200, blank=True)
    baseline_model = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study"],
                condition=Q(closed_at__isnull=True),
                name="ratification_one_open_round_per_study",
            )
        ]

    def __str__(self) -> str:
        return f"ratification round {self.pk} of study {self.study_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class RatificationPair(models.Model):
    """A user prompt in a context, with the target's answer and the baseline's."""

    round = models.ForeignKey(RatificationRound, on_delete=models.CASCADE, related_name="pairs")
    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="+")
    question_ids = models.JSONField(default=list, blank=True)
    key = models.CharField(max_length=300)
    prompt = models.TextField()
    target_answer = models.TextField()
    baseline_answer = models.TextField()
    value_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["round", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "key"], name="ratification_pair_key_once")
        ]

    def __str__(self) -> str:
        return f"ratification pair {self.key}"


class RatificationJudgement(models.Model):
    """A participant's judgement of one pair drawn for them, given once."""

    class Preference(models.TextChoices):
        TARGET = "target", "The alignment target's answer"
        BASELINE = "baseline", "The baseline's answer"
        SAME = "same", "About the same"

    class Embodiment(models.TextChoices):
        YES = "yes", "Yes"
        PARTLY = "partly", "Partly"
        NO = "no", "No"

    pair = models.ForeignKey(RatificationPair, on_delete=models.CASCADE, related_name="judgements")
    participant = models.ForeignKey(
        "elicitation.Participant", on_delete=models.CASCADE, related_name="+"
    )
    # Which answer was shown first ("Answer 1"): drawn per participant and pair, blind.
    is_target_left = models.BooleanField()
    preferred = models.CharField(max_length=10, choices=Preference.choices)
    embodies_own_card = models.CharField(max_length=10, choices=Embodiment.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "participant"], name="ratification_judgement_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.preferred} on pair {self.pair_id}"
