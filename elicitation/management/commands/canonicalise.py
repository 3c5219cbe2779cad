"""manage.py canonicalise SLUG: give every card of the study without a value its value."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from elicitation.models import Study
from elicitation.services import study_cards_canonicalise
from moralgraph.services import MoralGraphError


class Command(BaseCommand):
    help = "Canonicalise the study's cards that have no canonical value yet (batch)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        study_id = Study.objects.filter(slug=options["slug"]).values_list("id", flat=True).first()
        if study_id is None:
            raise CommandError(f"no study with slug {options['slug']!r}")
        start = time.perf_counter()
        try:
            report = study_cards_canonicalise(study_id=study_id)
        except MoralGraphError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"{report['cards']} card(s): {report['merged']} merged into existing values, "
            f"{report['new_values']} new value(s) ({time.perf_counter() - start:.1f} s)"
        )
