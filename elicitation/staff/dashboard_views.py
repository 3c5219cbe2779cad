"""The study's live dashboard: the page renders the figures once, and `dashboard.js` keeps
them current over the dashboard socket (`elicitation.staff.dashboard_consumer`)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from elicitation import selectors
from elicitation.staff.access import study_required
from elicitation.staff.lookups import study_or_404


def channel_layer_is_shared() -> bool:
    """Whether events reach every server process (Redis), not just the one that made them."""
    backend = str(settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", ""))
    return not backend.endswith("InMemoryChannelLayer")


@study_required
@require_GET
def study_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    return render(
        request,
        "elicitation/staff/dashboard.html",
        {
            "study": study,
            "figures": selectors.study_dashboard(study_id=study.pk),
            "socket_path": f"/ws/staff/{study.slug}/dashboard/",
            "layer_is_shared": channel_layer_is_shared(),
        },
    )
