"""The study's exports page and its downloads: one named URL per file, so each has its rule
in the authorisation matrix."""

from django.urls import path

from elicitation.selectors.exports import EXPORT_TABLES
from elicitation.staff import export_views as views

urlpatterns = [
    path("<slug:slug>/exports/", views.exports, name="exports"),
    *[
        path(
            f"<slug:slug>/exports/{table}.csv",
            views.export_table,
            {"table": table},
            name=f"export_{table}",
        )
        for table in EXPORT_TABLES
    ],
    *[
        path(
            f"<slug:slug>/exports/polis/{table}.csv",
            views.export_polis_file,
            {"table": table},
            name=f"export_polis_{table.replace('-', '_')}",
        )
        for table in views.POLIS_NOTES
    ],
    path("<slug:slug>/exports/polis.zip", views.export_polis_zip, name="export_polis_zip"),
]
