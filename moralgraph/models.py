"""The graph's inputs and outputs (DESIGN §3). Study and question are referenced lazily:
this app never imports `elicitation`."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Context(models.Model):
    class Origin(models.TextChoices):
        CURATED = "curated", "Curated"
        GENERATED = "generated", "Generated"
        MINED = "mined", "Mined from interviews"
        IMPORTED = "imported", "Imported"

    study = models.ForeignKey("elicitation.Study", on_delete=models.CASCADE, related_name="contexts")
    questions = models.ManyToManyField("elicitation.Question", related_name="contexts", blank=True)
    text = models.CharField(max_length=300, help_text='e.g. "When they are in distress"')
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.CURATED)
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
