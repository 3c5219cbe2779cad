"""Staff pages for a study's set-up: the list, creating and editing, questions, demographics."""

from django.urls import URLPattern, path

from elicitation.staff import study_views as views

urlpatterns: list[URLPattern] = [
    path("", views.study_list, name="studies"),
    path("new/", views.study_create, name="study_create"),
    path("<slug:slug>/", views.study_edit, name="study_edit"),
    path("<slug:slug>/questions/add/", views.question_add, name="question_add"),
    path("<slug:slug>/questions/<int:question_id>/", views.question_edit, name="question_edit"),
    path(
        "<slug:slug>/questions/<int:question_id>/move/",
        views.question_move,
        name="question_move",
    ),
    path(
        "<slug:slug>/questions/<int:question_id>/delete/",
        views.question_delete,
        name="question_delete",
    ),
    path("<slug:slug>/about-you/", views.demographics, name="demographics"),
    path("<slug:slug>/about-you/<str:key>/", views.demographic_edit, name="demographic_edit"),
    path("<slug:slug>/about-you/<str:key>/move/", views.demographic_move, name="demographic_move"),
    path(
        "<slug:slug>/about-you/<str:key>/delete/",
        views.demographic_delete,
        name="demographic_delete",
    ),
]
