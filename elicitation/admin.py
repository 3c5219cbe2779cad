"""The Django admin for studies and what participants produced. Contexts belong to the graph
and are edited in its own admin (Moral graph › Contexts, filtered by study); state changes go
through services, and mining goes to the background task."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from elicitation import selectors, services, tasks
from elicitation.models import (
    CardProposal,
    Interview,
    InviteCode,
    Message,
    Participant,
    Question,
    Study,
    SurveyResponse,
    ValuesCard,
)
from elicitation.staff.study_forms import StudyAdminForm


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 1
    fields = ["order", "title", "text", "seed_message"]


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    form = StudyAdminForm
    list_display = [
        "title",
        "slug",
        "status",
        "participation_mode",
        "interviewer_backend",
        "created_at",
    ]
    list_filter = ["status", "participation_mode", "visibility"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [QuestionInline]
    actions = ["open_studies", "close_studies", "mine_contexts"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "visibility", "welcome_text"]}),
        ("Consent", {"fields": ["consent_text", "consent_version"]}),
        (
            "Participation",
            {
                "fields": [
                    "participation_mode",
                    "panel_param",
                    "completion_redirect_url",
                    "panel_completion_code",
                    "quota",
                    "demographic_questions",
                ]
            },
        ),
        (
            "Interviewer",
            {
                "fields": [
                    "interviewer_backend",
                    "interviewer_model",
                    "interviewer_prompt_version",
                    "max_turns",
                    "max_tokens",
                    "upgrade_votes",
                ]
            },
        ),
    ]

    @admin.action(description="Open the selected studies", permissions=["change"])
    def open_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = services.study_status_set(study_ids=ids, status=Study.Status.OPEN)
        self.message_user(request, f"{_count(changed, 'study', 'studies')} opened.")

    @admin.action(description="Close the selected studies", permissions=["change"])
    def close_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = services.study_status_set(study_ids=ids, status=Study.Status.CLOSED)
        self.message_user(request, f"{_count(changed, 'study', 'studies')} closed.")

    @admin.action(
        description="Mine contexts from the interviews (needs a model)", permissions=["change"]
    )
    def mine_contexts(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        queued = 0
        for study in queryset:
            for question in selectors.study_questions(study=study):
                tasks.contexts_mine.delay(study.pk, question.pk)
                queued += 1
        questions = _count(queued, "question", "questions")
        self.message_user(
            request,
            f"Mining contexts for {questions} in the background; they appear under "
            "Moral graph › Contexts with origin 'Mined from interviews'.",
        )


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["public_id", "study", "stage", "consented_at"]
    list_filter = ["study", "stage"]
    readonly_fields = ["public_id", "external_id_hash", "consented_at", "consent_version"]


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("seq", "role", "text", "is_stopped", "created_at")
    readonly_fields = fields


@admin.register(Interview)
class InterviewAdmin(admin.ModelAdmin):
    list_display = ["pk", "question", "status", "backend", "model", "turn_count", "created_at"]
    list_filter = ["status", "backend", "question__study"]
    inlines = [MessageInline]


@admin.register(ValuesCard)
class ValuesCardAdmin(admin.ModelAdmin):
    list_display = ["title", "participant", "question", "value", "submitted_at"]
    list_filter = ["question__study"]
    search_fields = ["title", "description"]


admin.site.register(CardProposal)
admin.site.register(InviteCode)
admin.site.register(SurveyResponse)
