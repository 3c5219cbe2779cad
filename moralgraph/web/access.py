"""Who may see what on the research pages, in one place (the same rule as the staff pages').

An admin (a superuser) sees every study; a researcher (a staff member of a study) sees only
their studies, and another study's pages answer 404 so its existence is not revealed; anyone
else is sent to the login page. Memberships are read through moralgraph/studies.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from moralgraph import studies

View = Callable[..., HttpResponseBase]


def visible_study_ids(user: Any) -> set[int] | None:
    """The ids of the studies `user` may see; None means every study."""
    return studies.study_ids_for_user(user_id=user.pk)


def staff_required(view: View) -> View:
    """A page for every staff user whose content is filtered by `visible_study_ids`."""
    return staff_member_required(view)


def study_required(view: View) -> View:
    """A page of one study, named by the `slug` in its URL: for its researchers and admins."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, slug: str, **kwargs: Any) -> HttpResponseBase:
        study_id = studies.study_id_for_slug(slug=slug)
        allowed = visible_study_ids(request.user)
        if study_id is None or (allowed is not None and study_id not in allowed):
            raise Http404("No such study.")
        return view(request, *args, slug=slug, **kwargs)

    return staff_required(checked)
