"""Staff preview of a study's journey."""

from django.urls import path

from elicitation.staff import preview_views as views

urlpatterns = [
    path("<slug:slug>/preview/", views.study_preview_start, name="study_preview_start"),
]
