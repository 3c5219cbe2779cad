"""The staff pages' URLs, mounted at /staff/. Each concern keeps its own list."""

from elicitation.staff.contexts_urls import urlpatterns as contexts_urls
from elicitation.staff.dashboard_urls import urlpatterns as dashboard_urls
from elicitation.staff.erasure_urls import urlpatterns as erasure_urls
from elicitation.staff.export_urls import urlpatterns as export_urls
from elicitation.staff.integrity_urls import urlpatterns as integrity_urls
from elicitation.staff.moderation_urls import urlpatterns as moderation_urls
from elicitation.staff.participation_urls import urlpatterns as participation_urls
from elicitation.staff.people_urls import urlpatterns as people_urls
from elicitation.staff.preview_urls import urlpatterns as preview_urls
from elicitation.staff.report_urls import urlpatterns as report_urls
from elicitation.staff.study_urls import urlpatterns as study_urls

app_name = "staff"

urlpatterns = [
    *study_urls,
    *participation_urls,
    *people_urls,
    *preview_urls,
    *contexts_urls,
    *moderation_urls,
    *dashboard_urls,
    *export_urls,
    *report_urls,
    *erasure_urls,
    *integrity_urls,
]
