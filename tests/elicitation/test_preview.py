"""Staff preview as a participant: the whole journey in any study state, with no invite code
spent, no place in the quota, and nothing counted: not the staff counts, not the snapshots,
and a preview's card never becomes a value other people are shown."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx2
import pytest
from django.test import Client
from websockets.sync.client import connect

from elicitation import selectors, services
from elicitation.errors import ApplicationError
from elicitation.models import InviteCode, Message, Participant, Study, SurveyResponse, ValuesCard
from elicitation.schemas import SURVEY_ITEMS
from elicitation.services import demo_study_seed
from moralgraph.models import Selection, UpgradeVote
from moralgraph.selectors.studies import studies_overview
from moralgraph.services.snapshots import snapshot_rebuild_run
from tests.elicitation.test_journey_pages import CARD
from tests.factories import make_admin, make_question, make_researcher, make_study, make_user
from tests.support.celery_sent import tasks_sent
from tests.support.journey import cookie_header, csrf_token

pytestmark = pytest.mark.django_db

BANNER = "Preview — your answers do not count."


def _draft_demo(**fields: Any) -> Study:
    """The demo study (values and stories to pick and judge), put back to draft."""
    study = demo_study_seed()
    Study.objects.filter(pk=study.pk).update(status=Study.Status.DRAFT, **fields)
    study.refresh_from_db()
    return study


def _staff(study: Study | None = None) -> Client:
    """A logged-in admin, or a researcher of `study` when one is given."""
    client = Client()
    client.force_login(make_researcher(study) if study else make_admin())
    return client


def _preview(client: Client, study: Study) -> Participant:
    started = client.post(f"/staff/{study.slug}/preview/")
    assert started.status_code == 302, started.content
    participant = Participant.objects.get(pk=client.session["participant_ids"][-1])
    assert started["Location"] == selectors.journey_url(participant=participant)
    return participant


def _card(client: Client, study: Study) -> int:
    """Choose the first question and confirm a card, through the services the socket uses;
    returns the card's id."""
    question = study.questions.order_by("order", "id").first()
    assert question is not None
    chosen = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})
    interview_id = int(chosen["Location"].strip("/").split("/")[-1])
    interview = client.get(chosen["Location"])
    assert interview.status_code == 200
    _, proposal = services.interview_answer_store(
        interview_id=interview_id, text="A card.", card=CARD
    )
    assert proposal is not None
    return services.values_card_submit(
        interview_id=interview_id, proposal_id=proposal.proposal_id
    ).pk


def _picks_and_votes(client: Client, study: Study, participant: Participant) -> list[int]:
    """Pick two shown values and judge every story drawn; returns the drawn stories."""
    picks = client.get(f"/s/{study.slug}/wise-values/")
    assert picks.status_code == 200
    participant.refresh_from_db()
    chosen = list(participant.wise_value_ids or [])[:2]
    assert len(chosen) == 2
    picked = client.post(f"/s/{study.slug}/wise-values/", {"value": chosen})
    assert picked["Location"] == f"/s/{study.slug}/stories/"
    assert client.get(f"/s/{study.slug}/stories/").status_code == 200
    participant.refresh_from_db()
    drawn = list(participant.upgrade_hypothesis_ids or [])
    assert drawn
    for hypothesis_id in drawn:
        voted = client.post(
            f"/s/{study.slug}/stories/", {"hypothesis": hypothesis_id, "choice": "upgrade"}
        )
        assert voted.status_code == 302, voted.content
    return drawn


def test_staff_preview_a_draft_study_from_start_to_finish_without_a_code(
    django_capture_on_commit_callbacks: Any,
) -> None:
    study = _draft_demo(participation_mode=Study.ParticipationMode.INVITE_CODES, quota=1)
    InviteCode.objects.create(study=study, code="ONLY01")
    staff = _staff()
    page = staff.get(f"/staff/{study.slug}/participation/").content.decode()
    assert "Preview as participant" in page
    assert f'action="/staff/{study.slug}/preview/"' in page
    # A participant is still turned away from the draft.
    assert Client().get(f"/s/{study.slug}/").status_code == 403

    participant = _preview(staff, study)
    assert participant.is_preview
    assert participant.consented_at is not None
    questions = staff.get(f"/s/{study.slug}/questions/")
    assert questions.status_code == 200
    assert BANNER in questions.content.decode()

    with tasks_sent() as sent, django_capture_on_commit_callbacks(execute=True):
        card_id = _card(staff, study)
    # The preview's card is never canonicalised: it will not become a value anyone sees.
    assert not [name for name, _ in sent if name.endswith("values_card_canonicalise")]
    with tasks_sent() as swept, django_capture_on_commit_callbacks(execute=True):
        services.cards_canonicalise_sweep(submitted_before=ValuesCard.objects.get().submitted_at)
    assert swept == []
    assert ValuesCard.objects.get(pk=card_id).value_id is None

    drawn = _picks_and_votes(staff, study, participant)
    survey = staff.get(f"/s/{study.slug}/survey/")
    assert BANNER in survey.content.decode()
    answers = {item.key: "4" for item in SURVEY_ITEMS}
    assert staff.post(f"/s/{study.slug}/survey/", answers)["Location"] == f"/s/{study.slug}/done/"
    done = staff.get(f"/s/{study.slug}/done/")
    assert done.status_code == 200
    assert BANNER in done.content.decode()

    participant.refresh_from_db()
    assert participant.stage == Participant.Stage.FINISHED
    assert UpgradeVote.objects.filter(participant=participant).count() == len(drawn)
    assert Selection.objects.filter(participant_id=participant.pk, is_picked=True).count() == 2
    assert SurveyResponse.objects.filter(participant=participant).count() == len(SURVEY_ITEMS)
    # No code spent, and the quota of one is still free for a real participant.
    assert InviteCode.objects.get().used_at is None
    services.study_state_set(study_id=study.pk, state=Study.Status.OPEN)
    entered = Client().post(f"/s/{study.slug}/", {"consent": "yes", "invite_code": "ONLY01"})
    assert entered.status_code == 302
    assert Participant.objects.filter(study=study, is_preview=False).count() == 1


