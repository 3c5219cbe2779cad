"""The language of a request: Django's LocaleMiddleware (the switcher's cookie, else the
browser's Accept-Language, else English) for the participant's pages; the staff, research
and admin pages are written in English only, so they stay English whatever the browser
asks for (an English page announced as Arabic would be read and laid out wrongly)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

ENGLISH_ONLY_PREFIXES = ("/staff/", "/research/", "/admin/")


class ParticipantLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(ENGLISH_ONLY_PREFIXES):
            translation.activate(translation.get_supported_language_variant(settings.LANGUAGE_CODE))
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)
