"""Who takes part, and when: study states on every participant page and the socket, the quota
under concurrent sign-ups, invite codes made in bulk (listed, downloaded, freed), and panel
entry and return, with the staff pages that run them."""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from typing import Any

import httpx2
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from websockets.sync.client import connect

from elicitation import services
from elicitation.errors import ApplicationError
from elicitation.models import (
    Interview,
    InviteCode,
    Message,
    Participant,
    Study,
    SurveyResponse,
)
from elicitation.schemas import SURVEY_ITEMS
from elicitation.services import INVITE_CODE_ALPHABET, demo_study_seed
from moralgraph.models import UpgradeVote
from tests.elicitation.test_journey_pages import CARD
from tests.factories import make_question, make_study
from tests.support.journey import cookie_header, enter_study

pytestmark = pytest.mark.django_db

CLOSED_TEXT = "This study is closed."
DRAFT_TEXT = "This study is not open yet."


def _staff_client() -> Client:
    client = Client()
    user = get_user_model().objects.create_user(
        f"staff-{uuid.uuid4().hex[:6]}",
        password="a-long-passphrase-123",
        is_staff=True,
        is_superuser=True,
    )
    client.force_login(user)
    return client


def _enter(client: Client, study: Study, query: str = "", **form: str) -> Any:
    return client.post(f"/s/{study.slug}/{query}", {"consent": "yes", **form})


def _participant(client: Client) -> Participant:
    return Participant.objects.get(pk=client.session["participant_ids"][-1])


def _confirm_card(client: Client, study: Study) -> Participant:
    """From the question page to a confirmed card, through the services the socket uses."""
    question = study.questions.first() or make_question(study)
    response = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})
    interview_id = int(response["Location"].strip("/").split("/")[-1])
    _, proposal = services.interview_answer_store(
        interview_id=interview_id, text="A card.", card=CARD
    )
    assert proposal is not None
    services.values_card_submit(interview_id=interview_id, proposal_id=proposal.proposal_id)
    return _participant(client)


# --- states -------------------------------------------------------------------------------

# Every participant page, and the form a participant at that step would post there.
JOURNEY_PAGES = [
    ("", Participant.Stage.CONSENTED, {"consent": "yes"}),
    ("about-you/", Participant.Stage.CONSENTED, {"age": "30"}),
    ("questions/", Participant.Stage.CONSENTED, {"question": "QUESTION"}),
    ("wise-values/", Participant.Stage.PICKS, {"value": ["1", "2"]}),
    ("stories/", Participant.Stage.VOTES, {"hypothesis": "1", "choice": "upgrade"}),
    ("survey/", Participant.Stage.SURVEY, {item.key: "3" for item in SURVEY_ITEMS}),
    ("done/", Participant.Stage.FINISHED, {}),
]


def _rows_written(participant: Participant) -> tuple[int, int, int, str]:
    participant.refresh_from_db()
    return (
        Interview.objects.filter(participant=participant).count(),
        SurveyResponse.objects.filter(participant=participant).count(),
        UpgradeVote.objects.filter(participant=participant).count(),
        participant.stage,
    )


@pytest.mark.parametrize(("path", "stage", "form"), JOURNEY_PAGES)
def test_a_closed_study_answers_every_page_with_a_clear_page_and_writes_nothing(
    path: str, stage: str, form: dict[str, Any]
) -> None:
    study = demo_study_seed()
    client = Client()
    assert _enter(client, study).status_code == 302
    participant = _participant(client)
    Participant.objects.filter(pk=participant.pk).update(stage=stage)
    question = study.questions.first()
    assert question is not None
    form = {k: str(question.pk) if v == "QUESTION" else v for k, v in form.items()}
    before = _rows_written(participant)
    services.study_state_set(study_id=study.pk, state=Study.Status.CLOSED)

    for method in (client.get, client.post):
        response = method(f"/s/{study.slug}/{path}", form, follow=True)
        assert Participant.objects.filter(study=study).count() == 1
        assert _rows_written(participant) == before
        if path == "done/":
            # A participant who finished may still read their last page, and their code.
            assert response.status_code == 200
            assert "Thank you, you are done" in response.content.decode()
            continue
        assert response.status_code == 403, (method, path)
        assert CLOSED_TEXT in response.content.decode()

    # Reopened, the same participant carries on where they were.
    services.study_state_set(study_id=study.pk, state=Study.Status.OPEN)
    page = client.get(f"/s/{study.slug}/{path}", follow=True)
    assert page.status_code == 200
    assert CLOSED_TEXT not in page.content.decode()


