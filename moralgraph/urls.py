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
    path(
        "<slug:slug>/snapshots/<int:snapshot_id>/jobs/",
        views.inference_job_start_request,
        name="job_start",
    ),
    path("<slug:slug>/jobs/<int:job_id>.json", views.inference_job_status, name="job_status"),
    path(
        "<slug:slug>/jobs/<int:job_id>/stop/",
        views.inference_job_stop_request,
        name="job_stop",
    ),
    path(
        "<slug:slug>/jobs/<int:job_id>/resume/",
        views.inference_job_resume_request,
        name="job_resume",
    ),
    path(
        "<slug:slug>/jobs/<int:job_id>/files/<path:name>", views.inference_job_file, name="job_file"
    ),
]
