from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from moralgraph.models import Context, Value
from moralgraph.services.contexts import values_status_set


def _values(count: int) -> str:
    return f"{count} value" if count == 1 else f"{count} values"


@admin.register(Context)
class ContextAdmin(admin.ModelAdmin):
    list_display = ["text", "study", "origin"]
    list_filter = ["study", "origin"]
    search_fields = ["text"]
    fields = ["study", "text", "origin", "questions"]
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
