from django.urls import path

from moralgraph import views

app_name = "research"

urlpatterns = [
    path("", views.study_list, name="studies"),
    path("<slug:slug>/", views.study_detail, name="study"),
    path("<slug:slug>/build/", views.snapshot_build_request, name="snapshot_build"),
    path("<slug:slug>/snapshots/<int:snapshot_id>/", views.study_detail, name="snapshot"),
    path(
        "<slug:slug>/snapshots/<int:snapshot_id>/diff/", views.snapshot_diff, name="snapshot_diff"
    ),
    path(
        "<slug:slug>/snapshots/<int:snapshot_id>/export/<str:fmt>",
        views.snapshot_export,
        name="snapshot_export",
    ),
]
