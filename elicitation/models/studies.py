"""Studies, their questions, invite codes and researchers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class ParticipationMode(models.TextChoices):
        OPEN_LINK = "open_link", "Anyone with the link"
        INVITE_CODES = "invite_codes", "Invite codes"
        PANEL = "panel", "Panel id in the URL"

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private"
        PUBLIC = "public", "Listed on the home page"

    class InterviewerBackend(models.TextChoices):
        OFFLINE = "offline", "Offline interviewer (no model)"
        OPENAI = "openai", "OpenAI-compatible API (OpenAI or vLLM)"

    class CardReview(models.TextChoices):
        AFTER_SCREENING = "screening", "Show a card to others once it passes screening"
        STAFF_APPROVAL = "approval", "Show a card to others only after staff approve it"

    slug = models.SlugField(unique=True, max_length=80)
    title = models.CharField(max_length=200)
    welcome_text = models.TextField(blank=True)
    consent_text = models.TextField(blank=True)
    consent_version = models.CharField(max_length=40, default="1")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    participation_mode = models.CharField(
        max_length=20, choices=ParticipationMode.choices, default=ParticipationMode.OPEN_LINK
    )
    panel_param = models.CharField(
        max_length=40, default="PROLIFIC_PID", help_text="URL parameter that carries the panel id"
    )
    completion_redirect_url = models.URLField(
        "panel completion URL",
        blank=True,
        max_length=500,
        help_text="Where a panel participant returns when done, as the panel gives it",
    )
    panel_completion_code = models.CharField(
        max_length=40, blank=True, help_text="The completion code the panel gave for this study"
    )
    interviewer_backend = models.CharField(
        max_length=10, choices=InterviewerBackend.choices, default=InterviewerBackend.OFFLINE
    )
    interviewer_model = models.CharField(max_length=120, blank=True)
    interviewer_prompt_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the newest version of the interviewer prompt"
    )
    max_turns = models.PositiveIntegerField(default=20)
    max_tokens = models.PositiveIntegerField(default=20000)
    # Model tokens (prompts and answers) over all of a participant's / the study's interviews
    # on a model; 0 is no limit. Offline interviews cost none and are not counted.
    token_budget_per_participant = models.PositiveIntegerField(
        default=0, help_text="Model tokens per participant, all interviews; 0: no limit"
    )
    token_budget = models.PositiveBigIntegerField(
        default=0, help_text="Model tokens for the whole study; 0: no limit"
    )
    upgrade_votes = models.PositiveIntegerField(
        default=3, help_text="Upgrade stories per participant"
    )
    wise_values_shown = models.PositiveIntegerField(
        default=6, help_text="Values each participant is shown to pick from"
    )
    wise_values_required = models.PositiveIntegerField(
        default=2, help_text="Values each participant must pick as wise"
    )
    demographic_questions = models.JSONField(default=list, blank=True)
    quota = models.PositiveIntegerField(null=True, blank=True)
    card_review = models.CharField(
        max_length=10, choices=CardReview.choices, default=CardReview.AFTER_SCREENING
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Question(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="questions")
    title = models.CharField(max_length=200)
    text = models.TextField(help_text="The user message posed to the AI")
    seed_message = models.TextField(blank=True, help_text="The interviewer's first message")
    order = models.PositiveIntegerField(default=0)
    source_id = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["study", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "source_id"],
                condition=~Q(source_id=""),
                name="question_source_id_unique_per_study",
            )
        ]

    def __str__(self) -> str:
        return self.title


class InviteCode(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="invite_codes")
    code = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True, null=True)
    used_at = models.DateTimeField(null=True, blank=True)
    participant = models.OneToOneField(
        "Participant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invite_code",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="invite_code_unique_per_study")
        ]

    def __str__(self) -> str:
        return self.code


class StudyMembership(models.Model):
    """A researcher of a study: a staff user who sees and runs that study's staff and research
    pages. Superusers (admins) see every study and need no membership."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="study_memberships",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "user"], name="study_member_once")]

    def __str__(self) -> str:
        return f"{self.user} in {self.study}"
