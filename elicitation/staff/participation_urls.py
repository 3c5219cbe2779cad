"""Staff pages for who takes part: the study's state, invite codes, panel settings."""

from django.urls import path

from elicitation.staff import participation_views as views

urlpatterns = [
    path("<slug:slug>/participation/", views.study_participation, name="study_participation"),
    path("<slug:slug>/participation/state/", views.study_state, name="study_state"),
    path("<slug:slug>/invite-codes/", views.invite_codes, name="invite_codes"),
    path("<slug:slug>/invite-codes.csv", views.invite_codes_csv, name="invite_codes_csv"),
    path(
        "<slug:slug>/invite-codes/<int:code_id>/free/",
        views.invite_code_free,
        name="invite_code_free",
    ),
    path("<slug:slug>/panel/", views.panel_settings, name="panel_settings"),
]
