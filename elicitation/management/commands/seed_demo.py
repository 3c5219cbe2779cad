"""Seed the demo study (idempotent) and an admin account whose password is kept in var/."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from elicitation.services import demo_study_seed


class Command(BaseCommand):
    help = "Create or update the demo study and the local admin account."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--admin-user", default="admin")
        parser.add_argument(
            "--no-admin", action="store_true", help="Seed the study only, no admin account."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = demo_study_seed()
        self.stdout.write(f"demo study: /s/{study.slug}/ ({study.questions.count()} questions)")
        if options["no_admin"]:
            return
        password_file = Path(settings.VAR_DIR) / "admin-password.txt"
        if password_file.exists():
            password = password_file.read_text().strip()
        else:
            password = secrets.token_urlsafe(12)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=options["admin_user"], defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"admin user: {user.username}")
        self.stdout.write(f"admin password: {password}")
