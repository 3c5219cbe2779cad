from django.urls import path

from elicitation.interview.consumer import InterviewConsumer

websocket_urlpatterns = [
    path("ws/interviews/<int:interview_id>/", InterviewConsumer.as_asgi()),
]
