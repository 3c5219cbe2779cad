"""Interviews, their messages, the cards proposed in them and the cards participants confirmed."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Interview(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Card submitted"
        ABANDONED = "abandoned", "Abandoned"

    participant = models.ForeignKey(
        "elicitation.Participant", on_delete=models.CASCADE, related_name="interviews"
    )
    question = models.ForeignKey(
        "elicitation.Question", on_delete=models.CASCADE, related_name="interviews"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    backend = models.CharField(max_length=20)
    model = models.CharField(max_length=120, blank=True)
    prompt_version = models.PositiveIntegerField(null=True, blank=True)
    prompt_hash = models.CharField(max_length=64, blank=True)
    turn_count = models.PositiveIntegerField(default=0)
    token_count = models.PositiveIntegerField(default=0)
    # Set while an interviewer answer is being written, by whichever server process writes
    # it: one answer at a time per interview, across processes.
    answer_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "question"], name="one_interview_per_question"
            )
        ]

    def __str__(self) -> str:
        return f"interview {self.pk} ({self.question})"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Participant"
        ASSISTANT = "assistant", "Interviewer"
        SYSTEM = "system", "System"
        TOOL = "tool", "Tool result"

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=Role.choices)
    text = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    client_id = models.UUIDField(null=True, blank=True)
    is_stopped = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["interview", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["interview", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(
                fields=["interview", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.seq}"


class CardProposal(models.Model):
    """Every version of the interview's card: each one the interviewer proposed and each edit
    the participant saved; kept, never overwritten. The latest one is the card in play: only
    it can be confirmed, and only when it is not a draft."""

    class Author(models.TextChoices):
        INTERVIEWER = "interviewer", "Interviewer"
        PARTICIPANT = "participant", "Participant"

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="proposals")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    policies = models.JSONField(default=list)
    author = models.CharField(max_length=12, choices=Author.choices, default=Author.INTERVIEWER)
    # A draft is finished in the card editor before it can be confirmed: the offline
    # interviewer's (the participant writes the title), or a model's card that failed the
    # validator twice. `problems` says what is left to fix.
    is_draft = models.BooleanField(default=False)
    problems = models.JSONField(default=list, blank=True)
    revises = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="revisions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class ValuesCard(models.Model):
    """The card a participant confirmed (or an imported raw card)."""

    class Screening(models.TextChoices):
        PENDING = "pending", "Being screened"
        SHOWN = "shown", "Passed screening"
        HELD = "held", "Held for review"
        APPROVED = "approved", "Approved by staff"
        REJECTED = "rejected", "Rejected by staff"

    VISIBLE = (Screening.SHOWN, Screening.APPROVED)

    interview = models.OneToOneField(
        Interview, null=True, blank=True, on_delete=models.CASCADE, related_name="card"
    )
    proposal = models.OneToOneField(
        CardProposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="card"
    )
    participant = models.ForeignKey(
        "elicitation.Participant", on_delete=models.CASCADE, related_name="cards"
    )
    question = models.ForeignKey(
        "elicitation.Question", null=True, blank=True, on_delete=models.SET_NULL
    )
    title = models.CharField(max_length=200)
    description = models.TextField()
    policies = models.JSONField(default=list)
    # The language the card is written in ("en", "es", "ar"; blank: not recorded, as on
    # cards imported without one). Others see it translated, the original one click away.
    language = models.CharField(max_length=16, blank=True)
    value = models.ForeignKey(
        "moralgraph.Value", null=True, blank=True, on_delete=models.SET_NULL, related_name="cards"
    )
    source_id = models.CharField(max_length=120, blank=True)
    submitted_at = models.DateTimeField()
    # Screening before anyone else sees the card: PENDING until checked; SHOWN and APPROVED
    # cards are canonicalised (and so reach other participants); HELD waits for staff.
    screening = models.CharField(
        max_length=10, choices=Screening.choices, default=Screening.SHOWN, db_index=True
    )
    screening_reasons = models.JSONField(default=list, blank=True)
    screened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "source_id"],
                condition=~Q(source_id=""),
                name="valuescard_source_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.title
