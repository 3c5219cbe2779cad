"""The staff pages' URLs, mounted at /staff/. Each concern keeps its own list."""

from elicitation.staff.participation_urls import urlpatterns as participation_urls
from elicitation.staff.study_urls import urlpatterns as study_urls

app_name = "staff"

urlpatterns = [*study_urls, *participation_urls]
