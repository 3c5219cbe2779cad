"""Shared by the graph's commands: a study's id from its slug, through our own relation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from moralgraph.models import Value

Study: Any = Value._meta.get_field("study").related_model


def study_id_for_slug(slug: str) -> int:
    study_id = Study.objects.filter(slug=slug).values_list("id", flat=True).first()
    if study_id is None:
        raise CommandError(f"no study with slug {slug!r}")
    return int(study_id)
