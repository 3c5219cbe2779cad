"""The study's live dashboard."""

from django.urls import path

from elicitation.staff import dashboard_views as views

urlpatterns = [
    path("<slug:slug>/dashboard/", views.study_dashboard, name="dashboard"),
]
