"""The graph's admin: hiding a value (moderation) goes through a service, so the study's live
graph is rebuilt without it; showing it again does the same."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from elicitation.models import Study
from moralgraph.models import GraphRebuildState, Value

pytestmark = pytest.mark.django_db

VALUES_URL = "/admin/moralgraph/value/"


@pytest.fixture
def sent() -> Iterator[mock.MagicMock]:
    """The rebuild tasks sent to the broker (by study id)."""
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send") as send:
        yield send


def _moderate(client: Client, action: str, values: list[Value]) -> str:
    admin = get_user_model().objects.create_superuser("mod", password="a-long-passphrase-123")
    client.force_login(admin)
    response = client.post(
        VALUES_URL,
        {"action": action, "_selected_action": [str(v.pk) for v in values]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_hiding_values_requests_a_rebuild_of_each_study(
    client: Client, sent: mock.MagicMock, django_capture_on_commit_callbacks: object
) -> None:
    studies = [Study.objects.create(slug=f"s{i}", title=f"S{i}") for i in range(2)]
    values = [
        Value.objects.create(study=study, title=f"V{i}", description="d", policies=["P"])
        for i, study in enumerate(studies)
    ]
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        page = _moderate(client, "hide_values", values)
    assert "2 values hidden" in page
    assert set(Value.objects.values_list("status", flat=True)) == {Value.Status.HIDDEN}
    assert sorted(call.args[0] for call in sent.call_args_list) == sorted(s.pk for s in studies)
    for study in studies:
        state = GraphRebuildState.objects.get(study=study)
        assert state.requested_seq == 1
        assert state.is_queued


def test_showing_a_hidden_value_again_requests_a_rebuild(
    client: Client, sent: mock.MagicMock, django_capture_on_commit_callbacks: object
) -> None:
    study = Study.objects.create(slug="s", title="S")
    hidden = Value.objects.create(
        study=study, title="V", description="d", policies=["P"], status=Value.Status.HIDDEN
    )
    shown = Value.objects.create(study=study, title="W", description="d", policies=["P"])
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        page = _moderate(client, "show_values", [hidden, shown])
    assert "1 value shown" in page  # the one already shown is not counted
    assert Value.objects.get(pk=hidden.pk).status == Value.Status.ACTIVE
    assert [call.args[0] for call in sent.call_args_list] == [study.pk]
