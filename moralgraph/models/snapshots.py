"""Snapshots of the scored graph, their rebuild state, their supersession after a withdrawal, and
the inference jobs run on them."""

from __future__ import annotations

import json
import zlib
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

MAX_SNAPSHOT_NAME = 80


class GraphSnapshot(models.Model):
    """An immutable result of scoring the votes in scope: once written it is never changed
    (a new snapshot is written instead). `document` is the snapshot JSON (moralgraph/snapshot.schema.json),
    stored zlib-compressed: a million votes make a ~40 MB document, which PostgreSQL takes
    seconds to parse into jsonb but a fraction of a second to store as bytes."""

    study = models.ForeignKey(
        "elicitation.Study", on_delete=models.CASCADE, related_name="graph_snapshots"
    )
    parameters = models.JSONField()
    filters = models.JSONField(default=dict)
    document_zlib = models.BinaryField(default=b"")
    content_hash = models.CharField(max_length=64)
    scoring_version = models.CharField(max_length=40)
    winners = models.JSONField(default=list, help_text="[{context, value_id, title, support}]")
    vote_count = models.PositiveIntegerField(default=0)
    participant_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Three kinds: live (the rebuild that follows the votes; superseded ones are deleted),
    # named (a researcher's build, kept forever) and ad hoc (`build_graph` without a name).
    is_live = models.BooleanField(default=False)
    name = models.CharField(max_length=MAX_SNAPSHOT_NAME, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]
        constraints = [
            # The same content is stored once per kind (and per name), so a named build of
            # the live graph's content gets its own row that compaction never deletes.
            models.UniqueConstraint(
                fields=["study", "content_hash", "is_live", "name"],
                name="snapshot_hash_unique_per_kind",
            ),
            models.UniqueConstraint(
                fields=["study", "name"],
                condition=~models.Q(name=""),
                name="snapshot_name_unique_per_study",
            ),
        ]

    def __str__(self) -> str:
        return f"snapshot {self.pk} ({self.content_hash[:12]})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Immutable: a row is never changed. Deleting a superseded live snapshot is allowed
        # (services.snapshots compacts the live history): nothing is rewritten, and whatever
        # someone refers to (a job, a name) is never deleted.
        if not self._state.adding:
            raise ValueError("graph snapshots are immutable; write a new snapshot instead")
        super().save(*args, **kwargs)

    @staticmethod
    def pack(document: dict[str, Any]) -> bytes:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        return zlib.compress(text.encode("utf-8"), 1)

    @property
    def document(self) -> dict[str, Any]:
        cached: dict[str, Any] | None = getattr(self, "_document", None)
        if cached is None:
            cached = json.loads(zlib.decompress(bytes(self.document_zlib)))
            self._document = cached
        return cached


class GraphRebuildState(models.Model):
    """Per study, the bookkeeping that coalesces live snapshot rebuilds: each vote bumps
    `requested_seq`; a worker claims a rebuild with a compare-and-set on `running_since` and
    releases it only when nothing newer was requested meanwhile."""

    study = models.OneToOneField(
        "elicitation.Study", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    requested_seq = models.BigIntegerField(default=0)
    claimed_seq = models.BigIntegerField(default=0)
    built_seq = models.BigIntegerField(default=0)
    is_queued = models.BooleanField(default=False)
    running_since = models.DateTimeField(null=True, blank=True)
    last_snapshot = models.ForeignKey(
        GraphSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rebuilds = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"study {self.study_id}: requested {self.requested_seq}, built {self.built_seq}"


class SnapshotSupersession(models.Model):
    """A snapshot that counted a participant who has since withdrawn or been erased. Snapshots
    are immutable, so the mark lives here: a superseded snapshot no longer serves its values'
    text, and the inference outputs made from it are listed as affected."""

    snapshot = models.OneToOneField(
        GraphSnapshot, on_delete=models.CASCADE, related_name="supersession"
    )
    reason = models.TextField()
    participants_removed = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"snapshot {self.snapshot_id} superseded"


class InferenceJob(models.Model):
    """A `python -m inference` job started from a snapshot's researcher page and
    run by a worker on the `llm` queue. The job's own state (manifest + JSONL) lives in
    `output_dir`, beside its output, as on a GPU host; this row records what was asked, the
    status and how the last run ended. Claimed with a compare-and-set on `status`."""

    class Kind(models.TextChoices):
        TARGETS = "targets", "Alignment targets"
        SCENARIOS = "scenarios", "Scenarios"
        DATASET_SFT = "dataset-sft", "SFT dataset"
        DATASET_DPO = "dataset-dpo", "DPO preference pairs"
        DATASET_KTO = "dataset-kto", "KTO labels"
        EVALUATE = "evaluate", "Evaluation of a model"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        STOPPED_BUDGET = "stopped_budget", "Stopped at the token budget"
        STOPPED = "stopped", "Stopped by a researcher"

    snapshot = models.ForeignKey(
        GraphSnapshot, on_delete=models.CASCADE, related_name="inference_jobs"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    parameters = models.JSONField(
        default=dict, help_text="{per_context, model, max_tokens_total, with_system_prompt}"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    output_dir = models.CharField(
        max_length=500, blank=True, help_text="the job's folder on the workers' disk"
    )
    exit_code = models.IntegerField(null=True, blank=True)
    message = models.TextField(blank=True, help_text="the last lines the command printed")
    runs = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="touched while the command runs; stale = worker lost"
    )
    # A researcher asked a running job to stop; the worker sees it within a second.
    stop_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["snapshot", "created_at"], name="inference_job_snapshot")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
