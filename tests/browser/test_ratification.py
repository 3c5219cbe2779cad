"""The ratification phase end to end: a participant finishes the journey; the graph's snapshot
goes through `python -m inference ratify-sample` (against the fake model server); a researcher
opens a round on the ratification page with the pairs file; the participant follows "Help
check the result" from their finish page, judges each pair drawn for them (blind: "Answer 1"
and "Answer 2"), and is thanked; the researcher's report counts the judgements per context.
The ratification page passes axe at a phone's and a laptop's width."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from elicitation import services as elicitation_services
from elicitation.models import Participant, Question, Study
from elicitation.services import demo_study_seed
from inference.cli import EXIT_OK
from inference.testing import FakeLLMServer
from moralgraph import services as graph_services
from moralgraph.graph import Params
from moralgraph.models import RatificationJudgement, UpgradeHypothesis
from moralgraph.services.snapshots import snapshot_build
from tests.browser.conftest import assert_accessible
from tests.factories import make_admin
from tests.inference_jobs.conftest import llm_args, read_jsonl

pytestmark = pytest.mark.django_db(transaction=True)

TARGET = "Under the graph's values: ask what the friendship means to you before deciding."
BASELINE = "A generic answer: weigh the pros and cons and do what feels right."
# One participant's votes are few: keep every edge with a vote (a researcher's build option).
LENIENT = Params(
    min_wiser=1, bootstrap=0, grid_min_wiser=(), grid_min_likelihood=(), grid_max_entropy=()
)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # axe-core is injected as an inline script, which the pages' CSP refuses.
    return {**browser_context_args, "bypass_csp": True}


def _finished_participant(page: Page, study: Study) -> Participant:
    """A participant who entered the demo study in this browser and, in the database, took up
    its first question and finished (the interview and the stories have browser tests of their
    own); and other participants' upgrade votes on that question's stories, so the graph has
    winners there."""
    page.goto("/s/demo/")
    page.get_by_label("I have read this and agree to take part.").check()
    page.get_by_role("button", name="Start").click()
    participant = Participant.objects.get(study=study, is_preview=False)
    question = Question.objects.get(study=study, title="A friend who asks you to lie")
    elicitation_services.interview_start(participant=participant, question=question)
    Participant.objects.filter(pk=participant.pk).update(
        stage=Participant.Stage.FINISHED, finished_at=timezone.now()
    )
    stories = UpgradeHypothesis.objects.filter(study=study, context__questions=question)
    with mock.patch("moralgraph.services.snapshots.rebuild_task_send"):
        for _ in range(2):
            voter = elicitation_services.participant_consent(study=study)
            for story in stories:
                graph_services.upgrade_vote_cast(
                    participant_id=voter.pk,
                    from_value_id=story.from_value_id,
                    to_value_id=story.to_value_id,
                    context_id=story.context_id,
                    choice="upgrade",
                )
    return participant


def _pairs_file(fake: FakeLLMServer, snapshot_document: dict[str, Any], folder: Path) -> Path:
    snapshot_path = folder / "snapshot.json"
    snapshot_path.write_text(json.dumps(snapshot_document))
    fake.script(
        {"text": TARGET, "match_system": "moral graph", "repeat": 1000},
        {"text": BASELINE, "repeat": 1000},
    )
    out = folder / "pairs"
    # Its own process, as a researcher runs it (this test's thread has Playwright's loop).
    command = ["ratify-sample", str(snapshot_path), "--out", str(out), *llm_args(fake)]
    run = subprocess.run(
        [sys.executable, "-m", "inference", *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == EXIT_OK, run.stderr
    return out / "pairs.jsonl"


def _researcher(browser: Browser, base_url: str) -> Page:
    admin = make_admin()
    page = browser.new_context(base_url=base_url).new_page()
    page.goto("/admin/login/?next=/research/demo/ratification/")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill("a-long-passphrase-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1, name="Ratification")).to_be_visible()
    return page


def test_a_finished_participant_ratifies_and_the_researcher_sees_the_counts(
    page: Page,
    browser: Browser,
    asgi_server: str,
    axe_source: str,
    fake_llm: FakeLLMServer,
    tmp_path: Path,
) -> None:
    study = demo_study_seed()
    participant = _finished_participant(page, study)
    page.goto("/s/demo/done/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, you are done")
    # Before a round is open, the finish page offers nothing to check.
    expect(page.get_by_role("link", name="Help check the result")).to_have_count(0)

    snapshot = snapshot_build(study_id=study.pk, params=LENIENT)
    pairs_path = _pairs_file(fake_llm, snapshot.document, tmp_path)
    pairs = read_jsonl(pairs_path)
    assert pairs, "the participant's votes give the snapshot winners, so pairs"

    researcher = _researcher(browser, asgi_server)
    researcher.get_by_label("Snapshot").select_option(str(snapshot.pk))
    researcher.get_by_label("Pairs file").set_input_files(str(pairs_path))
    researcher.get_by_role("button", name="Open the round").click()
    expect(researcher.get_by_role("status")).to_contain_text(f"with {len(pairs)} pairs")
    expect(researcher.get_by_role("button", name="Close the round")).to_be_visible()

    page.reload()
    page.get_by_role("link", name="Help check the result").click()
    expect(page).to_have_url(re.compile(r"/s/demo/ratify/$"))
    assert_accessible(page, axe_source, "ratify-pair")
    judged: dict[str, int] = {}
    total = None
    while True:
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text("Help check the result")
        counter = page.get_by_text(re.compile(r"^Answer pair \d+ of \d+$"))
        if counter.count() == 0:
            break
        position, total = map(int, re.findall(r"\d+", counter.inner_text()))
        answers = page.locator(".ratify-answer .answer-text").all_inner_texts()
        assert sorted(answers) == sorted([TARGET, BASELINE]), "both answers, side by side"
        situation = page.locator(".context").inner_text()
        context = situation.split("\n")[-1].strip() if "\n" in situation else situation
        # Pick the answer written under the target, wherever the draw put it.
        side = "Answer 1" if answers[0] == TARGET else "Answer 2"
        choices = page.get_by_role(
            "group", name="Which answer better reflects what you care about?"
        )
        choices.get_by_label(side, exact=True).check()
        page.get_by_role("group", name="Does it embody your own card?").get_by_label(
            "Partly"
        ).check()
        page.get_by_role("button", name=re.compile("Send and")).click()
        judged[context] = judged.get(context, 0) + 1
        if position == total:
            break
    expect(page.get_by_role("status")).to_contain_text("Thank you: you checked")
    assert total is not None
    assert sum(judged.values()) == total
    rows = RatificationJudgement.objects.filter(participant=participant)
    assert rows.count() == total
    assert set(rows.values_list("preferred", flat=True)) == {"target"}
    assert set(rows.values_list("embodies_own_card", flat=True)) == {"partly"}

    researcher.reload()
    report = researcher.get_by_role("table")
    for row in researcher.locator("table.ratification-report tbody tr").all():
        context = row.get_attribute("data-context") or ""
        n = sum(v for k, v in judged.items() if context and context in k)
        expect(row.locator("[data-judgements]")).to_have_text(str(n))
        if n:
            expect(row.locator("[data-prefers-target]")).to_contain_text("100% (")
    expect(report).to_be_visible()
