from django.urls import path

from elicitation.interview.consumer import InterviewConsumer
from elicitation.staff.dashboard_consumer import DashboardConsumer

websocket_urlpatterns = [
    path("ws/interviews/<int:interview_id>/", InterviewConsumer.as_asgi()),
    path("ws/staff/<slug:slug>/dashboard/", DashboardConsumer.as_asgi()),
]
