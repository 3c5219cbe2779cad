"""The authorisation matrix: every URL pattern of the project (the Django admin's own aside)
against five actors: anonymous, a participant (a session that consented to study A), a
researcher of another study (B), a researcher of study A, and an admin.

Each pattern needs a rule in RULES, so a new URL fails here until someone says who may use it.
Path parameters are filled from one set of rows of study A. Every request runs inside a
savepoint that is rolled back, so no probe changes what the next one sees; a refused POST is
also checked to have changed nothing before the rollback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from elicitation import services as elicitation_services
from elicitation.models import Interview, InviteCode, Participant, Question, Study, StudyMembership
from moralgraph.models import ApiToken, Context, GraphSnapshot, InferenceJob, UpgradeVote, Value
from tests.factories import (
    make_admin,
    make_question,
    make_researcher,
    make_small_graph,
    make_study,
)

ACTORS = ("anonymous", "participant", "researcher_b", "researcher_a", "admin")

# What each kind of page gives each actor. "allowed" is "ok" for a GET probe and "done" (the
# action ran or answered with a form error: anything but a refusal or a crash) for a POST.
ACCESS: dict[str, dict[str, str]] = {
    "public": dict.fromkeys(ACTORS, "ok"),
    "journey": dict.fromkeys(ACTORS, "ok_or_redirect"),
    # The story page's vote address: an empty POST is refused with a JSON error for anyone
    # (nothing to record), never a page, a login redirect or a crash.
    "journey_api": dict.fromkeys(ACTORS, "json_refusal"),
    "own_interview": {**dict.fromkeys(ACTORS, "404"), "participant": "ok_or_redirect"},
    "staff": {"anonymous": "login", "participant": "login", **dict.fromkeys(ACTORS[2:], "ok")},
    "study": {
        "anonymous": "login",
        "participant": "login",
        "researcher_b": "404",
        "researcher_a": "allowed",
        "admin": "allowed",
    },
    "study_admin": {
        "anonymous": "login",
        "participant": "login",
        "researcher_b": "404",
        "researcher_a": "403",
        "admin": "allowed",
    },
    # The values API authenticates by bearer token only: no session, staff or not, gets in.
    "bearer": dict.fromkeys(ACTORS, "401"),
    "admin": {
        "anonymous": "login",
        "participant": "login",
        "researcher_b": "403",
        "researcher_a": "403",
        "admin": "allowed",
    },
}


@dataclass(frozen=True)
class Rule:
    access: str
    method: str = "GET"
    query: str = ""  # formatted with the path parameters' values


POST = "POST"
RULES: dict[str, Rule] = {
    "healthz": Rule("public"),
    # The values API: its description is public, its data needs a staff-issued token.
    "api:openapi": Rule("public"),
    "api:guidance": Rule("bearer", query="?context=When+in+doubt"),
    # The participant's journey: public pages that follow the session's own participant.
    "elicitation:home": Rule("public"),
    "elicitation:study_start": Rule("journey"),
    "elicitation:demographics": Rule("journey"),
    "elicitation:question_choose": Rule("journey"),
    "elicitation:wise_values": Rule("journey"),
    "elicitation:upgrade_votes": Rule("journey"),
    "elicitation:story_vote": Rule("journey_api", POST),
    "elicitation:stories_review": Rule("journey"),
    "elicitation:survey": Rule("journey"),
    "elicitation:finish": Rule("journey"),
    "elicitation:withdraw": Rule("public"),
    "elicitation:resume": Rule("public"),
    # The language switcher (Django's set_language): anyone, back to the page (or home).
    "elicitation:set_language": Rule("journey", POST),
    "elicitation:finish_position_answer": Rule("journey", POST),
    "elicitation:finish_dedup_answer": Rule("journey", POST),
    "elicitation:ratify": Rule("journey"),
    "elicitation:interview": Rule("own_interview"),
    "elicitation:interview_leave": Rule("own_interview", POST),
    # Staff pages.
    "staff:studies": Rule("staff"),
    "staff:study_create": Rule("admin"),
    "staff:study_edit": Rule("study"),
    "staff:question_add": Rule("study"),
    "staff:question_edit": Rule("study"),
    "staff:question_move": Rule("study", POST),
    "staff:question_delete": Rule("study", POST),
    "staff:demographics": Rule("study"),
    "staff:demographic_edit": Rule("study"),
    "staff:demographic_move": Rule("study", POST),
    "staff:demographic_delete": Rule("study", POST),
    "staff:study_participation": Rule("study"),
    "staff:study_state": Rule("study", POST),
    "staff:invite_codes": Rule("study"),
    "staff:invite_codes_csv": Rule("study"),
    "staff:invite_code_free": Rule("study"),
    "staff:panel_settings": Rule("study"),
    "staff:erasure": Rule("study"),
    "staff:study_preview_start": Rule("study", POST),
    "staff:dashboard": Rule("study"),
    "staff:study_people": Rule("study_admin"),
    "staff:study_person_remove": Rule("study_admin", POST),
    "staff:contexts": Rule("study"),
    "staff:context_add": Rule("study", POST),
    "staff:contexts_generate": Rule("study", POST),
    "staff:contexts_mine": Rule("study", POST),
    "staff:context_review": Rule("study", POST),
    "staff:context_edit": Rule("study"),
    "staff:moderation": Rule("study"),
    "staff:moderation_decide": Rule("study", POST),
    "staff:exports": Rule("study"),
    "staff:export_cards": Rule("study"),
    "staff:export_picks": Rule("study"),
    "staff:export_survey": Rule("study"),
    "staff:export_funnel": Rule("study"),
    "staff:export_moderation": Rule("study"),
    "staff:export_polis_comments": Rule("study"),
    "staff:export_polis_votes": Rule("study"),
    "staff:export_polis_participants_votes": Rule("study"),
    "staff:export_polis_zip": Rule("study"),
    "staff:report": Rule("study"),
    "staff:integrity": Rule("study"),
    "staff:integrity_quarantine": Rule("study", POST),
    "staff:integrity_release": Rule("study", POST),
    # Research pages.
    "research:studies": Rule("staff"),
    "research:study": Rule("study"),
    "research:live_winners": Rule("study"),
    "research:snapshot_build": Rule("study", POST),
    "research:snapshot_build_named": Rule("study", POST),
    "research:pipeline_cards": Rule("study", POST),
    "research:pipeline_stories": Rule("study", POST),
    "research:pipeline_sweep": Rule("study", POST),
    "research:study_diff": Rule("study", query="?from={snapshot_id}&to={snapshot_id}"),
    "research:snapshot": Rule("study"),
    "research:snapshot_diff": Rule("study"),
    "research:snapshot_export": Rule("study"),
    "research:snapshot_value": Rule("study"),
    "research:job_start": Rule("study", POST),
    "research:job_status": Rule("study"),
    "research:job_stop": Rule("study", POST),
    "research:job_resume": Rule("study", POST),
    "research:job_file": Rule("study"),
    "research:api_tokens": Rule("study"),
    "research:api_token_issue": Rule("study", POST),
    "research:api_token_revoke": Rule("study", POST),
    "research:ratification": Rule("study"),
    "research:ratification_open": Rule("study", POST),
    "research:ratification_close": Rule("study", POST),
}


@dataclass(frozen=True)
class Route:
    name: str
    params: tuple[str, ...]


def _walk(
    patterns: list[Any], namespace: str = "", params: tuple[str, ...] = ()
) -> Iterator[Route]:
    for entry in patterns:
        converters = tuple(getattr(entry.pattern, "converters", {}))
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # the Django admin guards its own pages
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, inner, params + converters)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"every URL needs a name to be given a rule: {entry.pattern}"
            yield Route(f"{namespace}{entry.name}", params + converters)


def project_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def test_every_url_pattern_has_a_rule() -> None:
    names = {route.name for route in project_routes()}
    assert names - RULES.keys() == set(), "give these URLs a rule in RULES"
    assert RULES.keys() - names == set(), "these rules name no URL any more"


@dataclass
class World:
    clients: dict[str, Client]
    params: dict[str, object]
    study_a: Study


def _client(user: Any = None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(tmp_path: Path) -> World:
    study_a = make_study(demographic_questions=[{"key": "age", "label": "Age", "kind": "text"}])
    study_b = make_study()
    question = make_question(study_a)
    make_question(study_b)
    context_id, value_id, snapshot = make_small_graph(study_a, question)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sft.jsonl").write_text('{"key": "k"}\n')
    job = InferenceJob.objects.create(
        snapshot=snapshot,
        kind=InferenceJob.Kind.DATASET_SFT,
        parameters={"per_context": 2, "model": "m", "max_tokens_total": None},
        status=InferenceJob.Status.DONE,
        output_dir=str(tmp_path),
    )
    code = elicitation_services.invite_codes_generate(study_id=study_a.pk, count=1)[0]
    participant = _client()
    entered = participant.post(f"/s/{study_a.slug}/", {"consent": "yes"})
    assert entered.status_code == 302, "the participant actor consents to study A"
    answered = participant.post(f"/s/{study_a.slug}/about-you/", {"age": "40"})
    assert answered.status_code == 302, "and answers the question about them"
    interview = elicitation_services.interview_start(
        participant=Participant.objects.filter(study=study_a).latest("id"), question=question
    )
    researcher_a = make_researcher(study_a)
    clients = {
        "anonymous": _client(),
        "participant": participant,
        "researcher_b": _client(make_researcher(study_b)),
        "researcher_a": _client(researcher_a),
        "admin": _client(make_admin()),
    }
    params: dict[str, object] = {
        "slug": study_a.slug,
        "question_id": question.pk,
        "key": "age",
        "code_id": code.pk,
        "user_id": researcher_a.pk,
        "snapshot_id": snapshot.pk,
        "value_id": value_id,
        "context_id": context_id,
        "job_id": job.pk,
        "name": "sft.jsonl",
        "fmt": "json",
        "interview_id": interview.pk,
    }
    return World(clients, params, study_a)


def _fingerprint(study: Study) -> tuple[object, ...]:
    """What a refused POST must not change (counts of the rows the pages write, the study)."""
    counts = tuple(
        model.objects.count()
        for model in (
            Study,
            Question,
            InviteCode,
            Participant,
            Interview,
            StudyMembership,
            Context,
            Value,
            UpgradeVote,
            GraphSnapshot,
            InferenceJob,
            ApiToken,
        )
    )
    row = Study.objects.values_list("status", "title", "demographic_questions").get(pk=study.pk)
    used = tuple(InviteCode.objects.filter(used_at__isnull=False).values_list("pk", flat=True))
    jobs = tuple(InferenceJob.objects.values_list("status", flat=True))
    order = tuple(Question.objects.filter(study=study).values_list("order", flat=True))
    return (*counts, row, used, jobs, order)


def _is_login(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


CHECKS: dict[str, Callable[[Any], bool]] = {
    "ok": lambda r: 200 <= r.status_code < 300,
    "ok_or_redirect": lambda r: 200 <= r.status_code < 400 and not _is_login(r),
    "done": lambda r: r.status_code < 500 and r.status_code not in (403, 404, 405),
    "login": _is_login,
    "401": lambda r: r.status_code == 401 and "Bearer" in r.get("WWW-Authenticate", ""),
    "403": lambda r: r.status_code == 403,
    "404": lambda r: r.status_code == 404,
    "json_refusal": lambda r: (
        r.status_code in (400, 409) and r["Content-Type"] == "application/json"
    ),
}
REFUSALS = {"login", "401", "403", "404", "json_refusal"}


def _probe(world: World, route: Route, actor: str) -> str | None:
    """One request; a line for the report when it is not what the rule says."""
    rule = RULES[route.name]
    expected = ACCESS[rule.access][actor]
    if expected == "allowed":
        expected = "done" if rule.method == POST else "ok"
    missing = [p for p in route.params if p not in world.params]
    assert not missing, f"{route.name}: no fixture value for {missing}"
    url = reverse(route.name, kwargs={p: world.params[p] for p in route.params})
    url += rule.query.format(**world.params)
    client = world.clients[actor]
    with transaction.atomic():
        before = _fingerprint(world.study_a)
        response = client.post(url) if rule.method == POST else client.get(url)
        after = _fingerprint(world.study_a)
        transaction.set_rollback(True)
    where = f"{actor:>12} {rule.method:4} {url}"
    if not CHECKS[expected](response):
        location = response.get("Location", "")
        return f"{where}: expected {expected}, got {response.status_code} {location}"
    if rule.method == POST and expected in REFUSALS and before != after:
        return f"{where}: refused, yet it changed something"
    return None


@pytest.mark.django_db
def test_every_url_gives_each_actor_what_its_rule_says(world: World) -> None:
    failures = [
        line
        for route in project_routes()
        for actor in ACTORS
        if route.name in RULES and (line := _probe(world, route, actor))
    ]
    assert failures == [], "\n".join(failures)


@pytest.mark.django_db
def test_the_study_lists_show_a_researcher_only_their_studies(world: World) -> None:
    other = Study.objects.exclude(pk=world.study_a.pk).get()
    for url in ("/staff/", "/research/"):
        mine = world.clients["researcher_b"].get(url).content.decode()
        assert f"/{other.slug}/" in mine
        assert f"/{world.study_a.slug}/" not in mine, url
        everything = world.clients["admin"].get(url).content.decode()
        assert f"/{other.slug}/" in everything
        assert f"/{world.study_a.slug}/" in everything
