"""The staff pages' URLs, mounted at /staff/. Each concern keeps its own list."""

from elicitation.staff.contexts_urls import urlpatterns as contexts_urls
from elicitation.staff.participation_urls import urlpatterns as participation_urls
from elicitation.staff.people_urls import urlpatterns as people_urls
from elicitation.staff.preview_urls import urlpatterns as preview_urls
from elicitation.staff.study_urls import urlpatterns as study_urls

app_name = "staff"

urlpatterns = [*study_urls, *participation_urls, *people_urls, *preview_urls, *contexts_urls]
