from django.urls import path
from django.views.i18n import set_language

from elicitation import (
    finish_views,
    legitimacy_views,
    ratification_views,
    resume_views,
    review_views,
    views,
    vote_api,
    withdrawal_views,
)

app_name = "elicitation"

urlpatterns = [
    path("", views.home, name="home"),
    path("s/<slug:slug>/", views.study_start, name="study_start"),
    path("s/<slug:slug>/about-you/", views.demographics, name="demographics"),
    path("s/<slug:slug>/questions/", views.question_choose, name="question_choose"),
    path("s/<slug:slug>/wise-values/", views.wise_values, name="wise_values"),
    path("s/<slug:slug>/stories/", views.upgrade_votes, name="upgrade_votes"),
    path("s/<slug:slug>/stories/vote", vote_api.story_vote, name="story_vote"),
    path("s/<slug:slug>/stories/review/", review_views.stories_review, name="stories_review"),
    path("s/<slug:slug>/survey/", views.survey, name="survey"),
    path("s/<slug:slug>/done/", finish_views.finish, name="finish"),
    path(
        "s/<slug:slug>/done/position/",
        legitimacy_views.position_answer,
        name="finish_position_answer",
    ),
    path(
        "s/<slug:slug>/done/same-value/", legitimacy_views.dedup_answer, name="finish_dedup_answer"
    ),
    path("s/<slug:slug>/ratify/", ratification_views.ratify, name="ratify"),
    path("s/<slug:slug>/withdraw/", withdrawal_views.withdraw, name="withdraw"),
    path("s/<slug:slug>/resume/", resume_views.resume, name="resume"),
    # The language switcher in the page shell posts here (Django's view: a cookie, then back).
    path("language/", set_language, name="set_language"),
    path("interviews/<int:interview_id>/", views.interview_page, name="interview"),
    path("interviews/<int:interview_id>/leave/", views.interview_leave, name="interview_leave"),
]
