"""The moderation queue: cards held before other participants see them, and the log."""

from django.urls import URLPattern, path

from elicitation.staff import moderation_views as views

urlpatterns: list[URLPattern] = [
    path("<slug:slug>/moderation/", views.moderation, name="moderation"),
    path("<slug:slug>/moderation/decide/", views.moderation_decide, name="moderation_decide"),
]
