"""Studies, participants, interviews and the cards they produce. Values, contexts, votes and
snapshots belong to the graph (moralgraph); cards point at their canonical value there."""

from __future__ import annotations

import uuid

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


class Participant(models.Model):
    class Stage(models.TextChoices):
        CONSENTED = "consented", "Consented"
        DEMOGRAPHICS = "demographics", "Answered demographics"
        INTERVIEW = "interview", "Interviewing"
        PICKS = "picks", "Picking wise values"
        VOTES = "votes", "Judging upgrades"
        SURVEY = "survey", "Survey"
        FINISHED = "finished", "Finished"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participants")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_id_hash = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    demographics = models.JSONField(default=dict, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    consent_version = models.CharField(max_length=40, blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.CONSENTED)
    completion_code = models.CharField(max_length=40, blank=True)
    source_id = models.CharField(max_length=120, blank=True)
    # The panel's own ids for its study and this session, kept as the panel sent them (the
    # panel's participant id is kept only as `external_id_hash`).
    panel_study_id = models.CharField(max_length=120, blank=True)
    panel_session_id = models.CharField(max_length=120, blank=True)
    # The draws a participant sees, fixed once made (null: not drawn yet), so a reload shows
    # the same screens and a vote on a story never drawn for them can be refused.
    wise_value_ids = models.JSONField(null=True, blank=True)
    upgrade_hypothesis_ids = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A staff member walking the journey: spends no code, and neither the graph nor the
    # funnel counts what they do.
    is_preview = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Manipulation signals: keyed hashes (never the raw values) of the browser's long-lived
    # cookie and of the network the participant came from.
    browser_hash = models.CharField(max_length=64, blank=True, db_index=True)
    network_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Staff set aside a flagged participant: their votes stay stored but are not counted.
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_reason = models.TextField(blank=True)
    # Withdrawal: the code shown on the finish page; once withdrawn, what they wrote is erased
    # and only this row (with no answers) remains for the funnel.
    withdrawal_code = models.CharField(max_length=40, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "withdrawal_code"],
                condition=~Q(withdrawal_code=""),
                name="participant_withdrawal_code_once",
            ),
            models.UniqueConstraint(
                fields=["study", "external_id_hash"],
                condition=~Q(external_id_hash=""),
                name="participant_external_id_once_per_study",
            ),
            models.UniqueConstraint(
                fields=["study", "source_id"],
                condition=~Q(source_id=""),
                name="participant_source_id_unique_per_study",
            ),
        ]

    def __str__(self) -> str:
        return f"participant {self.public_id}"


class Interview(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUBMITTED = "submitted", "Card submitted"
        ABANDONED = "abandoned", "Abandoned"

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="interviews"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="interviews")
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
    """Every card the interviewer proposed; kept, never overwritten."""

    interview = models.ForeignKey(Interview, on_delete=models.CASCADE, related_name="proposals")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL)
    title = models.CharField(max_length=200)
    description = models.TextField()
    policies = models.JSONField(default=list)
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
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="cards")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.SET_NULL)
    title = models.CharField(max_length=200)
    description = models.TextField()
    policies = models.JSONField(default=list)
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


class SurveyResponse(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="survey_responses"
    )
    item = models.CharField(max_length=60)
    answer = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "item"], name="survey_item_once")
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.answer if self.answer is not None else self.text}"


class StudyMembership(models.Model):
    """A researcher of a study: a staff user who sees and runs that study's staff and research
    pages. Superusers (admins) see every study and need no membership."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_memberships"
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

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="moderation_actions")
    card = models.ForeignKey(
        ValuesCard, null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation"
    )
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
        Participant, on_delete=models.CASCADE, related_name="position_verifications"
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
        Participant, on_delete=models.CASCADE, related_name="dedup_verifications"
    )
    card = models.ForeignKey(
        ValuesCard, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
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
