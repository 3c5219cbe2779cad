"""The integrity page of a study: manipulation flags and quarantine."""

from django.urls import path

from elicitation.staff import integrity_views as views

urlpatterns = [
    path("<slug:slug>/integrity/", views.integrity, name="integrity"),
    path(
        "<slug:slug>/integrity/quarantine/",
        views.integrity_quarantine,
        name="integrity_quarantine",
    ),
    path("<slug:slug>/integrity/release/", views.integrity_release, name="integrity_release"),
]