@pytest.mark.parametrize(("path", "stage", "form"), JOURNEY_PAGES)
def test_a_draft_study_takes_nobody(path: str, stage: str, form: dict[str, Any]) -> None:
    study = make_study(status=Study.Status.DRAFT)
    make_question(study)
    client = Client()
    for method in (client.get, client.post):
        response = method(f"/s/{study.slug}/{path}", form, follow=True)
        assert response.status_code == 403
        assert DRAFT_TEXT in response.content.decode()
    assert not Participant.objects.filter(study=study).exists()
    assert client.get("/s/no-such-study/").status_code == 404


def test_a_closed_study_closes_the_interview_page_and_its_writes() -> None:
    study = demo_study_seed()
    client = Client()
    _enter(client, study)
    question = study.questions.first()
    assert question is not None
    started = client.post(f"/s/{study.slug}/questions/", {"question": question.pk})
    interview_url = started["Location"]
    participant = _participant(client)
    assert client.get(interview_url).status_code == 200
    services.study_state_set(study_id=study.pk, state=Study.Status.CLOSED)

    page = client.get(interview_url, follow=True)
    assert page.status_code == 403
    assert CLOSED_TEXT in page.content.decode()
    left = client.post(f"{interview_url}leave/", follow=True)
    assert CLOSED_TEXT in left.content.decode()
    # The one door every journey write goes through refuses too, whoever calls it.
    Participant.objects.filter(pk=participant.pk).update(stage=Participant.Stage.SURVEY)
    with pytest.raises(ApplicationError) as refused:
        services.survey_submit(participant=participant, answers={})
    assert refused.value.code == "study_closed"


def test_state_transitions() -> None:
    study = make_study(status=Study.Status.DRAFT)
    with pytest.raises(ApplicationError) as refused:
        services.study_state_set(study_id=study.pk, state=Study.Status.CLOSED)
    assert refused.value.code == "bad_transition"
    assert "This study is a draft, so it cannot be closed." in refused.value.message
    for state in (Study.Status.OPEN, Study.Status.CLOSED, Study.Status.OPEN):
        assert services.study_state_set(study_id=study.pk, state=state).status == state
    services.study_state_set(study_id=study.pk, state=Study.Status.CLOSED)
    with pytest.raises(ApplicationError):
        services.study_state_set(study_id=study.pk, state=Study.Status.DRAFT)
    with pytest.raises(ApplicationError):
        services.study_state_set(study_id=study.pk, state="paused")
    study.refresh_from_db()
    assert study.status == Study.Status.CLOSED


def test_the_staff_page_opens_closes_and_reopens() -> None:
    study = make_study(status=Study.Status.DRAFT, slug="states")
    staff = _staff_client()
    page = staff.get("/staff/states/participation/").content.decode()
    assert "Open the study" in page
    assert "Close the study" not in page
    for state, button, text in (
        ("open", "Close the study", "The study is now open."),
        ("closed", "Reopen the study", "The study is now closed."),
        ("open", "Close the study", "The study is now open."),
    ):
        after = staff.post("/staff/states/participation/state/", {"state": state}, follow=True)
        assert text in after.content.decode()
        assert button in after.content.decode()
        study.refresh_from_db()
        assert study.status == state
    refused = staff.post("/staff/states/participation/state/", {"state": "draft"}, follow=True)
    assert "This study is open, so it cannot be made a draft again." in refused.content.decode()


