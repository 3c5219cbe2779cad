"""Staff pages for a study's set-up: the list, creating and editing, questions, demographics."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
