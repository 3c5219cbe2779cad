"""The researcher pages' forms: they parse what was posted; the services check it again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.conf import settings

from moralgraph.graph import Params
from moralgraph.inference_jobs.rules import (
    DEFAULT_PER_CONTEXT,
    MAX_MODEL_NAME,
    MAX_PER_CONTEXT,
    NEEDS_LLM,
    llm_is_configured,
)
from moralgraph.models import MAX_SNAPSHOT_NAME, InferenceJob
from moralgraph.selectors import snapshots as snapshot_selectors

MAX_BOOTSTRAP = 1000

KIND_HELP = {
    InferenceJob.Kind.TARGETS: "per context, the winning value and its policies, as JSON and "
    "as a system prompt (no model needed)",
    InferenceJob.Kind.SCENARIOS: "new user situations per context, deduplicated",
    InferenceJob.Kind.DATASET_SFT: "chat conversations whose answers attend to the winning "
    "value (OpenAI/TRL format)",
    InferenceJob.Kind.DATASET_DPO: "prompt / chosen / rejected: the wiser vs the less wise "
    "value of each kept edge",
    InferenceJob.Kind.DATASET_KTO: "prompt / completion / label",
    InferenceJob.Kind.EVALUATE: "the named model answers the scenarios; the configured model "
    "judges them against the winning values",
}


class InferenceJobForm(forms.Form):
    kind = forms.ChoiceField(label="What to generate", choices=InferenceJob.Kind.choices)
    per_context = forms.IntegerField(
        label="Scenarios per context",
        min_value=1,
        max_value=MAX_PER_CONTEXT,
        initial=DEFAULT_PER_CONTEXT,
        required=False,
    )
    model = forms.CharField(label="Model", max_length=MAX_MODEL_NAME, required=False)
    max_tokens_total = forms.IntegerField(
        label="Token budget",
        min_value=1,
        required=False,
        help_text="optional; the job stops cleanly when it is spent and can be resumed",
    )
    with_system_prompt = forms.BooleanField(
        label="Evaluate under the targets' system prompt (in-context alignment)", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].initial = settings.LLM_MODEL
        self.fields["kind"].initial = InferenceJob.Kind.TARGETS
        self.is_offline = not llm_is_configured()
        if self.is_offline:
            # Offline, only targets can be made: the other choices and fields are disabled.
            for name in ("per_context", "model", "max_tokens_total", "with_system_prompt"):
                self.fields[name].disabled = True

    def kind_options(self) -> list[tuple[str, str, str, bool]]:
        """(value, label, help, is_disabled) for the template's <select>."""
        return [
            (
                value,
                label,
                KIND_HELP[InferenceJob.Kind(value)],
                self.is_offline and value in NEEDS_LLM,
            )
            for value, label in InferenceJob.Kind.choices
        ]

    def parameters(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "per_context": data.get("per_context") or DEFAULT_PER_CONTEXT,
            "model": data.get("model") or settings.LLM_MODEL,
            "max_tokens_total": data.get("max_tokens_total"),
            "with_system_prompt": bool(data.get("with_system_prompt")),
        }


class ResumeForm(forms.Form):
    max_tokens_total = forms.IntegerField(
        label="Token budget for this run", min_value=1, required=False
    )


class SnapshotBuildForm(forms.Form):
    """A named snapshot's parameters, as the `build_graph` command takes them. Bad input is an
    error next to its field; only a valid form reaches the service."""

    name = forms.CharField(
        label="Name",
        max_length=MAX_SNAPSHOT_NAME,
        help_text="kept forever under this name, e.g. “before the second round”",
    )
    mode = forms.ChoiceField(
        label="Mode",
        choices=[
            ("reference", "Reference (contexts pooled, as published)"),
            ("context", "Context (one graph per context, as live)"),
        ],
        initial="reference",
    )
    min_wiser = forms.IntegerField(
        label="Minimum wiser votes", min_value=1, max_value=100_000, initial=Params.min_wiser
    )
    min_likelihood = forms.FloatField(
        label="Minimum wiser likelihood",
        min_value=0.0,
        max_value=1.0,
        initial=Params.min_likelihood,
    )
    max_entropy = forms.FloatField(
        label="Maximum entropy", min_value=0.0, max_value=10.0, initial=Params.max_entropy
    )
    bootstrap = forms.IntegerField(
        label="Bootstrap resamples (B)",
        min_value=0,
        max_value=MAX_BOOTSTRAP,
        initial=Params.bootstrap,
        help_text=f"0 to {MAX_BOOTSTRAP}; 0 skips the win probabilities",
    )
    before = forms.DateTimeField(
        label="Only votes before (UTC)",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="optional; leave empty for every vote so far",
    )

    def __init__(self, *args: Any, study_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.study_id = study_id

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if snapshot_selectors.snapshot_by_name(study_id=self.study_id, name=name) is not None:
            raise forms.ValidationError(
                "This study already has a snapshot with that name; choose another."
            )
        return name

    def clean_before(self) -> datetime | None:
        moment: datetime | None = self.cleaned_data.get("before")
        # A time without a zone means UTC, whatever the server's zone.
        if moment is not None and moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC) if moment is not None else None

    def params(self) -> Params:
        data = self.cleaned_data
        return Params(
            mode=data["mode"],
            min_wiser=data["min_wiser"],
            min_likelihood=data["min_likelihood"],
            max_entropy=data["max_entropy"],
            bootstrap=data["bootstrap"],
        )