def test_the_staff_page_sets_mode_and_quota_with_errors_by_the_field() -> None:
    study = make_study(slug="modes")
    staff = _staff_client()
    bad = staff.post(
        "/staff/modes/participation/", {"participation_mode": "invite_codes", "quota": "0"}
    )
    assert bad.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in bad.content.decode()
    saved = staff.post(
        "/staff/modes/participation/", {"participation_mode": "invite_codes", "quota": "40"}
    )
    assert saved.status_code == 302
    study.refresh_from_db()
    assert (study.participation_mode, study.quota) == ("invite_codes", 40)


@pytest.mark.django_db(transaction=True)
def test_a_closed_study_refuses_new_socket_messages(asgi_server: str) -> None:
    study = demo_study_seed()
    client = httpx2.Client(base_url=asgi_server)
    interview_id = enter_study(client, study.slug)
    services.study_state_set(study_id=study.pk, state=Study.Status.CLOSED)
    with connect(
        f"{asgi_server.replace('http', 'ws')}/ws/interviews/{interview_id}/",
        additional_headers={"Cookie": cookie_header(client), "Origin": asgi_server},
    ) as ws:
        ws.send(json.dumps({"type": "user_message", "client_id": str(uuid.uuid4()), "text": "hi"}))
        assert json.loads(ws.recv(timeout=10)) == {
            "type": "error",
            "code": "study_closed",
            "message": "This study is closed, so no new answers can be sent.",
        }
    assert not Message.objects.filter(interview_id=interview_id).exists()


# --- the quota under concurrent sign-ups ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_never_pass_the_quota() -> None:
    quota, extra = 4, 6
    study = make_study(quota=quota)
    start = threading.Barrier(quota + extra)
    outcomes: list[str] = []
    lock = threading.Lock()

    def sign_up() -> None:
        try:
            start.wait(timeout=30)
            services.participant_consent(study=study)
            outcome = "entered"
        except ApplicationError as exc:
            outcome = exc.code
        finally:
            connection.close()  # each thread has its own PostgreSQL connection
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=sign_up) for _ in range(quota + extra)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["entered"] * quota + ["study_full"] * extra
    assert Participant.objects.filter(study=study).count() == quota


# --- invite codes --------------------------------------------------------------------------


