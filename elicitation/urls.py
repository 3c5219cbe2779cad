from django.urls import path

from elicitation import views

app_name = "elicitation"

urlpatterns = [
    path("", views.home, name="home"),
    path("s/<slug:slug>/", views.study_start, name="study_start"),
    path("s/<slug:slug>/questions/", views.question_choose, name="question_choose"),
    path("s/<slug:slug>/next/", views.after_card, name="after_card"),
    path("interviews/<int:interview_id>/", views.interview_page, name="interview"),
]
