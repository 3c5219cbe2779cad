"""Erasing a participant on request (the study's researchers and admins)."""

from django.urls import path

from elicitation.staff import erasure_views as views

urlpatterns = [
    path("<slug:slug>/erase/", views.participant_erasure, name="erasure"),
]
