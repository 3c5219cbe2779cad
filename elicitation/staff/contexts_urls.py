"""Staff pages for a study's contexts: per question, typed, generated, mined and reviewed."""

from django.urls import URLPattern, path

from elicitation.staff import contexts_views as views

urlpatterns: list[URLPattern] = [
    path("<slug:slug>/contexts/", views.contexts, name="contexts"),
    path("<slug:slug>/contexts/<int:question_id>/add/", views.context_add, name="context_add"),
    path(
        "<slug:slug>/contexts/<int:question_id>/generate/",
        views.contexts_generate,
        name="contexts_generate",
    ),
    path("<slug:slug>/contexts/<int:question_id>/mine/", views.contexts_mine, name="contexts_mine"),
    path(
        "<slug:slug>/contexts/item/<int:context_id>/review/",
        views.context_review,
        name="context_review",
    ),
    path("<slug:slug>/contexts/item/<int:context_id>/", views.context_edit, name="context_edit"),
]
