from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from moralgraph.models import Context, Value


@admin.register(Context)
class ContextAdmin(admin.ModelAdmin):
    list_display = ["text", "study", "origin"]
    list_filter = ["study", "origin"]
    search_fields = ["text"]


@admin.register(Value)
class ValueAdmin(admin.ModelAdmin):
    list_display = ["title", "study", "status", "source_id"]
    list_filter = ["study", "status"]
    search_fields = ["title", "description"]
    actions = ["hide_values", "show_values"]

    @admin.action(description="Hide the selected values (moderation)")
    def hide_values(self, request: HttpRequest, queryset: QuerySet[Value]) -> None:
        queryset.update(status=Value.Status.HIDDEN)

    @admin.action(description="Show the selected values again")
    def show_values(self, request: HttpRequest, queryset: QuerySet[Value]) -> None:
        queryset.update(status=Value.Status.ACTIVE)
