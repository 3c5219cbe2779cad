"""Who may see what on the staff pages, in one place.

An admin (a superuser) sees every study. A researcher (a staff user who is a member of a study)
sees only their studies: another study's pages answer 404, so its existence is not revealed.
Anyone else is sent to the login page, as `staff_member_required` does. Creating a study and
choosing a study's researchers are for admins only (403 for a researcher)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from elicitation import selectors

View = Callable[..., HttpResponseBase]


def visible_study_ids(user: Any) -> set[int] | None:
    """The ids of the studies `user` may see; None means every study (an admin)."""
    if user.is_superuser:
        return None
    return selectors.member_study_ids(user_id=user.pk)


def staff_required(view: View) -> View:
    """A page for every staff user whose content is filtered by `visible_study_ids`."""
    return staff_member_required(view)


def study_required(view: View) -> View:
    """A page of one study, named by the `slug` in its URL: for its researchers and admins."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, slug: str, **kwargs: Any) -> HttpResponseBase:
        study = selectors.study_get(slug=slug)
        allowed = visible_study_ids(request.user)
        if study is None or (allowed is not None and study.pk not in allowed):
            raise Http404("No such study.")
        return view(request, *args, slug=slug, **kwargs)

    return staff_required(checked)


def admin_required(view: View) -> View:
    """A page for admins only; a researcher gets 403."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_superuser:
            raise PermissionDenied("Only an admin may do this.")
        return view(request, *args, **kwargs)

    return staff_required(checked)
