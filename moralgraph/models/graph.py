"""The graph's rows: contexts, canonical values, draws, upgrade stories, votes, canonicalisation
decisions, and the participants whose votes are set aside."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Context(models.Model):
    class Origin(models.TextChoices):
        CURATED = "curated", "Curated"
        GENERATED = "generated", "Generated"
        MINED = "mined", "Mined from interviews"
        IMPORTED = "imported", "Imported"

    class Status(models.TextChoices):
        """Generated and mined contexts wait for a staff review; only approved ones are used
        (stories are generated and drawn for them). Typed and imported ones start approved."""

        PROPOSED = "proposed", "Proposed, awaiting review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    study = models.ForeignKey(
        "elicitation.Study", on_delete=models.CASCADE, related_name="contexts"
    )
    questions = models.ManyToManyField("elicitation.Question", related_name="contexts", blank=True)
    text = models.CharField(max_length=300, help_text='e.g. "When they are in distress"')
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.CURATED)
    generator_model = models.CharField(max_length=120, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPROVED)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "text"]
        constraints = [
            models.UniqueConstraint(fields=["study", "text"], name="context_text_unique_per_study")
        ]

    def __str__(self) -> str:
        return self.text


class Value(models.Model):
    """A canonical values card: the node of the moral graph."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        HIDDEN = "hidden", "Hidden by a moderator"

    study = models.ForeignKey("elicitation.Study", on_delete=models.CASCADE, related_name="values")
    title = models.CharField(max_length=200)
    description = models.TextField()
    policies = models.JSONField(default=list)
    instructions_short = models.TextField(blank=True)
    instructions_detailed = models.TextField(blank=True)
    source_id = models.CharField(max_length=120, blank=True)
    embedding = models.JSONField(null=True, blank=True)
    embedding_model = models.CharField(max_length=120, blank=True)
    # The language of the value's wording (that of the card it keeps the wording of; blank:
    # not recorded). Translations into other languages are ValueTranslation rows.
    language = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "source_id"],
                condition=~Q(source_id=""),
                name="value_source_id_unique_per_study",
            )
        ]

    def __str__(self) -> str:
        return self.title


class ValueTranslation(models.Model):
    """A value's wording in another language, made by the model once and kept. It belongs to
    one wording of the value (`source_hash`): when a merged card changes the wording, the
    translation is stale and is made again."""

    value = models.ForeignKey(Value, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=16)
    title = models.CharField(max_length=200)
    description = models.TextField()
    policies = models.JSONField(default=list)
    source_hash = models.CharField(max_length=64)
    model = models.CharField(max_length=120, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["value", "language"], name="value_translation_one_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class Selection(models.Model):
    """A value shown to a participant in a draw ("which of these are wise?"): an impression,
    and whether the participant picked it."""

    study = models.ForeignKey(
        "elicitation.Study", on_delete=models.CASCADE, related_name="selections"
    )
    participant = models.ForeignKey(
        "elicitation.Participant", on_delete=models.CASCADE, related_name="selections"
    )
    value = models.ForeignKey(Value, on_delete=models.CASCADE, related_name="selections")
    question = models.ForeignKey(
        "elicitation.Question",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="selections",
    )
    draw_id = models.CharField(max_length=64)
    is_picked = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "draw_id", "value"], name="selection_once_per_draw"
            )
        ]
        indexes = [models.Index(fields=["study", "value"], name="selection_study_value")]

    def __str__(self) -> str:
        return f"{'picked' if self.is_picked else 'shown'} value {self.value_id}"


class UpgradeHypothesis(models.Model):
    """A generated (or imported) claim that `to_value` is wiser than `from_value` in a
    context, with the story participants judge."""

    study = models.ForeignKey(
        "elicitation.Study", on_delete=models.CASCADE, related_name="upgrade_hypotheses"
    )
    from_value = models.ForeignKey(Value, on_delete=models.CASCADE, related_name="+")
    to_value = models.ForeignKey(Value, on_delete=models.CASCADE, related_name="+")
    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="hypotheses")
    story = models.TextField()
    generator_model = models.CharField(max_length=120, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    run_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "upgrade hypotheses"
        constraints = [
            models.UniqueConstraint(
                fields=["from_value", "to_value", "context", "run_id"],
                name="hypothesis_once_per_run",
            ),
            models.CheckConstraint(
                condition=~Q(from_value=F("to_value")), name="hypothesis_distinct_values"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_value_id} → {self.to_value_id} ({self.context_id})"


class UpgradeVote(models.Model):
    """A participant's judgement of "did this person become wiser?" for from → to in a
    context. One per participant, pair and context; voting again updates it."""

    class Choice(models.TextChoices):
        UPGRADE = "upgrade", "Yes, wiser"
        NO_UPGRADE = "no_upgrade", "No"
        NOT_SURE = "not_sure", "Not sure"

    # Denormalised from the context, so the aggregation reads one indexed table.
    study = models.ForeignKey(
        "elicitation.Study", on_delete=models.CASCADE, related_name="upgrade_vote_set"
    )
    participant = models.ForeignKey(
        "elicitation.Participant", on_delete=models.CASCADE, related_name="upgrade_votes"
    )
    from_value = models.ForeignKey(Value, on_delete=models.CASCADE, related_name="+")
    to_value = models.ForeignKey(Value, on_delete=models.CASCADE, related_name="+")
    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="votes")
    hypothesis = models.ForeignKey(
        UpgradeHypothesis, null=True, blank=True, on_delete=models.SET_NULL, related_name="votes"
    )
    story = models.TextField(blank=True)
    choice = models.CharField(max_length=10, choices=Choice.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "from_value", "to_value", "context"],
                name="upgrade_vote_once_per_pair_context",
            ),
            models.CheckConstraint(
                condition=~Q(from_value=F("to_value")), name="upgrade_vote_distinct_values"
            ),
        ]
        indexes = [models.Index(fields=["study", "updated_at"], name="upgrade_vote_study_time")]

    def __str__(self) -> str:
        return f"{self.choice}: {self.from_value_id} → {self.to_value_id}"


class CanonicalisationDecision(models.Model):
    """Why a card joined a value or became one: one row per judgement."""

    study = models.ForeignKey(
        "elicitation.Study", on_delete=models.CASCADE, related_name="canonicalisation_decisions"
    )
    # A plain id: the card lives in `elicitation`, which this app does not import.
    card_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    card_title = models.CharField(max_length=200, blank=True)
    value = models.ForeignKey(Value, null=True, on_delete=models.SET_NULL, related_name="decisions")
    candidate = models.ForeignKey(
        Value, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_merged = models.BooleanField()
    judge = models.CharField(max_length=120, help_text="judge model, or the offline rule")
    prompt_hash = models.CharField(max_length=64, blank=True)
    distance = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"card {self.card_id}: {'merged' if self.is_merged else 'new'} → {self.value_id}"


class ParticipantExclusion(models.Model):
    """A participant whose votes the graph does not count (quarantined by staff as likely
    manipulation). The votes stay stored; releasing the participant counts them again."""

    study = models.ForeignKey("elicitation.Study", on_delete=models.CASCADE, related_name="+")
    participant = models.OneToOneField(
        "elicitation.Participant", on_delete=models.CASCADE, related_name="graph_exclusion"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"participant {self.participant_id} excluded"
