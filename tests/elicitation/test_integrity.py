"""Manipulation flags and quarantine: each flag fires on a crafted pattern and not on an honest
participant; the browser and network hashes are recorded on entry through the real start page
(never the raw address); quarantining a straight-liner rebuilds the live graph without their
votes (a winner flips back), releasing counts them again, and the staff page shows the flags
and the difference each action made."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from elicitation import selectors, services
from elicitation.client_signals import BROWSER_COOKIE, network_prefix
from elicitation.errors import ApplicationError
from elicitation.models import (
    Interview,
    ModerationAction,
    Participant,
    Question,
    Study,
    ValuesCard,
)
from moralgraph import services as graph_services
from moralgraph.models import GraphSnapshot, ParticipantExclusion, UpgradeVote, Value
from moralgraph.selectors import integrity as graph_integrity
from moralgraph.selectors.pipeline import snapshot_is_stale
from moralgraph.services.snapshots import snapshot_rebuild_run
from tests.factories import make_admin, make_question, make_researcher, make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent() -> Iterator[mock.MagicMock]:
    """Rebuild tasks are recorded, not sent: the tests run the rebuild service themselves."""
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send") as send:
        yield send


class Graph:
    """A study with one context and five values; votes cast through the graph's service."""

    def __init__(self) -> None:
        self.study = make_study()
        self.question = make_question(self.study)
        self.context_id = graph_services.context_ensure(
            study_id=self.study.pk, text="When a friend asks", question_ids=[self.question.pk]
        )
        self.values = {
            name: Value.objects.create(
                study=self.study, title=f"Value {name}", description="d", policies=["P"]
            ).pk
            for name in "ABCDE"
        }

    def participant(self) -> Participant:
        return services.participant_consent(study=self.study)

    def vote(
        self, participant: Participant, pairs: list[str], choice: str = "upgrade", gap_s: int = 30
    ) -> None:
        """One vote per pair ("AB": A → B), cast `gap_s` seconds apart."""
        start = timezone.now() - timedelta(hours=1)
        for i, pair in enumerate(pairs):
            vote_id = graph_services.upgrade_vote_cast(
                participant_id=participant.pk,
                from_value_id=self.values[pair[0]],
                to_value_id=self.values[pair[1]],
                context_id=self.context_id,
                choice=choice,
            )
            UpgradeVote.objects.filter(pk=vote_id).update(
                created_at=start + timedelta(seconds=gap_s * i)
            )

    def flags(self) -> dict[int, tuple[str, ...]]:
        return {
            f.participant_id: f.flags
            for f in selectors.flagged_participants(study_id=self.study.pk)
        }


def _card(participant: Participant, question: Question, text: str, seconds: float) -> None:
    interview = services.interview_start(participant=participant, question=question)
    started = timezone.now() - timedelta(hours=1)
    Interview.objects.filter(pk=interview.pk).update(created_at=started)
    ValuesCard.objects.create(
        interview=interview,
        participant=participant,
        question=question,
        title=text,
        description=f"{text} is what I attend to.",
        policies=["MOMENTS when it matters"],
        submitted_at=started + timedelta(seconds=seconds),
    )


def test_straight_lining_flags_all_one_answer_and_not_mixed_answers(sent: Any) -> None:
    g = Graph()
    liner, honest, short = g.participant(), g.participant(), g.participant()
    g.vote(liner, ["AB", "AC", "AD", "AE", "BC"], "upgrade")
    g.vote(honest, ["AB", "AC", "AD", "AE", "BC"])
    UpgradeVote.objects.filter(participant=honest, to_value_id=g.values["C"]).update(
        choice="no_upgrade"
    )
    g.vote(short, ["AB", "AC", "AD", "AE"], "not_sure")  # one vote under the threshold

    flagged = {f.participant_id: f for f in selectors.flagged_participants(study_id=g.study.pk)}
    assert set(flagged) == {liner.pk}
    assert flagged[liner.pk].flags == ("straight_lining",)
    assert flagged[liner.pk].reasons == ("All 5 of their votes were “Yes, wiser”.",)


