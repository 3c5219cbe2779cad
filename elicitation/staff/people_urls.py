"""Staff pages for a study's researchers (admins only)."""

from django.urls import path

from elicitation.staff import people_views as views

urlpatterns = [
    path("<slug:slug>/people/", views.study_people, name="study_people"),
    path(
        "<slug:slug>/people/<int:user_id>/remove/",
        views.study_person_remove,
        name="study_person_remove",
    ),
]
