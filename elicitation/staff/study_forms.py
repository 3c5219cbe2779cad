"""Forms of the staff set-up pages. They validate; the services write."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.text import slugify
from pydantic import ValidationError

from elicitation.models import Question, Study
from elicitation.schemas import (
    DEMOGRAPHIC_KINDS,
    DEMOGRAPHIC_NUMBER_LIMIT,
    DemographicQuestion,
    demographic_questions_adapter,
)
from elicitation.services import (
    STUDY_SETTING_FIELDS,
    DemographicDefinitionError,
    demographic_question_validate,
)
from elicitation.services.study_setup import WISE_VALUES_MAX
from inference.prompts import PromptError, available_prompts, load_prompt

# Paths under /staff/ that a study's address must not take.
RESERVED_SLUGS = frozenset({"new"})


WISE_VALUE_FIELDS = ("wise_values_shown", "wise_values_required")
TOKEN_BUDGET_FIELDS = ("token_budget_per_participant", "token_budget")


def _wise_values_fields_set_up(form: forms.ModelForm) -> None:
    """Both numbers between 1 and the most allowed; left empty (or left out of the post, as
    older clients do), each keeps the study's current number."""
    for name in WISE_VALUE_FIELDS:
        field = form.fields[name]
        field.required = False
        field.validators.append(MinValueValidator(1))
        field.validators.append(MaxValueValidator(WISE_VALUES_MAX))
        field.widget.attrs.update(min=1, max=WISE_VALUES_MAX)


def _wise_values_clean(form: forms.ModelForm, data: dict[str, Any]) -> None:
    for name in WISE_VALUE_FIELDS:
        if name in data and data[name] is None:
            data[name] = getattr(form.instance, name)
    shown, required = data.get("wise_values_shown"), data.get("wise_values_required")
    if shown is not None and required is not None and required > shown:
        form.add_error(
            "wise_values_required",
            f"Participants cannot pick more values than they are shown ({shown}).",
        )


