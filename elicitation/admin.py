from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

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
from moralgraph.models import Context


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 1
    fields = ["order", "title", "text", "seed_message"]


class ContextInline(admin.TabularInline):
    model = Context
    extra = 1
    fields = ["text", "origin", "questions"]
    filter_horizontal = ["questions"]


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
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
    inlines = [QuestionInline, ContextInline]
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

    @admin.action(description="Open the selected studies")
    def open_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        updated = queryset.update(status=Study.Status.OPEN)
        self.message_user(request, f"{updated} studies opened.")

    @admin.action(description="Mine contexts from the interviews (needs a model)")
    def mine_contexts(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        from elicitation import tasks

        queued = 0
        for study in queryset:
            for question_id in study.questions.values_list("pk", flat=True):
                tasks.contexts_mine.delay(study.pk, question_id)
                queued += 1
        self.message_user(
            request,
            f"Mining contexts for {queued} questions in the background; new contexts appear "
            "under each study with origin 'Mined from interviews'.",
        )

    @admin.action(description="Close the selected studies")
    def close_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        updated = queryset.update(status=Study.Status.CLOSED)
        self.message_user(request, f"{updated} studies closed.")


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