def test_speed_flags_votes_seconds_apart_and_a_card_in_seconds(sent: Any) -> None:
    g = Graph()
    rushed, careful = g.participant(), g.participant()
    g.vote(rushed, ["AB", "AC", "AD"], "upgrade", gap_s=1)
    UpgradeVote.objects.filter(participant=rushed, to_value_id=g.values["C"]).update(
        choice="no_upgrade"
    )
    g.vote(careful, ["AB", "AC", "AD"], "upgrade", gap_s=25)
    UpgradeVote.objects.filter(participant=careful, to_value_id=g.values["C"]).update(
        choice="no_upgrade"
    )
    quick, thoughtful = g.participant(), g.participant()
    _card(quick, g.question, "Candour", seconds=12)
    _card(thoughtful, g.question, "Loyalty", seconds=8 * 60)

    flagged = {f.participant_id: f for f in selectors.flagged_participants(study_id=g.study.pk)}
    assert set(flagged) == {rushed.pk, quick.pk}
    assert flagged[rushed.pk].flags == ("speed",)
    assert "A median of 1.0 s between their 3 votes" in flagged[rushed.pk].reasons[0]
    assert flagged[quick.pk].flags == ("speed",)
    assert "Confirmed a card 12 s after their interview began" in flagged[quick.pk].reasons[0]


def test_the_embedded_databases_summary_of_votes_matches_postgresqls(sent: Any) -> None:
    """`make run` serves SQLite, where the grouped PostgreSQL query cannot run: the summary in
    Python gives the same patterns (counts, choices, median gap, first and last vote)."""
    g = Graph()
    a, b = g.participant(), g.participant()
    g.vote(a, ["AB", "AC", "AD", "AE"], "upgrade", gap_s=3)
    g.vote(b, ["AB", "AC"], "not_sure", gap_s=40)
    UpgradeVote.objects.filter(participant=a, to_value_id=g.values["C"]).update(choice="no_upgrade")
    from_postgresql = graph_integrity.participant_vote_patterns(study_id=g.study.pk)
    in_python = graph_integrity._patterns_in_python(g.study.pk)
    assert [p.vote_count for p in from_postgresql] == [4, 2]
    assert from_postgresql == in_python


def test_duplicate_cards_are_flagged_whatever_their_case_and_spacing() -> None:
    g = Graph()
    first, copier, original = g.participant(), g.participant(), g.participant()
    _card(first, g.question, "Honest loyalty", seconds=600)
    _card(copier, g.question, "  HONEST   loyalty!", seconds=600)
    _card(original, g.question, "Caring candour", seconds=600)

    assert g.flags() == {first.pk: ("duplicate_card",), copier.pk: ("duplicate_card",)}


def test_previews_and_withdrawn_participants_are_never_flagged(sent: Any) -> None:
    g = Graph()
    preview = Participant.objects.create(study=g.study, is_preview=True)
    gone = g.participant()
    g.vote(preview, ["AB", "AC", "AD", "AE", "BC"], "upgrade", gap_s=1)
    g.vote(gone, ["AB", "AC", "AD", "AE", "BC"], "upgrade", gap_s=1)
    Participant.objects.filter(pk=gone.pk).update(withdrawn_at=timezone.now())

    assert g.flags() == {}


def _enter(study: Study, address: str, browser: str | None = None) -> tuple[Client, Participant]:
    client = Client(REMOTE_ADDR=address)
    if browser is not None:
        client.cookies[BROWSER_COOKIE] = browser
    page = client.get(f"/s/{study.slug}/")
    assert page.status_code == 200
    entered = client.post(f"/s/{study.slug}/", {"consent": "yes"})
    assert entered.status_code == 302, entered.content
    return client, Participant.objects.get(pk=client.session["participant_ids"][-1])


