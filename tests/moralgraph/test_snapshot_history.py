"""The snapshot history: live rebuilds keep it small (the newest live snapshot, plus any an
inference job uses), named snapshots are kept forever; the build-options form on the study page;
the diff between any two snapshots; `build_graph --name`."""

from __future__ import annotations

from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from elicitation.models import Participant, Question, Study
from moralgraph import services, tasks
from moralgraph.models import GraphRebuildState, GraphSnapshot, InferenceJob, Value
from moralgraph.selectors import snapshots as snapshot_selectors
from moralgraph.services import named_snapshots, snapshots
from tests.factories import FAST_PARAMS as FAST

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user(
        username="researcher", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    return client


class Small:
    """A study with values and one context; votes cast through the service."""

    def __init__(self, slug: str = "small", values: int = 6) -> None:
        self.study = Study.objects.create(slug=slug, title=f"Study {slug}")
        question = Question.objects.create(study=self.study, title="Q", text="What now?")
        self.context_id = services.context_ensure(
            study_id=self.study.pk, text="When in doubt", question_ids=[question.pk]
        )
        self.values = [
            Value.objects.create(
                study=self.study, title=f"Value {i}", description="d", policies=["P"]
            )
            for i in range(values)
        ]

    def vote(self, a: int, b: int, choice: str = "upgrade") -> None:
        participant = Participant.objects.create(study=self.study)
        services.upgrade_vote_cast(
            participant_id=participant.pk,
            from_value_id=self.values[a].pk,
            to_value_id=self.values[b].pk,
            context_id=self.context_id,
            choice=choice,
        )


def live(study: Study) -> list[GraphSnapshot]:
    return list(GraphSnapshot.objects.filter(study=study, is_live=True).order_by("id"))


# --- live rebuilds are compacted; named and used ones are kept --------------------------------


def test_live_rebuilds_keep_the_history_small() -> None:
    small = Small()
    named: list[GraphSnapshot] = []
    job_snapshot: GraphSnapshot | None = None
    for i in range(24):
        small.vote(i % 5, i % 5 + 1, choice=("upgrade", "upgrade", "not_sure")[i % 3])
        built = snapshots.snapshot_rebuild_run(study_id=small.study.pk)
        assert built is not None
        assert built.is_live
        assert built.vote_count == i + 1
        if i in (4, 15):
            named.append(
                named_snapshots.snapshot_build_named(
                    study_id=small.study.pk, name=f"after {i + 1} votes", params=FAST
                )
            )
        if i == 9:  # a researcher starts a job on the live snapshot of the moment
            job_snapshot = built
            InferenceJob.objects.create(snapshot=built, kind=InferenceJob.Kind.TARGETS)
        if i >= 10:
            assert len(live(small.study)) <= 2

    assert job_snapshot is not None
    kept = live(small.study)
    newest = kept[-1]
    assert [s.pk for s in kept] == [job_snapshot.pk, newest.pk]
    assert newest.vote_count == 24
    assert GraphRebuildState.objects.get(study=small.study).last_snapshot_id == newest.pk
    assert InferenceJob.objects.filter(snapshot=job_snapshot).count() == 1
    # Named snapshots are all kept, unchanged, and are not live.
    stored = GraphSnapshot.objects.filter(study=small.study).exclude(name="").order_by("id")
    assert [(s.pk, s.name, s.vote_count) for s in stored] == [
        (named[0].pk, "after 5 votes", 5),
        (named[1].pk, "after 16 votes", 16),
    ]
    assert not any(s.is_live for s in stored)
    assert GraphSnapshot.objects.filter(study=small.study).count() == 4


def test_a_named_snapshot_of_the_live_content_is_its_own_row() -> None:
    small = Small()
    small.vote(0, 1)
    live_params = snapshots.live_params()
    current = snapshots.snapshot_rebuild_run(study_id=small.study.pk)
    assert current is not None
    named = named_snapshots.snapshot_build_named(
        study_id=small.study.pk, name="same as live", params=live_params
    )
    assert named.pk != current.pk
    assert named.content_hash == current.content_hash
    # The graph that follows the votes is the live one, not the newer named one.
    assert snapshot_selectors.snapshot_live_get(study_id=small.study.pk) == current
    # A second build under the same name returns it (a redelivered task), even after votes.
    small.vote(1, 2)
    again = named_snapshots.snapshot_build_named(
        study_id=small.study.pk, name="same as live", params=FAST
    )
    assert again.pk == named.pk
    newer = snapshots.snapshot_rebuild_run(study_id=small.study.pk)
    assert newer is not None
    assert set(GraphSnapshot.objects.values_list("pk", flat=True)) == {named.pk, newer.pk}


# --- the build-options form -------------------------------------------------------------------


def test_the_build_form_builds_a_named_snapshot_with_the_chosen_parameters(
    staff: Client, django_capture_on_commit_callbacks: Any
) -> None:
    small = Small()
    for i in range(4):
        small.vote(i, i + 1)
    page = staff.get(reverse("research:study", args=["small"])).content.decode()
    action = reverse("research:snapshot_build_named", args=["small"])
    assert f'action="{action}#build"' in page
    for label in ("Name", "Mode", "Minimum wiser votes", "Bootstrap resamples (B)"):
        assert f">{label}</label>" in page

    form = {
        "name": "  Round one  ",
        "mode": "context",
        "min_wiser": "1",
        "min_likelihood": "0.25",
        "max_entropy": "1.5",
        "bootstrap": "20",
        "before": "2030-01-02T03:04",
    }
    with (
        mock.patch("moralgraph.services.named_snapshots.current_app") as celery,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = staff.post(action, form)
    assert response.status_code == 302
    assert response["Location"].endswith("?building=Round+one#build")
    (call,) = celery.send_task.call_args_list
    assert call.args[0] == "moralgraph.tasks.snapshot_build_named"
    args = call.kwargs["args"]
    assert args[:2] == [small.study.pk, "Round one"]
    assert args[3] == "2030-01-02T03:04:00Z"
    building = staff.get(response["Location"]).content.decode()
    assert "Snapshot “Round one” is building…" in building

    # The worker's part, run here with the task's arguments.
    snapshot_id = tasks.snapshot_build_named(*args)
    snapshot = GraphSnapshot.objects.get(pk=snapshot_id)
    assert snapshot.name == "Round one"
    assert not snapshot.is_live
    assert snapshot.vote_count == 4
    assert {k: snapshot.parameters[k] for k in form if k in snapshot.parameters} == {
        "mode": "context",
        "min_wiser": 1,
        "min_likelihood": 0.25,
        "max_entropy": 1.5,
        "bootstrap": 20,
    }
    assert snapshot.filters == {"created_before": "2030-01-02T03:04:00Z"}
    ready = staff.get(response["Location"]).content.decode()
    assert "Snapshot “Round one” is ready" in ready
    assert reverse("research:snapshot", args=["small", snapshot.pk]) in ready
    history = ready[ready.index('id="history-heading"') :]
    assert '<strong class="snapshot-name">Round one</strong>' in history


def test_the_build_form_rejects_bad_input_next_to_the_fields(
    staff: Client, django_capture_on_commit_callbacks: Any
) -> None:
    small = Small()
    small.vote(0, 1)
    named_snapshots.snapshot_build_named(study_id=small.study.pk, name="taken", params=FAST)
    action = reverse("research:snapshot_build_named", args=["small"])
    bad = {
        "name": "taken",
        "mode": "global",
        "min_wiser": "0",
        "min_likelihood": "1.5",
        "max_entropy": "-1",
        "bootstrap": "5000",
        "before": "last tuesday",
    }
    with (
        mock.patch("moralgraph.services.named_snapshots.current_app") as celery,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = staff.post(action, bad)
    assert response.status_code == 200
    assert celery.send_task.call_count == 0
    assert GraphSnapshot.objects.count() == 1
    html = response.content.decode()
    form = html[html.index('id="build-heading"') : html.index("</form>", html.index('id="build'))]

    def error_of(field: str) -> str:
        start = form.index(f'id="id_{field}_error"')
        return form[start : form.index("</p>", start)]

    assert "already has a snapshot with that name" in error_of("name")
    assert "Select a valid choice" in error_of("mode")
    assert "greater than or equal to 1" in error_of("min_wiser")
    assert "less than or equal to 1" in error_of("min_likelihood")
    assert "greater than or equal to 0" in error_of("max_entropy")
    assert "less than or equal to 1000" in error_of("bootstrap")
    assert "Enter a valid date/time" in error_of("before")
    # What was typed is kept for correction.
    assert 'value="5000"' in form
    assert 'value="last tuesday"' in form
    # An empty name is refused too.
    empty = staff.post(action, {**bad, "name": "  ", "mode": "reference"}).content.decode()
    assert 'id="id_name_error"' in empty
    assert "This field is required." in empty


def test_build_options_and_diffs_are_for_staff_only(
    staff: Client, django_user_model: Any, django_capture_on_commit_callbacks: Any
) -> None:
    small = Small()
    small.vote(0, 1)
    one = snapshots.snapshot_build(study_id=small.study.pk, params=FAST)
    member = django_user_model.objects.create_user(username="participant")
    not_staff = Client()
    not_staff.force_login(member)
    build = reverse("research:snapshot_build_named", args=["small"])
    diff = reverse("research:study_diff", args=["small"]) + f"?from={one.pk}&to={one.pk}"
    form = {"name": "x", "mode": "reference", "min_wiser": 2, "min_likelihood": 0.3}
    with mock.patch("moralgraph.services.named_snapshots.current_app") as celery:
        with django_capture_on_commit_callbacks(execute=True):
            for client in (Client(), not_staff):
                for response in (client.get(diff), client.post(build, form)):
                    assert response.status_code == 302
                    assert response["Location"].startswith("/admin/login/?next=")
        assert celery.send_task.call_count == 0
    assert staff.get(diff).status_code == 200
    assert staff.get(build).status_code == 405  # only a POST builds


# --- a diff between any two snapshots -----------------------------------------------------------


def test_the_diff_compares_any_two_snapshots_of_the_study(staff: Client) -> None:
    small = Small(values=4)
    small.vote(0, 1)
    small.vote(0, 1)
    first = snapshots.snapshot_build(study_id=small.study.pk, params=FAST)
    small.vote(2, 3)
    middle = snapshots.snapshot_build(study_id=small.study.pk, params=FAST)
    small.vote(2, 3)
    last = snapshots.snapshot_build(study_id=small.study.pk, params=FAST)
    url = reverse("research:study_diff", args=["small"])

    page = staff.get(f"{url}?from={first.pk}&to={last.pk}").content.decode()
    start = page.index('id="gained-heading"')
    gained = page[start : page.index("</section>", start)]
    assert "Value 2 → <strong>Value 3</strong>" in gained
    # Both sides are picked from the history, with the current pair selected.
    assert f'<option value="{first.pk}" selected>' in page.split('name="to"')[0]
    assert f'<option value="{last.pk}" selected>' in page.split('name="to"')[1]
    assert f'<option value="{middle.pk}">' in page
    # One vote of the pair is not enough for an edge (wiser ≥ 2): first → middle gains none.
    step = staff.get(f"{url}?from={first.pk}&to={middle.pk}").content.decode()
    assert "<dt>Edges gained</dt><dd>0</dd>" in step
    # The other way round the edge is lost.
    back = staff.get(f"{url}?from={last.pk}&to={first.pk}").content.decode()
    assert "<dt>Edges lost</dt><dd>1</dd>" in back

    other = Small(slug="other")
    other.vote(0, 1)
    foreign = snapshots.snapshot_build(study_id=other.study.pk, params=FAST)
    for query in (
        f"from={foreign.pk}&to={last.pk}",
        f"from={first.pk}&to={foreign.pk}",
        f"from={first.pk}",
        "from=abc&to=1",
    ):
        assert staff.get(f"{url}?{query}").status_code == 404, query
    other_url = reverse("research:study_diff", args=["other"])
    assert staff.get(f"{other_url}?from={first.pk}&to={foreign.pk}").status_code == 404


# --- build_graph --name -------------------------------------------------------------------------


def test_build_graph_makes_named_snapshots() -> None:
    small = Small()
    small.vote(0, 1)
    out = StringIO()
    call_command(
        "build_graph", "small", "--name", "from the shell", "--mode", "context",
        "--bootstrap", "0", "--before", "2031-01-01T00:00:00Z", stdout=out,
    )  # fmt: skip
    snapshot = GraphSnapshot.objects.get(name="from the shell")
    assert "named “from the shell”" in out.getvalue()
    assert snapshot.parameters["mode"] == "context"
    assert snapshot.filters == {"created_before": "2031-01-01T00:00:00Z"}
    with pytest.raises(CommandError, match="already has a snapshot called"):
        call_command("build_graph", "small", "--name", "from the shell", stdout=StringIO())
    # Without a name: an ad hoc snapshot, neither named nor live.
    call_command("build_graph", "small", "--bootstrap", "0", stdout=StringIO())
    plain = GraphSnapshot.objects.exclude(pk=snapshot.pk).get()
    assert (plain.name, plain.is_live) == ("", False)