class StudySettingsForm(forms.ModelForm):
    """A study's settings; the address (slug) only when creating it."""

    class Meta:
        model = Study
        fields = list(STUDY_SETTING_FIELDS)
        widgets = {
            "welcome_text": forms.Textarea(attrs={"rows": 5}),
            "consent_text": forms.Textarea(attrs={"rows": 8}),
        }
        labels = {
            "wise_values_shown": "Values shown to pick from",
            "wise_values_required": "Values to pick",
            "card_review": "Before others see a card",
        }
        help_texts = {
            "interviewer_model": "Empty: the server's default model.",
            "upgrade_votes": "Upgrade stories each participant is asked to judge.",
            "wise_values_shown": f"Other people's values shown on “which of these are "
            f"wise?”, 1 to {WISE_VALUES_MAX}.",
            "wise_values_required": "How many of them each participant must pick; all of "
            "them when fewer are available.",
            "max_turns": "Participant messages per interview.",
            "max_tokens": "Tokens per interview, prompts and answers together.",
            "token_budget_per_participant": "Model tokens one participant may use over all "
            "their interviews; 0: no limit. Offline interviews use none.",
            "token_budget": "Model tokens the whole study may use; 0: no limit. When it is "
            "spent, interviews on the model stop taking messages.",
            "quota": "Empty: no limit on participants.",
            "card_review": "Every confirmed card is screened (rules, and the model's judge when "
            "one is set up) before other participants see it; flagged cards wait on the "
            "moderation page. Choose staff approval to review every card yourself.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("upgrade_votes", "max_turns", "max_tokens"):
            field = self.fields[name]
            field.validators.append(MinValueValidator(1))
            field.validators.append(MaxValueValidator(100 if name != "max_tokens" else 10**7))
            field.widget.attrs["min"] = 1
        _wise_values_fields_set_up(self)
        self.fields["quota"].validators.append(MinValueValidator(1))
        self.fields["quota"].widget.attrs["min"] = 1
        # Left out of the post (older clients), the study keeps its way of reviewing cards.
        self.fields["card_review"].required = False
        for name in TOKEN_BUDGET_FIELDS:  # empty or left out: the study's current budget
            self.fields[name].required = False
            self.fields[name].widget.attrs["min"] = 0

    def clean_title(self) -> str:
        title = " ".join(str(self.cleaned_data["title"]).split())
        if not title:
            raise forms.ValidationError("Give the study a title.")
        return title

    def clean_interviewer_prompt_version(self) -> int | None:
        version: int | None = self.cleaned_data.get("interviewer_prompt_version")
        try:
            load_prompt("interviewer", version)
        except PromptError as exc:
            versions = ", ".join(str(v) for v in available_prompts().get("interviewer", []))
            raise forms.ValidationError(
                f"There is no interviewer prompt version {version}. "
                f"Versions available: {versions or 'none'}; leave empty for the newest."
            ) from exc
        return version

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _wise_values_clean(self, data)
        for name in TOKEN_BUDGET_FIELDS:
            if data.get(name) is None:
                data[name] = getattr(self.instance, name) or 0
        if not data.get("card_review"):
            data["card_review"] = self.instance.card_review or Study.CardReview.AFTER_SCREENING
        return data

    def settings(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in STUDY_SETTING_FIELDS}


class StudyCreateForm(StudySettingsForm):
    class Meta(StudySettingsForm.Meta):
        fields = ["slug", *STUDY_SETTING_FIELDS]
        help_texts = {
            **StudySettingsForm.Meta.help_texts,
            "slug": "The study's address: /s/<address>/. Lower-case letters, digits and "
            "hyphens; it cannot be changed later.",
        }

    def clean_slug(self) -> str:
        slug = str(self.cleaned_data["slug"]).strip().lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError("This address is reserved; choose another.")
        if Study.objects.filter(slug=slug).exists():
            raise forms.ValidationError("Another study already uses this address.")
        return slug


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["title", "text", "seed_message"]
        labels = {"text": "Question", "seed_message": "Interviewer's first message"}
        help_texts = {
            "title": "A short name, shown to participants when they choose a question.",
            "text": "The question as the participant would ask it.",
            "seed_message": "Optional: how the interviewer opens the conversation.",
        }
        widgets = {
            "text": forms.Textarea(attrs={"rows": 4}),
            "seed_message": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_title(self) -> str:
        title = " ".join(str(self.cleaned_data["title"]).split())
        if not title:
            raise forms.ValidationError("Give the question a title.")
        return title

    def clean_text(self) -> str:
        text = str(self.cleaned_data["text"]).strip()
        if not text:
            raise forms.ValidationError("Write the question.")
        return text


def key_from_label(label: str) -> str:
    """A key for a question whose builder left the key empty: the label in snake case."""
    words = re.sub(r"[^a-z0-9]+", "_", slugify(label).lower()).strip("_")
    key = words if words[:1].isalpha() else f"q_{words}".rstrip("_")
    return key[:40].rstrip("_")


class DemographicQuestionForm(forms.Form):
    """One demographic question, as the builder shows it: choices one per line."""

    label = forms.CharField(max_length=200, help_text="What the participant is asked.")
    key = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]{0,39}$",
        max_length=40,
        required=False,
        help_text="The answer's name in exports: lower-case letters, digits and _, "
        "starting with a letter. Empty: made from the label.",
        error_messages={
            "invalid": "Use lower-case letters, digits and _, starting with a letter "
            "(at most 40 characters)."
        },
    )
    kind = forms.ChoiceField(choices=DEMOGRAPHIC_KINDS, widget=forms.RadioSelect)
    is_required = forms.BooleanField(
        required=False, label="Required", help_text="Participants must answer it to go on."
    )
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="For choice questions: one choice per line.",
    )
    minimum = forms.DecimalField(
        required=False,
        max_digits=19,
        decimal_places=6,
        min_value=-DEMOGRAPHIC_NUMBER_LIMIT,
        max_value=DEMOGRAPHIC_NUMBER_LIMIT,
        help_text="For number questions, optional.",
    )
    maximum = forms.DecimalField(
        required=False,
        max_digits=19,
        decimal_places=6,
        min_value=-DEMOGRAPHIC_NUMBER_LIMIT,
        max_value=DEMOGRAPHIC_NUMBER_LIMIT,
        help_text="For number questions, optional.",
    )

    @classmethod
    def initial_for(cls, question: DemographicQuestion) -> dict[str, Any]:
        return {
            "label": question.label,
            "key": question.key,
            "kind": question.kind,
            "is_required": question.is_required,
            "choices": "\n".join(question.choices),
            "minimum": question.minimum,
            "maximum": question.maximum,
        }

    def definition(self) -> dict[str, Any]:
        """The question's definition as stored (what the services validate)."""
        data = self.cleaned_data
        kind = data["kind"]
        lines = [line for line in str(data.get("choices") or "").splitlines() if line.strip()]

        def number(name: str) -> int | float | None:
            value = data.get(name)
            if value is None or kind != "number":
                return None
            return int(value) if value == int(value) else float(value)

        return {
            "key": data["key"],
            "label": data["label"],
            "kind": kind,
            "is_required": data["is_required"],
            "choices": lines if kind in ("single_choice", "multiple_choice") else [],
            "minimum": number("minimum"),
            "maximum": number("maximum"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if not data.get("key"):
            data["key"] = key_from_label(data["label"])
        try:
            demographic_question_validate(self.definition())
        except DemographicDefinitionError as exc:
            self.add_definition_error(exc)
        return data

    def add_definition_error(self, exc: DemographicDefinitionError) -> None:
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, exc.message)


class StudyAdminForm(forms.ModelForm):
    """The Django admin's study form: its raw demographic JSON is held to the same schema as
    the builder, so no definition saved there can break the participant's page."""

    class Meta:
        model = Study
        fields = "__all__"  # noqa: DJ007 - the admin chooses its fields itself

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if all(name in self.fields for name in WISE_VALUE_FIELDS):
            _wise_values_fields_set_up(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if all(name in self.fields for name in WISE_VALUE_FIELDS):
            _wise_values_clean(self, data)
        return data

    def clean_demographic_questions(self) -> list[dict[str, Any]]:
        raw = self.cleaned_data.get("demographic_questions") or []
        try:
            questions = demographic_questions_adapter.validate_python(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = " › ".join(
                f"question {part + 1}" if isinstance(part, int) else str(part)
                for part in first["loc"]
            )
            message = str(first["msg"]).removeprefix("Value error, ")
            raise forms.ValidationError(
                f"{where + ': ' if where else ''}{message}. Use Staff › Questions about "
                "participants to build these questions."
            ) from exc
        return [q.model_dump(mode="json") for q in questions]
