from django.urls import path

from moralgraph.web import (
    api_token_views,
    explorer_views,
    job_views,
    live_views,
    pipeline_views,
    ratification_views,
    snapshot_views,
)

app_name = "research"

urlpatterns = [
    path("", snapshot_views.study_list, name="studies"),
    path("<slug:slug>/", snapshot_views.study_detail, name="study"),
    path("<slug:slug>/live.json", live_views.live_winners_json, name="live_winners"),
    path("<slug:slug>/build/", snapshot_views.snapshot_build_request, name="snapshot_build"),
    path("<slug:slug>/api-tokens/", api_token_views.api_tokens, name="api_tokens"),
    path("<slug:slug>/api-tokens/issue/", api_token_views.api_token_issue, name="api_token_issue"),
    path(
        "<slug:slug>/api-tokens/revoke/",
        api_token_views.api_token_revoke,
        name="api_token_revoke",
    ),
    path("<slug:slug>/ratification/", ratification_views.ratification, name="ratification"),
    path(
        "<slug:slug>/ratification/open/",
        ratification_views.ratification_open,
        name="ratification_open",
    ),
    path(
        "<slug:slug>/ratification/close/",
        ratification_views.ratification_close,
        name="ratification_close",
    ),
    path(
        "<slug:slug>/pipeline/cards/", pipeline_views.pipeline_cards_request, name="pipeline_cards"
    ),
    path(
        "<slug:slug>/pipeline/stories/",
        pipeline_views.pipeline_stories_request,
        name="pipeline_stories",
    ),
    path(
        "<slug:slug>/pipeline/sweep/", pipeline_views.pipeline_sweep_request, name="pipeline_sweep"
    ),
    path(
        "<slug:slug>/build/named/",
        snapshot_views.snapshot_build_named_request,
        name="snapshot_build_named",
    ),
    path("<slug:slug>/diff/", snapshot_views.study_diff, name="study_diff"),
    path("<slug:slug>/snapshots/<int:snapshot_id>/", snapshot_views.study_detail, name="snapshot"),
    path(
        "<slug:slug>/snapshots/<int:snapshot_id>/diff/",
        snapshot_views.snapshot_diff,
        name="snapshot_diff",
    ),
    path(
        "<slug:slug>/snapshots/<int:snapshot_id>/export/<str:fmt>",
        snapshot_views.snapshot_export,
        name="snapshot_export",
    ),
    path(
        "<slug:slug>/snapshots/<int:snapshot_id>/values/<int:value_id>.json",
        explorer_views.value_details_json,
        name="snapshot_value",
    ),
    path(
        "<slug:slug>/snapshots/<int:snapshot_id>/jobs/",
        job_views.inference_job_start_request,
        name="job_start",
    ),
    path("<slug:slug>/jobs/<int:job_id>.json", job_views.inference_job_status, name="job_status"),
    path(
        "<slug:slug>/jobs/<int:job_id>/stop/", job_views.inference_job_stop_request, name="job_stop"
    ),
    path(
        "<slug:slug>/jobs/<int:job_id>/resume/",
        job_views.inference_job_resume_request,
        name="job_resume",
    ),
    path(
        "<slug:slug>/jobs/<int:job_id>/files/<path:name>",
        job_views.inference_job_file,
        name="job_file",
    ),
]
