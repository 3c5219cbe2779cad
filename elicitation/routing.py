from django.urls import path

from elicitation.consumers import InterviewConsumer

websocket_urlpatterns = [
    path("ws/interviews/<int:interview_id>/", InterviewConsumer.as_asgi()),
]
