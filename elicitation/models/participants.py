"""Participants and their survey answers."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Participant(models.Model):
    class Stage(models.TextChoices):
        CONSENTED = "consented", "Consented"
        DEMOGRAPHICS = "demographics", "Answered demographics"
        INTERVIEW = "interview", "Interviewing"
        PICKS = "picks", "Picking wise values"
        VOTES = "votes", "Judging upgrades"
        SURVEY = "survey", "Survey"
        FINISHED = "finished", "Finished"

    study = models.ForeignKey(
        "elicitation.Study", on_delete=models.CASCADE, related_name="participants"
    )
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
    # The resume code that continues this participation in another browser: only its keyed
    # hash (services.participants.resume_code_hash); the code itself lives in the session
    # that was shown it. A new code replaces the old.
    resume_code_hash = models.CharField(max_length=64, blank=True)

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
                fields=["study", "resume_code_hash"],
                condition=~Q(resume_code_hash=""),
                name="participant_resume_code_once",
            ),
            models.UniqueConstraint(
                fields=["study", "source_id"],
                condition=~Q(source_id=""),
                name="participant_source_id_unique_per_study",
            ),
        ]

    def __str__(self) -> str:
        return f"participant {self.public_id}"


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
