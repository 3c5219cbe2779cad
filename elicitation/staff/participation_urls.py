"""Staff pages for who takes part: the study's state, invite codes, panel settings."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
