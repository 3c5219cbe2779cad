"""Forms of the staff contexts page: a typed context, and a context's text and questions."""

from __future__ import annotations

from typing import Any

from django import forms

from moralgraph.services import MoralGraphError, context_text_clean

TEXT_HELP = 'Starts with "When", at most 10 words, e.g. "When they are in distress".'


def _clean_text(text: str) -> str:
    try:
        return context_text_clean(text)
    except MoralGraphError as exc:
        raise forms.ValidationError(exc.message) from exc


class ContextAddForm(forms.Form):
    text = forms.CharField(label="A new context", max_length=300, help_text=TEXT_HELP)

    def clean_text(self) -> str:
        return _clean_text(self.cleaned_data["text"])


class ContextEditForm(forms.Form):
    text = forms.CharField(label="The context", max_length=300, help_text=TEXT_HELP)
    questions = forms.TypedMultipleChoiceField(
        label="The questions it belongs to",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only this study's questions.",
        error_messages={"required": "Choose at least one question."},
    )

    def __init__(self, *args: Any, questions: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["questions"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = questions

    def clean_text(self) -> str:
        return _clean_text(self.cleaned_data["text"])
