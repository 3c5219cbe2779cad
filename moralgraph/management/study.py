"""Shared by the graph's commands: a study's id from its slug."""

from __future__ import annotations

from django.core.management.base import CommandError

from moralgraph import studies


def study_id_for_slug(slug: str) -> int:
    study_id = studies.study_id_for_slug(slug=slug)
    if study_id is None:
        raise CommandError(f"no study with slug {slug!r}")
    return study_id
