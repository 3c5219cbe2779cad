"""Withdrawal and erasure follow the data: a participant who withdraws (with the code from the
finish page) or whom staff erase leaves no words behind. Their messages, cards, answers and
votes go; a value only their card supported goes; the next live snapshot does not count them
and no current export holds their text; older snapshots that counted them are superseded
(banner, 410 for their exports) and the inference jobs made from those are listed."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from elicitation import services
from elicitation.errors import ApplicationError
from elicitation.models import (
    Interview,
    Message,
    ModerationAction,
    Participant,
    Question,
    Study,
    SurveyResponse,
    ValuesCard,
)
from elicitation.participant_session import SESSION_PARTICIPANTS_KEY
from moralgraph import services as graph_services
from moralgraph.errors import MoralGraphError
from moralgraph.exports.files import FORMATS
from moralgraph.inference_jobs import services as job_services
from moralgraph.models import (
    GraphSnapshot,
    InferenceJob,
    Selection,
    SnapshotSupersession,
    UpgradeVote,
    Value,
)
from moralgraph.services import snapshots
from tests.factories import FAST_PARAMS, make_admin, make_question, make_researcher, make_study

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Zephyrine candour"  # the withdrawing participant's card, and their value
SECRET_SAID = "My grandmother Zelda taught me to weigh every promise"
SECRET_REASON = "Because Zelda said so"
LIVE = override_settings(MORALGRAPH_LIVE_PARAMS=FAST_PARAMS.as_dict())


@dataclass
class World:
    study: Study
    question: Question
    context_id: int
    shared: Value  # supported by two participants' cards
    other: Value  # no card (imported)
    secret: Value  # only the withdrawing participant's card supports it
    leaver: Participant
    stayers: list[Participant]
    old: GraphSnapshot  # the live snapshot before the withdrawal, with a job on it
    job: InferenceJob


def _card(participant: Participant, question: Question, title: str, value: Value) -> ValuesCard:
    interview = Interview.objects.filter(participant=participant, card__isnull=True).first()
    return ValuesCard.objects.create(
        participant=participant,
        interview=interview,
        question=question,
        title=title,
        description=f"{title}: what it pays attention to.",
        policies=[f"MOMENTS when {title} matters"],
        value=value,
        submitted_at=timezone.now(),
    )


def _vote(participant: Participant, a: Value, b: Value, context_id: int, reason: str = "") -> None:
    graph_services.upgrade_vote_cast(
        participant_id=participant.pk,
        from_value_id=a.pk,
        to_value_id=b.pk,
        context_id=context_id,
        choice="upgrade",
        reason=reason,
    )


def _rebuild(study: Study) -> GraphSnapshot:
    with LIVE:
        built = snapshots.snapshot_rebuild_run(study_id=study.pk)
    assert built is not None
    return built


@pytest.fixture
def world() -> World:
    study = make_study()
    question = make_question(study)
    context_id = graph_services.context_ensure(
        study_id=study.pk, text="When a friend is in trouble", question_ids=[question.pk]
    )
    shared, other, secret = (
        Value.objects.create(study=study, title=t, description=f"{t}, described", policies=[])
        for t in ("Honest loyalty", "Quiet care", SECRET_TITLE)
    )
    leaver = services.participant_consent(study=study)
    interview = services.interview_start(participant=leaver, question=question)
    services.interview_message_add_user(
        interview_id=interview.pk, client_id=uuid.uuid4(), text=SECRET_SAID
    )
    _card(leaver, question, SECRET_TITLE, secret)
    _card(leaver, question, "Honest loyalty, my way", shared)
    SurveyResponse.objects.create(participant=leaver, item="fair", answer=4, text=SECRET_SAID)
    Participant.objects.filter(pk=leaver.pk).update(
        demographics={"age": "30-39"}, stage=Participant.Stage.FINISHED
    )
    leaver.refresh_from_db()
    stayers = [services.participant_consent(study=study) for _ in range(3)]
    _card(stayers[0], question, "Honest loyalty", shared)
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
        for p in stayers:
            _vote(p, other, shared, context_id)
            _vote(p, shared, secret, context_id)
        _vote(leaver, other, shared, context_id, reason=SECRET_REASON)
        _vote(leaver, shared, secret, context_id)
        graph_services.selection_record(
            participant_id=leaver.pk,
            draw_id="d1",
            shown_value_ids=[shared.pk, other.pk],
            picked_value_ids=[shared.pk],
        )
    old = _rebuild(study)
    assert old.participant_count == 4
    assert old.vote_count == 8
    assert SECRET_TITLE in str(old.document)
    job = InferenceJob.objects.create(
        snapshot=old, kind=InferenceJob.Kind.TARGETS, output_dir="/var/mge/jobs/job-1"
    )
    return World(study, question, context_id, shared, other, secret, leaver, stayers, old, job)


def _code(participant: Participant) -> str:
    return services.participant_withdrawal_code(participant=participant)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _assert_leaver_gone(world: World) -> None:
    leaver = Participant.objects.get(pk=world.leaver.pk)
    assert leaver.withdrawn_at is not None
    assert leaver.demographics == {}
    assert not Interview.objects.filter(participant=leaver).exists()
    assert not Message.objects.filter(text__contains="Zelda").exists()
    assert not ValuesCard.objects.filter(participant=leaver).exists()
    assert not SurveyResponse.objects.filter(participant=leaver).exists()
    assert not UpgradeVote.objects.filter(participant=leaver).exists()
    assert not Selection.objects.filter(participant=leaver).exists()
    assert not Value.objects.filter(pk=world.secret.pk).exists()
    assert Value.objects.filter(pk=world.shared.pk).exists()  # another card supports it
    assert not Value.objects.filter(title__contains="Zephyrine").exists()


# --- the whole path: withdraw, rebuild, exports, superseded snapshot, affected jobs --------


def test_withdrawal_follows_the_data_into_snapshots_exports_and_jobs(world: World) -> None:
    outcome = services.participant_withdraw(study_id=world.study.pk, code=_code(world.leaver))

    assert outcome.is_new
    _assert_leaver_gone(world)
    action = ModerationAction.objects.get(participant=world.leaver)
    assert action.action == ModerationAction.Action.WITHDRAWN
    assert action.snapshot_id == world.old.pk
    assert "Zelda" not in action.reason
    assert "Zephyrine" not in action.reason

    # Until the rebuild is stored, the live winners' JSON serves no text.
    researcher = _client(make_researcher(world.study))
    waiting = researcher.get(reverse("research:live_winners", args=[world.study.slug])).json()
    assert waiting == {"snapshot_id": world.old.pk, "superseded": True, "winners": []}

    # The next live snapshot, through the real rebuild, does not count them.
    new = _rebuild(world.study)
    assert new.pk != world.old.pk
    assert new.participant_count == 3
    assert new.vote_count == 3  # the stayers' votes on the secret value went with it
    assert SECRET_TITLE not in str(new.document)
    assert {v["id"] for v in new.document["values"]} == {world.shared.pk, world.other.pk}

    # Every current export of the live snapshot is free of their words.
    for fmt in FORMATS:
        url = reverse("research:snapshot_export", args=[world.study.slug, new.pk, fmt])
        response = researcher.get(url)
        assert response.status_code == 200, fmt
        text = _export_text(response.content, fmt)
        for words in ("Zephyrine", "Zelda", str(world.leaver.public_id)):
            assert words not in text, (fmt, words)

    # The old snapshot is superseded: banner, no text, 410 for exports and value JSON.
    assert SnapshotSupersession.objects.filter(snapshot=world.old).exists()
    assert not SnapshotSupersession.objects.filter(snapshot=new).exists()
    for fmt in FORMATS:
        url = reverse("research:snapshot_export", args=[world.study.slug, world.old.pk, fmt])
        gone = researcher.get(url)
        assert gone.status_code == 410, fmt
        assert b"superseded" in gone.content
        assert b"Zephyrine" not in gone.content
    value_url = reverse(
        "research:snapshot_value", args=[world.study.slug, world.old.pk, world.shared.pk]
    )
    assert researcher.get(value_url).status_code == 410
    page = researcher.get(reverse("research:snapshot", args=[world.study.slug, world.old.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Superseded: a participant withdrew; see the live graph." in html
    assert "Zephyrine" not in html
    diff = researcher.get(
        reverse("research:study_diff", args=[world.study.slug])
        + f"?from={world.old.pk}&to={new.pk}"
    )
    assert diff.status_code == 410

    # The live snapshot serves normally, and the research page lists the affected job.
    live_value = reverse(
        "research:snapshot_value", args=[world.study.slug, new.pk, world.shared.pk]
    )
    assert researcher.get(live_value).status_code == 200
    study_page = researcher.get(reverse("research:study", args=[world.study.slug])).content
    listed = study_page.decode()
    assert "Affected inference outputs" in listed
    assert f'data-affected-job="{world.job.pk}"' in listed
    assert world.job.output_dir in listed
    assert "not deleted" in listed
    assert "Superseded: a participant withdrew" not in listed  # the live graph is shown
    assert '<span class="tag">superseded</span>' in listed  # the old one, in the history
    live_json = researcher.get(reverse("research:live_winners", args=[world.study.slug])).json()
    assert live_json["snapshot_id"] == new.pk

    # No new output can be made from the superseded snapshot, nor an old one resumed.
    with pytest.raises(MoralGraphError) as refused:
        job_services.inference_job_start(snapshot_id=world.old.pk, kind="targets", parameters={})
    assert refused.value.code == "superseded"


def _export_text(content: bytes, fmt: str) -> str:
    if fmt != "csv":
        return content.decode()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(archive.read(name).decode() for name in archive.namelist())


def test_a_snapshot_cut_off_before_they_contributed_is_not_superseded(world: World) -> None:
    first_vote = UpgradeVote.objects.order_by("created_at").values_list("created_at", flat=True)
    named = snapshots.snapshot_build(
        study_id=world.study.pk, params=FAST_PARAMS, name="early", before=first_vote[0]
    )

    outcome = services.participant_withdraw(study_id=world.study.pk, code=_code(world.leaver))

    assert outcome.graph is not None
    assert world.old.pk in outcome.graph.superseded_snapshot_ids
    assert named.pk not in outcome.graph.superseded_snapshot_ids
    researcher = _client(make_researcher(world.study))
    export = reverse("research:snapshot_export", args=[world.study.slug, named.pk, "json"])
    assert researcher.get(export).status_code == 200


# --- the service's edges -------------------------------------------------------------------


def test_withdrawing_twice_is_harmless(world: World) -> None:
    code = _code(world.leaver)
    first = services.participant_withdraw(study_id=world.study.pk, code=code)
    again = services.participant_withdraw(study_id=world.study.pk, code=f" {code.lower()} ")

    assert first.is_new
    assert not again.is_new
    assert ModerationAction.objects.filter(participant=world.leaver).count() == 1
    assert SnapshotSupersession.objects.get(snapshot=world.old).participants_removed == 1
    _assert_leaver_gone(world)


@pytest.mark.parametrize("code", ["", "W-AAAAAAAAAA", "nonsense"])
def test_an_unknown_code_is_refused_and_changes_nothing(world: World, code: str) -> None:
    _code(world.leaver)
    with pytest.raises(ApplicationError) as refused:
        services.participant_withdraw(study_id=world.study.pk, code=code)

    assert refused.value.code == "unknown_code"
    assert Participant.objects.get(pk=world.leaver.pk).withdrawn_at is None
    assert UpgradeVote.objects.filter(participant=world.leaver).count() == 2


def test_a_code_of_another_study_is_unknown_here(world: World) -> None:
    elsewhere = services.participant_consent(study=make_study())
    with pytest.raises(ApplicationError):
        services.participant_withdraw(study_id=world.study.pk, code=_code(elsewhere))


def test_a_preview_participant_withdraws_without_superseding_anything(world: World) -> None:
    staff = make_admin()
    preview = services.participant_preview_start(study_id=world.study.pk, user_id=staff.pk)
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
        _vote(preview, world.other, world.shared, world.context_id)

    outcome = services.participant_withdraw(study_id=world.study.pk, code=_code(preview))

    assert outcome.is_new
    assert outcome.graph is not None
    assert outcome.graph.votes_deleted == 1
    assert outcome.graph.superseded_snapshot_ids == ()
    assert not SnapshotSupersession.objects.exists()
    assert Participant.objects.get(pk=preview.pk).user_id is None


def test_staff_erasure_needs_a_reason_and_logs_who(world: World) -> None:
    admin = make_admin()
    with pytest.raises(ApplicationError):
        services.participant_erase(
            study_id=world.study.pk, participant_id=world.leaver.pk, actor_id=admin.pk, reason=" "
        )
    outcome = services.participant_erase(
        study_id=world.study.pk,
        participant_id=world.leaver.pk,
        actor_id=admin.pk,
        reason="Emailed us on 2 May",
    )

    assert outcome.is_new
    _assert_leaver_gone(world)
    action = ModerationAction.objects.get(participant=world.leaver)
    assert (action.action, action.actor_id) == (ModerationAction.Action.ERASED, admin.pk)


# --- the pages -----------------------------------------------------------------------------


def test_the_participant_withdraws_on_the_page_after_confirming(world: World) -> None:
    code = _code(world.leaver)
    browser = Client()
    session = browser.session
    session[SESSION_PARTICIPANTS_KEY] = [world.leaver.pk]
    session.save()
    url = reverse("elicitation:withdraw", args=[world.study.slug])

    asked = browser.post(url, {"code": code})
    assert asked.status_code == 200
    assert b"withdraw-confirm" in asked.content
    assert Participant.objects.get(pk=world.leaver.pk).withdrawn_at is None  # not yet

    done = browser.post(url, {"code": code, "confirm": "yes"})
    assert done.status_code == 200
    assert b"You have withdrawn" in done.content
    assert Participant.objects.get(pk=world.leaver.pk).withdrawn_at is not None
    assert browser.session[SESSION_PARTICIPANTS_KEY] == []
    again = browser.post(url, {"code": code, "confirm": "yes"})
    # The same page (but for the language switcher's CSRF token): nothing more is revealed.
    assert _without_tokens(again.content) == _without_tokens(done.content)


def _without_tokens(content: bytes) -> str:
    return re.sub(r'csrfmiddlewaretoken" value="[^"]*"', "", content.decode())


def test_wrong_codes_get_the_same_answer(world: World) -> None:
    url = reverse("elicitation:withdraw", args=[world.study.slug])
    other = services.participant_consent(study=make_study())
    answers = [
        Client().post(url, {"code": code, "confirm": "yes"})
        for code in ("W-AAAAAAAAAA", _code(other), "")
    ]

    assert {a.status_code for a in answers} == {400}
    pages = {
        re.sub(r'(csrfmiddlewaretoken" value=|name="code" value=)"[^"]*"', "", a.content.decode())
        for a in answers
    }
    assert len(pages) == 1
    assert services.UNKNOWN_CODE in pages.pop()
    assert Participant.objects.filter(withdrawn_at__isnull=False).count() == 0


def test_the_finish_page_partial_shows_the_code_and_a_withdraw_button(world: World) -> None:
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    html = render_to_string(
        "elicitation/_withdrawal.html",
        {"withdrawal_code": "W-ABCDEFGHJK", "study": world.study},
        request=RequestFactory().get("/"),  # the partial's address is absolute
    )
    assert "W-ABCDEFGHJK" in html
    assert reverse("elicitation:withdraw", args=[world.study.slug]) in html
    assert 'name="code" value="W-ABCDEFGHJK"' in html


def test_staff_erase_by_public_id_with_a_confirmation(world: World) -> None:
    researcher = _client(make_researcher(world.study))
    url = reverse("staff:erasure", args=[world.study.slug])
    form = {"key": str(world.leaver.public_id), "reason": "Asked by email"}

    assert researcher.get(url).status_code == 200
    missing = researcher.post(url, {**form, "key": str(uuid.uuid4())})
    assert missing.status_code == 400
    no_reason = researcher.post(url, {**form, "reason": ""})
    assert no_reason.status_code == 400
    asked = researcher.post(url, form)
    assert asked.status_code == 200
    assert b"erase-confirm" in asked.content
    assert Participant.objects.get(pk=world.leaver.pk).withdrawn_at is None

    done = researcher.post(url, {**form, "confirm": "yes"}, follow=True)
    assert done.status_code == 200
    _assert_leaver_gone(world)
    assert b"Asked by email" in done.content  # the log
    assert ModerationAction.objects.get(participant=world.leaver).reason == "Asked by email"


def test_staff_erase_by_withdrawal_code(world: World) -> None:
    admin = _client(make_admin())
    url = reverse("staff:erasure", args=[world.study.slug])
    form = {"key": _code(world.leaver), "reason": "Phoned us", "confirm": "yes"}
    assert admin.post(url, form).status_code == 302
    _assert_leaver_gone(world)


def test_a_withdrawn_participation_is_over_in_every_browser(world: World) -> None:
    other_browser = Client()
    session = other_browser.session
    session[SESSION_PARTICIPANTS_KEY] = [world.leaver.pk]
    session.save()
    finish = reverse("elicitation:finish", args=[world.study.slug])
    assert other_browser.get(finish).status_code == 200

    services.participant_withdraw(study_id=world.study.pk, code=_code(world.leaver))

    gone = other_browser.get(finish)
    assert gone.status_code == 302
    assert gone["Location"] == reverse("elicitation:study_start", args=[world.study.slug])
    with pytest.raises(ApplicationError) as refused:
        services.participant_stage_require(world.leaver, Participant.Stage.FINISHED)
    assert refused.value.code == "withdrawn"
