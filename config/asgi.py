"""ASGI entry point: HTTP through Django (each request in one hop to a thread:
config/http_handler.py), WebSockets through Channels (origin-checked, port included:
config/ws_origin.py; session-authenticated)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.http_handler import ThreadedASGIHandler  # noqa: E402
from config.ws_origin import SameOriginValidator  # noqa: E402
from elicitation.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": ThreadedASGIHandler(),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