def test_entry_records_keyed_hashes_of_the_browser_and_network_never_the_address() -> None:
    study = make_study()
    make_question(study)
    client, first = _enter(study, "203.0.113.7")
    cookie = client.cookies[BROWSER_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 365 * 24 * 60 * 60
    token = cookie.value
    assert len(first.browser_hash) == len(first.network_hash) == 64
    assert token not in first.browser_hash
    # Same browser (its cookie), another address in the same /24: both hashes shared.
    _, again = _enter(study, "203.0.113.200", browser=token)
    assert (again.browser_hash, again.network_hash) == (first.browser_hash, first.network_hash)
    # Another browser on another network: neither hash shared.
    _, other = _enter(study, "198.51.100.7")
    assert other.browser_hash not in ("", first.browser_hash)
    assert other.network_hash not in ("", first.network_hash)
    # IPv6: the /48 is the network.
    _, six_a = _enter(study, "2001:db8:1:aaaa::1")
    _, six_b = _enter(study, "2001:db8:1:bbbb::2")
    assert six_a.network_hash == six_b.network_hash != first.network_hash
    assert network_prefix("::ffff:203.0.113.9") == "203.0.113.0/24"

    stored = Participant.objects.filter(study=study).values()
    everything = repr(list(stored))
    for raw in ("203.0.113", "198.51.100", "2001:db8", token):
        assert raw not in everything
    assert {p.pk for p in (first, again)} == {
        f.participant_id
        for f in selectors.flagged_participants(study_id=study.pk)
        if "shared_browser" in f.flags
    }


def test_many_participants_from_one_network_are_flagged_from_the_setting(settings: Any) -> None:
    study = make_study()
    make_question(study)
    crowd = [_enter(study, f"203.0.113.{i}")[1] for i in range(1, 6)]
    few = [_enter(study, f"198.51.100.{i}")[1] for i in range(1, 5)]
    flagged = {f.participant_id: f for f in selectors.flagged_participants(study_id=study.pk)}
    assert set(flagged) == {p.pk for p in crowd}
    assert all(f.flags == ("shared_network",) for f in flagged.values())
    assert (
        "One of 5 participants of this study from the same network." in flagged[crowd[0].pk].reasons
    )
    settings.MGE_FLAG_SHARED_NETWORK = 4
    flagged_now = {f.participant_id for f in selectors.flagged_participants(study_id=study.pk)}
    assert flagged_now == {p.pk for p in crowd + few}


def _winner(snapshot: GraphSnapshot) -> str:
    (winner,) = snapshot.winners
    return str(winner["title"])


def _flip_graph() -> tuple[Graph, Participant]:
    """B → C twice (kept), C → A once by an honest participant and once by a straight-liner
    whose four other votes are on pairs nobody else judged: with the straight-liner, A wins;
    without them, C."""
    g = Graph()
    for _ in range(2):
        g.vote(g.participant(), ["BC"])
    g.vote(g.participant(), ["CA"])
    liner = g.participant()
    g.vote(liner, ["CA", "DE", "ED", "DB", "EB"], "upgrade")
    return g, liner


def test_quarantine_rebuilds_the_graph_without_the_votes_and_release_counts_them_again(
    sent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    g, liner = _flip_graph()
    before = snapshot_rebuild_run(study_id=g.study.pk)
    assert before is not None
    assert (before.vote_count, before.participant_count, _winner(before)) == (8, 4, "Value A")
    admin = make_admin()
    sent.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        services.participant_quarantine(
            study_id=g.study.pk,
            participant_id=liner.pk,
            actor_id=admin.pk,
            reason="Straight-lined",
        )
    sent.assert_called_once_with(g.study.pk)
    liner.refresh_from_db()
    assert liner.quarantined_at is not None
    assert liner.quarantine_reason == "Straight-lined"
    action = ModerationAction.objects.get(action=ModerationAction.Action.QUARANTINED)
    assert (action.participant_id, action.actor_id, action.reason) == (
        liner.pk,
        admin.pk,
        "Straight-lined",
    )
    # The live graph of that moment, kept: same content as the live snapshot then.
    assert action.snapshot_id is not None
    kept = GraphSnapshot.objects.get(pk=action.snapshot_id)
    assert kept.content_hash == before.content_hash
    assert kept.vote_count == 8
    assert snapshot_is_stale(study_id=g.study.pk)  # were the task lost, the sweep rebuilds

    after = snapshot_rebuild_run(study_id=g.study.pk)
    assert after is not None
    assert after.pk != before.pk
    assert (after.vote_count, after.participant_count, _winner(after)) == (3, 3, "Value C")
    assert after.filters["excluded_participants"] == [liner.pk]
    assert GraphSnapshot.objects.filter(pk=kept.pk).exists(), "compaction keeps the kept one"
    assert not GraphSnapshot.objects.filter(pk=before.pk).exists()
    assert not snapshot_is_stale(study_id=g.study.pk)
    assert UpgradeVote.objects.filter(participant=liner).count() == 5, "the votes stay stored"

    services.participant_release(
        study_id=g.study.pk, participant_id=liner.pk, actor_id=admin.pk, reason="Checked"
    )
    assert not ParticipantExclusion.objects.filter(participant=liner).exists()
    assert snapshot_is_stale(study_id=g.study.pk)
    again = snapshot_rebuild_run(study_id=g.study.pk)
    assert again is not None
    assert (again.vote_count, again.participant_count, _winner(again)) == (8, 4, "Value A")
    released = ModerationAction.objects.get(action=ModerationAction.Action.RELEASED)
    assert released.snapshot_id is not None
    assert GraphSnapshot.objects.get(pk=released.snapshot_id).content_hash == after.content_hash


def test_quarantine_needs_a_reason_and_refuses_previews_and_repeats(sent: Any) -> None:
    g, liner = _flip_graph()
    with pytest.raises(ApplicationError, match="Say why"):
        services.participant_quarantine(
            study_id=g.study.pk, participant_id=liner.pk, actor_id=None, reason="  "
        )
    preview = Participant.objects.create(study=g.study, is_preview=True)
    with pytest.raises(ApplicationError, match="preview"):
        services.participant_quarantine(
            study_id=g.study.pk, participant_id=preview.pk, actor_id=None, reason="x"
        )
    with pytest.raises(ApplicationError, match="not set aside"):
        services.participant_release(study_id=g.study.pk, participant_id=liner.pk, actor_id=None)
    other = make_study()
    with pytest.raises(ApplicationError, match="No such participant"):
        services.participant_quarantine(
            study_id=other.pk, participant_id=liner.pk, actor_id=None, reason="x"
        )
    services.participant_quarantine(
        study_id=g.study.pk, participant_id=liner.pk, actor_id=None, reason="x"
    )
    with pytest.raises(ApplicationError, match="already"):
        services.participant_quarantine(
            study_id=g.study.pk, participant_id=liner.pk, actor_id=None, reason="x"
        )
    assert ModerationAction.objects.count() == 1
    assert ParticipantExclusion.objects.count() == 1


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))


