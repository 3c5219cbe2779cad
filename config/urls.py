from django.contrib import admin
from django.urls import include, path

from config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("moralgraph.api.urls")),
    path("research/", include("moralgraph.web.urls")),
    path("staff/", include("elicitation.staff.urls")),
    path("", include("elicitation.urls")),
]

# A database outage anywhere answers a friendly 503 page (config/errors.py).
handler500 = "config.errors.server_error"