def _csv_rows(staff: Client, slug: str) -> list[dict[str, str]]:
    response = staff.get(f"/staff/{slug}/invite-codes.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_invite_codes_in_bulk_listed_downloaded_and_used() -> None:
    study = make_study(slug="codes", participation_mode=Study.ParticipationMode.INVITE_CODES)
    staff = _staff_client()
    refused = staff.post("/staff/codes/invite-codes/", {"count": "0"})
    assert refused.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in refused.content.decode()
    made = staff.post("/staff/codes/invite-codes/", {"count": "25"}, follow=True)
    assert "25 new invite codes." in made.content.decode()
    staff.post("/staff/codes/invite-codes/", {"count": "5"})
    codes = list(InviteCode.objects.filter(study=study).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 30
    assert all(len(code) == 8 and set(code) <= set(INVITE_CODE_ALPHABET) for code in codes)
    assert not set("0O1IL5S2Z8B") & set("".join(codes))

    participant_client = Client()
    assert _enter(participant_client, study, invite_code=codes[3].lower()).status_code == 302
    participant = _participant(participant_client)

    rows = _csv_rows(staff, "codes")
    assert [row["code"] for row in rows[:29]] == sorted(c for c in codes if c != codes[3])
    used = rows[-1]
    assert used["code"] == codes[3]
    assert used["participant"] == str(participant.public_id)
    assert participant.consented_at is not None
    assert used["used_at"].startswith(str(participant.consented_at.date()))
    page = staff.get("/staff/codes/invite-codes/").content.decode()
    assert "30 codes, 1 used" in page
    assert str(participant.public_id) in page


def test_the_csv_keeps_spreadsheet_formulas_as_text() -> None:
    study = make_study(slug="formulas")
    for code in ("=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "PLAIN"):
        InviteCode.objects.create(study=study, code=code)
    cells = {row["code"] for row in _csv_rows(_staff_client(), "formulas")}
    assert cells == {"'=HYPERLINK(1)", "'+1", "'-2", "'@SUM(A1)", "PLAIN"}


def test_a_burned_code_is_freed_and_works_again() -> None:
    study = make_study(slug="burned", participation_mode=Study.ParticipationMode.INVITE_CODES)
    code = services.invite_codes_generate(study_id=study.pk, count=1)[0]
    first = Client()
    _enter(first, study, invite_code=code.code)  # then, say, the next page failed
    staff = _staff_client()
    page = staff.get("/staff/burned/invite-codes/").content.decode()
    assert f'aria-label="Free {code.code}"' in page  # freed at once, no confirmation

    freed = staff.post(f"/staff/burned/invite-codes/{code.pk}/free/", follow=True)
    assert f"The code {code.code} can be used again." in freed.content.decode()
    code.refresh_from_db()
    assert (code.used_at, code.participant) == (None, None)
    # The empty entry is gone, so it counts against no quota, and the code enters again.
    assert not Participant.objects.filter(study=study).exists()
    assert first.get("/s/burned/questions/")["Location"] == "/s/burned/"
    assert _enter(first, study, invite_code=code.code).status_code == 302
    assert Participant.objects.filter(study=study).count() == 1


def test_freeing_a_code_whose_participant_went_on_needs_confirmation() -> None:
    study = demo_study_seed()
    Study.objects.filter(pk=study.pk).update(
        participation_mode=Study.ParticipationMode.INVITE_CODES
    )
    code = services.invite_codes_generate(study_id=study.pk, count=1)[0]
    client = Client()
    _enter(client, study, invite_code=code.code)
    participant = _confirm_card(client, study)
    staff = _staff_client()
    url = f"/staff/{study.slug}/invite-codes/{code.pk}/free/"

    unconfirmed = staff.post(url, follow=True)
    assert "went past consent; confirm to free it" in unconfirmed.content.decode()
    code.refresh_from_db()
    assert code.participant == participant

    confirm_page = staff.get(url).content.decode()
    assert "Their answers stay in the study" in confirm_page
    staff.post(url, {"confirm": "yes"})
    code.refresh_from_db()
    assert (code.used_at, code.participant) == (None, None)
    assert Participant.objects.filter(pk=participant.pk).exists()
    assert participant.cards.exists()


# --- panel mode ----------------------------------------------------------------------------

PROLIFIC_URL = "https://app.prolific.com/submissions/complete?cc=C1A2B3C4"


def test_the_panel_form_checks_each_field() -> None:
    study = make_study(slug="panel-form")
    staff = _staff_client()
    bad = staff.post(
        "/staff/panel-form/panel/",
        {
            "panel_param": "PROLIFIC PID",
            "completion_url": "not a url",
            "completion_code": "OTHER1",
        },
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "letters, digits and underscores" in html
    assert "Enter a valid URL." in html
    assert 'value="OTHER1"' in html  # nothing typed is lost

    mismatch = staff.post(
        "/staff/panel-form/panel/",
        {"panel_param": "PROLIFIC_PID", "completion_url": PROLIFIC_URL, "completion_code": "X9"},
    )
    assert "already carries the code C1A2B3C4" in mismatch.content.decode()
    saved = staff.post(
        "/staff/panel-form/panel/",
        {
            "panel_param": "PROLIFIC_PID",
            "completion_url": PROLIFIC_URL,
            "completion_code": "C1A2B3C4",
        },
    )
    assert saved.status_code == 302
    study.refresh_from_db()
    assert (study.completion_redirect_url, study.panel_completion_code) == (
        PROLIFIC_URL,
        "C1A2B3C4",
    )


def _walk_the_journey(client: Client, study: Study) -> Any:
    """From a confirmed card to the finish page: picks, every story, the survey."""
    client.get(f"/s/{study.slug}/wise-values/")
    participant = _participant(client)
    client.post(f"/s/{study.slug}/wise-values/", {"value": (participant.wise_value_ids or [])[:2]})
    client.get(f"/s/{study.slug}/stories/")
    participant.refresh_from_db()
    for hypothesis_id in participant.upgrade_hypothesis_ids or []:
        client.post(f"/s/{study.slug}/stories/", {"hypothesis": hypothesis_id, "choice": "upgrade"})
    assert client.get(f"/s/{study.slug}/stories/")["Location"] == f"/s/{study.slug}/survey/"
    answers = {item.key: "4" for item in SURVEY_ITEMS}
    return client.post(f"/s/{study.slug}/survey/", answers, follow=True)


def test_a_prolific_entry_returns_exactly_the_configured_completion_url() -> None:
    study = demo_study_seed()
    Study.objects.filter(pk=study.pk).update(participation_mode=Study.ParticipationMode.PANEL)
    staff = _staff_client()
    staff.post(
        f"/staff/{study.slug}/panel/",
        {
            "panel_param": "PROLIFIC_PID",
            "completion_url": PROLIFIC_URL,
            "completion_code": "C1A2B3C4",
        },
    )
    client = Client()
    entry = "?PROLIFIC_PID=5f3e0c9a1b2c&STUDY_ID=64aa01&SESSION_ID=sess-77"
    assert client.get(f"/s/{study.slug}/{entry}").status_code == 200
    assert _enter(client, study, entry).status_code == 302
    participant = _participant(client)
    assert (participant.panel_study_id, participant.panel_session_id) == ("64aa01", "sess-77")
    assert participant.external_id_hash
    assert "5f3e0c9a1b2c" not in participant.external_id_hash
    _confirm_card(client, study)

    done = _walk_the_journey(client, study)
    assert done.redirect_chain[-1][0] == f"/s/{study.slug}/done/"
    html = done.content.decode()
    escaped = PROLIFIC_URL.replace("&", "&amp;")
    assert f'id="return-to-panel" href="{escaped}"' in html
    assert f'<meta http-equiv="refresh" content="15;url={escaped}">' in html
    assert 'id="completion-code">C1A2B3C4<' in html
    assert html.count("cc=") == 2  # the link and the redirect, each with one code


@pytest.mark.parametrize(
    ("url", "code", "expected"),
    [
        (PROLIFIC_URL, "", PROLIFIC_URL),
        (PROLIFIC_URL, "C1A2B3C4", PROLIFIC_URL),
        ("https://panel.example/done", "P42", "https://panel.example/done?cc=P42"),
        ("https://panel.example/done?s=7", "P42", "https://panel.example/done?s=7&cc=P42"),
        ("https://panel.example/done/{code}", "P42", "https://panel.example/done/P42"),
        ("https://panel.example/done", "", "https://panel.example/done?cc=OWNCODE1"),
    ],
)
def test_the_return_url_carries_one_code(url: str, code: str, expected: str) -> None:
    from elicitation.selectors import panel_return

    study = make_study(completion_redirect_url=url, panel_completion_code=code)
    participant = Participant(study=study, completion_code="OWNCODE1")
    assert panel_return(study=study, participant=participant).url == expected


# --- staff only -----------------------------------------------------------------------------

STAFF_PAGES = [
    "participation/",
    "invite-codes/",
    "invite-codes.csv",
    "invite-codes/1/free/",
    "panel/",
]


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_staff_pages_are_for_staff_only(page: str) -> None:
    make_study(slug="guarded")
    anonymous = Client().get(f"/staff/guarded/{page}")
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    participant = Client()
    user = get_user_model().objects.create_user("someone", password="a-long-passphrase-123")
    participant.force_login(user)
    assert participant.get(f"/staff/guarded/{page}").status_code == 302
    posted = Client().post("/staff/guarded/participation/state/", {"state": "closed"})
    assert posted.status_code == 302
    assert Study.objects.get(slug="guarded").status == Study.Status.OPEN