def test_the_page_shows_flags_quarantines_with_a_reason_and_the_difference(sent: Any) -> None:
    g, liner = _flip_graph()
    snapshot_rebuild_run(study_id=g.study.pk)
    staff = Client()
    staff.force_login(make_researcher(g.study))
    url = f"/staff/{g.study.slug}/integrity/"

    page = staff.get(url)
    assert page.status_code == 200
    text = _text(page.content)
    assert "Straight-lining" in text
    assert "All 5 of their votes were “Yes, wiser”." in text
    assert "Implausibly fast" not in text.split("What the flags mean")[0]
    assert str(liner.public_id)[:8] in text
    assert "Nobody has been quarantined yet." in text

    refused = staff.post(f"{url}quarantine/", {"participant": str(liner.public_id), "reason": ""})
    assert refused.status_code == 400
    assert "Say why this participant is set aside." in _text(refused.content)
    assert not ParticipantExclusion.objects.exists()

    done = staff.post(
        f"{url}quarantine/", {"participant": str(liner.public_id), "reason": "Same answer"}
    )
    assert done.status_code == 302
    assert done["Location"] == url
    now = snapshot_rebuild_run(study_id=g.study.pk)
    assert now is not None
    text = _text(staff.get(url).content)
    assert "Quarantined" in text
    assert "Same answer" in text
    assert "Votes counted 8 → 3" in text
    assert "Participants counted 4 → 3" in text
    assert "Winners that changed When a friend asks: Value A → Value C" in text
    action = ModerationAction.objects.get()
    diff_link = f"/research/{g.study.slug}/snapshots/{now.pk}/diff/?against={action.snapshot_id}"
    assert diff_link in staff.get(url).content.decode()
    assert staff.get(diff_link).status_code == 200

    released = staff.post(f"{url}release/", {"participant": str(liner.public_id)})
    assert released.status_code == 302
    assert not ParticipantExclusion.objects.exists()
    assert ModerationAction.objects.filter(action="released").count() == 1


def test_another_studys_researcher_cannot_quarantine(sent: Any) -> None:
    g, liner = _flip_graph()
    outsider = Client()
    outsider.force_login(make_researcher(make_study()))
    answer = outsider.post(
        f"/staff/{g.study.slug}/integrity/quarantine/",
        {"participant": str(liner.public_id), "reason": "x"},
    )
    assert answer.status_code == 404
    assert not ParticipantExclusion.objects.exists()
