"""A study's API tokens page (research pages, study access rules): issue a token for the
values API (`/api/v1/`), shown once and stored only as a hash, and revoke tokens. A study's
researchers issue and revoke tokens for their study; only admins issue or revoke tokens that
read every study. Thin: the writes are moralgraph/api/tokens.py's services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from moralgraph.api import tokens
from moralgraph.errors import MoralGraphError
from moralgraph.models import MAX_TOKEN_NAME
from moralgraph.studies import StudyRef
from moralgraph.web.access import study_required
from moralgraph.web.lookups import study_or_404

SCOPE_STUDY = "study"
SCOPE_ALL = "all"


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=MAX_TOKEN_NAME,
        help_text="who or what uses it, e.g. “support assistant, staging”",
    )
    scope = forms.ChoiceField(
        label="Reads",
        choices=[(SCOPE_STUDY, "this study only"), (SCOPE_ALL, "every study (admins only)")],
        initial=SCOPE_STUDY,
    )

    def __init__(self, *args: Any, is_admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope = self.fields["scope"]
        if not is_admin and isinstance(scope, forms.ChoiceField):
            scope.choices = [(SCOPE_STUDY, "this study only")]


def _is_admin(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_superuser", False))


def _page(
    request: HttpRequest,
    study: StudyRef,
    form: ApiTokenForm,
    issued: tokens.IssuedToken | None = None,
) -> HttpResponse:
    is_admin = _is_admin(request)
    rows = tokens.api_tokens_for_study(study_id=study.id, with_global=is_admin)
    guidance_url = request.build_absolute_uri(reverse("api:guidance", args=[study.slug]))
    context = {
        "study": study,
        "form": form,
        "issued": issued,
        "study_tokens": [r for r in rows if r.study_id is not None],
        "global_tokens": [r for r in rows if r.study_id is None],
        "is_admin": is_admin,
        "guidance_url": guidance_url,
        "openapi_url": request.build_absolute_uri(reverse("api:openapi")),
    }
    response = render(request, "moralgraph/api_tokens.html", context)
    response["Cache-Control"] = "no-store"  # the page may show a token, once
    return response


@require_GET
@study_required
def api_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    return _page(request, study, ApiTokenForm(is_admin=_is_admin(request)))


@require_POST
@study_required
def api_token_issue(request: HttpRequest, slug: str) -> HttpResponse:
    """Issue a token and show it on this answer only (never stored, never redirected to)."""
    study = study_or_404(slug)
    is_admin = _is_admin(request)
    form = ApiTokenForm(request.POST, is_admin=is_admin)
    if not form.is_valid():
        return _page(request, study, form)
    is_global = form.cleaned_data["scope"] == SCOPE_ALL and is_admin
    try:
        issued = tokens.api_token_issue(
            name=form.cleaned_data["name"],
            study_id=None if is_global else study.id,
            created_by_id=request.user.pk,
        )
    except MoralGraphError as error:
        form.add_error("name", error.message)
        return _page(request, study, form)
    return _page(request, study, ApiTokenForm(is_admin=is_admin), issued)


@require_POST
@study_required
def api_token_revoke(request: HttpRequest, slug: str) -> HttpResponse:
    study = study_or_404(slug)
    raw = request.POST.get("token", "")
    if not (raw.isascii() and raw.isdigit()):
        messages.error(request, "Choose a token to revoke.")
        return redirect("research:api_tokens", slug=study.slug)
    try:
        row = tokens.api_token_revoke(
            token_id=int(raw), study_id=study.id, may_revoke_global=_is_admin(request)
        )
    except MoralGraphError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Token “{row.name}” is revoked: it no longer works.")
    return redirect("research:api_tokens", slug=study.slug)
