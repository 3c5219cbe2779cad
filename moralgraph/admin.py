from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from moralgraph.models import Context, Value
from moralgraph.services.contexts import values_status_set


def _values(count: int) -> str:
    return f"{count} value" if count == 1 else f"{count} values"


class ContextAdminForm(forms.ModelForm):
    """The questions offered are the context's own study's only (the study posted, or the
    saved one); a question of another study is refused next to the field."""

    class Meta:
        model = Context
        fields = ["study", "text", "origin", "status", "questions"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].required = False  # typed here: approved unless chosen otherwise
        field = self.fields["questions"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        assert field.queryset is not None
        study_id = self.data.get("study") or self.instance.study_id or self.initial.get("study")
        if study_id and str(study_id).isascii() and str(study_id).isdigit():
            field.queryset = field.queryset.filter(study_id=int(study_id))
        else:
            field.queryset = field.queryset.none()
            field.help_text = "Choose the study and save; then pick its questions."

    def clean_status(self) -> str:
        return str(self.cleaned_data.get("status") or Context.Status.APPROVED)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        study, questions = cleaned.get("study"), cleaned.get("questions") or []
        if study is not None and any(q.study_id != study.pk for q in questions):
            self.add_error("questions", "A context can only belong to its own study's questions.")
        return cleaned


@admin.register(Context)
class ContextAdmin(admin.ModelAdmin):
    form = ContextAdminForm
    list_display = ["text", "study", "origin", "status"]
    list_filter = ["study", "origin", "status"]
    search_fields = ["text"]
    filter_horizontal = ["questions"]


@admin.register(Value)
class ValueAdmin(admin.ModelAdmin):
    list_display = ["title", "study", "status", "source_id"]
    list_filter = ["study", "status"]
    search_fields = ["title", "description"]
    actions = ["hide_values", "show_values"]

    @admin.action(description="Hide the selected values (moderation)")
    def hide_values(self, request: HttpRequest, queryset: QuerySet[Value]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = values_status_set(value_ids=ids, status=Value.Status.HIDDEN)
        self.message_user(request, f"{_values(changed)} hidden; their studies' graphs are rebuilt.")

    @admin.action(description="Show the selected values again")
    def show_values(self, request: HttpRequest, queryset: QuerySet[Value]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = values_status_set(value_ids=ids, status=Value.Status.ACTIVE)
        self.message_user(request, f"{_values(changed)} shown; their studies' graphs are rebuilt.")