def test_a_second_preview_starts_afresh_and_a_full_study_can_still_be_previewed() -> None:
    study = make_study(quota=1)
    make_question(study)
    services.participant_consent(study=study)
    with pytest.raises(ApplicationError, match="reached its number"):
        services.participant_consent(study=study)
    staff = _staff()
    first = _preview(staff, study)
    services.interview_start(participant=first, question=study.questions.get())
    second = _preview(staff, study)
    assert second.pk != first.pk
    assert second.stage == Participant.Stage.CONSENTED
    assert staff.get(f"/s/{study.slug}/questions/").status_code == 200


def test_a_live_snapshot_leaves_out_preview_votes() -> None:
    study = demo_study_seed()
    real = Client()
    real.post(f"/s/{study.slug}/", {"consent": "yes"})
    real_participant = Participant.objects.get(pk=real.session["participant_ids"][-1])
    _card(real, study)
    real_votes = len(_picks_and_votes(real, study, real_participant))
    before = snapshot_rebuild_run(study_id=study.pk)
    assert before is not None
    assert (before.vote_count, before.participant_count) == (real_votes, 1)

    staff = _staff()
    preview = _preview(staff, study)
    _card(staff, study)
    preview_votes = len(_picks_and_votes(staff, study, preview))
    assert UpgradeVote.objects.filter(participant=preview).count() == preview_votes > 0
    after = snapshot_rebuild_run(study_id=study.pk)
    assert after is not None
    # The same votes, so the same graph: the rebuild kept the snapshot it had.
    assert (after.vote_count, after.participant_count) == (real_votes, 1)
    assert after.content_hash == before.content_hash
    assert after.pk == before.pk
    overview = next(s for s in studies_overview() if s.id == study.pk)
    assert (overview.participants, overview.votes) == (1, real_votes)


def test_counts_leave_previews_out() -> None:
    study = make_study()
    make_question(study)
    services.participant_consent(study=study)
    staff = _staff()
    preview = _preview(staff, study)
    services.interview_start(participant=preview, question=study.questions.get())

    listing = staff.get("/staff/").content.decode()
    count = re.search(
        rf"{re.escape(study.title)}.*?<dt>Participants</dt><dd>(\d+)</dd>", listing, re.S
    )
    assert count, listing
    assert count.group(1) == "1"
    participation = staff.get(f"/staff/{study.slug}/participation/").content.decode()
    assert re.search(r"<dt>Participants</dt><dd>1</dd>", participation)
    overview = next(s for s in studies_overview() if s.id == study.pk)
    assert overview.participants == 1
    assert selectors.study_participant_count(study=study) == 1


def test_only_the_studys_staff_may_start_a_preview() -> None:
    study = make_study(status=Study.Status.DRAFT)
    url = f"/staff/{study.slug}/preview/"
    anonymous = Client().post(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")
    participant_user = Client()
    participant_user.force_login(make_user())
    assert participant_user.post(url)["Location"].startswith("/admin/login/")
    other = make_study()
    assert _staff(other).post(url).status_code == 404
    assert not Participant.objects.filter(study=study).exists()
    # The study's own researcher may; a GET changes nothing.
    own = _staff(study)
    assert own.get(url).status_code == 405
    assert _preview(own, study).is_preview


@pytest.mark.django_db(transaction=True)
def test_a_preview_talks_to_the_interviewer_of_a_draft_study(asgi_server: str) -> None:
    study = _draft_demo()
    admin = make_admin()
    client = httpx2.Client(base_url=asgi_server)
    login = client.get("/admin/login/")
    client.post(
        "/admin/login/?next=/staff/",
        data={
            "csrfmiddlewaretoken": csrf_token(login.text),
            "username": admin.username,
            "password": "a-long-passphrase-123",
        },
    )
    page = client.get(f"/staff/{study.slug}/participation/")
    assert page.status_code == 200, page.text
    questions = client.post(
        f"/staff/{study.slug}/preview/",
        data={"csrfmiddlewaretoken": csrf_token(page.text)},
        follow_redirects=True,
    )
    assert BANNER in questions.text
    question = re.search(r'name="question" value="(\d+)"', questions.text)
    assert question
    interview = client.post(
        f"/s/{study.slug}/questions/",
        data={"csrfmiddlewaretoken": csrf_token(questions.text), "question": question.group(1)},
        follow_redirects=True,
    )
    assert BANNER in interview.text
    match = re.search(r"/interviews/(\d+)/", str(interview.url))
    assert match, interview.url
    with connect(
        f"{asgi_server.replace('http', 'ws')}/ws/interviews/{match.group(1)}/",
        additional_headers={"Cookie": cookie_header(client), "Origin": asgi_server},
    ) as ws:
        ws.send(json.dumps({"type": "user_message", "client_id": str(uuid.uuid4()), "text": "hi"}))
        frames: list[dict[str, Any]] = []
        while not any(f["type"] == "error" or f.get("role") == "assistant" for f in frames):
            frames.append(json.loads(ws.recv(timeout=10)))
    assert not [f for f in frames if f["type"] == "error"], frames
    assert Message.objects.filter(interview_id=int(match.group(1)), role="assistant").exists()
