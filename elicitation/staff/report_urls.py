"""Staff report of a study: the legitimacy checks, the survey and the funnel."""

from django.urls import path

from elicitation.staff import report_views as views

urlpatterns = [
    path("<slug:slug>/report/", views.study_report_page, name="report"),
]
