"""Writes to who researches a study: an admin adds or removes a study's researchers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from elicitation.errors import ApplicationError
from elicitation.models import StudyMembership


@transaction.atomic
def study_member_add(*, study_id: int, username: str, added_by_id: int | None) -> StudyMembership:
    """Make the staff user called `username` a researcher of the study."""
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        raise ApplicationError(
            "no_such_user",
            f"There is no account called “{username.strip()}”. Create it in the admin first.",
        )
    if user.is_superuser:
        raise ApplicationError("already_admin", f"{user} is an admin and sees every study.")
    if not user.is_staff:
        raise ApplicationError(
            "not_staff",
            f"{user} cannot sign in to the staff pages: give them staff status in the admin.",
        )
    membership, created = StudyMembership.objects.get_or_create(
        study_id=study_id, user=user, defaults={"added_by_id": added_by_id}
    )
    if not created:
        raise ApplicationError("already_member", f"{user} is already a researcher here.")
    return membership


@transaction.atomic
def study_member_remove(*, study_id: int, user_id: int) -> bool:
    """Take the user off the study's researchers; False when they were not one."""
    deleted, _ = StudyMembership.objects.filter(study_id=study_id, user_id=user_id).delete()
    return deleted > 0
