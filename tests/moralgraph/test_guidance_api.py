"""The values API (`/api/v1/`): bearer tokens (none, wrong, revoked, another study's), unknown
studies, contexts and snapshots, exact and fuzzy matching, snapshot pinning, ties, superseded
snapshots, the in-process cache, the staff page that issues and revokes tokens, and the OpenAPI
document that must describe every field the endpoint returns."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from elicitation.models import Study
from moralgraph.api import cache, tokens
from moralgraph.api.openapi import OPENAPI
from moralgraph.models import ApiToken, GraphSnapshot, SnapshotSupersession
from tests.factories import make_admin, make_researcher
from tests.support.explorer_study import DOUBT, GRIEF, ExplorerStudy, explorer_study_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.cache_clear()
    yield
    cache.cache_clear()


@pytest.fixture
def explore() -> ExplorerStudy:
    return explorer_study_build()


def _token(study: Study | None) -> str:
    return tokens.api_token_issue(
        name="agent", study_id=None if study is None else study.pk, created_by_id=None
    ).token


def _get(slug: str, token: str | None = None, **params: Any) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return Client().get(reverse("api:guidance", args=[slug]), params, headers=headers)


def _validator(component: str) -> jsonschema.Draft202012Validator:
    root = {"$ref": f"#/components/schemas/{component}", "components": OPENAPI["components"]}
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _described(response: Any) -> dict[str, Any]:
    """The body, once checked against the OpenAPI document: its status is documented, and
    every field is described (each object schema forbids additional properties)."""
    body: dict[str, Any] = response.json()
    operation = OPENAPI["paths"]["/studies/{slug}/guidance"]["get"]
    assert str(response.status_code) in operation["responses"], response.status_code
    _validator("Guidance" if response.status_code == 200 else "Error").validate(body)
    return body


# --- synthetic snapshots: two with different winners, one with a tie ------------------------


def _document(winner: int, *, tied: list[int] | None = None) -> dict[str, Any]:
    """A small snapshot document; version 2 (ties, questions) when `tied` is given."""
    values = [
        {
            "id": i,
            "source_id": None,
            "title": f"V{i}",
            "description": f"d{i}",
            "policies": [f"P{i}"],
        }
        for i in (1, 2, 3)
    ]
    counts = {
        "markedWiser": 4,
        "markedNotWiser": 1,
        "markedUnsure": 0,
        "markedLessWise": 0,
        "impressions": 5,
    }
    edges = [
        {
            "from": 3,
            "to": to,
            "contexts": ["When in doubt"],
            "counts": counts,
            "wiser_likelihood": 0.6,
            "entropy": 0.5,
            "interval": [0.3, 0.95],
            "kept": True,
        }
        for to in (1, 2)
    ]
    entry: dict[str, Any] = {
        "context": "When in doubt",
        "context_id": 7,
        "value_id": winner,
        "score": 0.4,
        "support": "some support",
        "win_probability": 0.7,
        "runner_up": {"value_id": 3, "score": 0.2},
    }
    context: dict[str, Any] = {"id": 7, "text": "When in doubt"}
    if tied is not None:
        entry |= {"tied_value_ids": tied, "tie": len(tied) > 1, "tie_probability": 0.5}
        context["question_ids"] = [11]
    ranking = [
        {
            "value_id": i,
            "rank": r,
            "score": 0.4 if i in (tied or [winner]) else 0.2,
            "win_probability": 0.35 if tied else (0.7 if i == winner else 0.1),
        }
        for r, i in enumerate([winner, *[j for j in (1, 2, 3) if j != winner]], start=1)
    ]
    return {
        "schema_version": 1 if tied is None else 2,
        "scoring_version": "test",
        "parameters": {"mode": "reference"},
        "contexts": [context],
        "values": values,
        "edges": edges,
        "winners": [entry],
        "rankings": [
            {"context": "When in doubt", "context_id": 7, "ranking": ranking, "other_winners": []}
        ],
    }


def _snapshot(study: Study, document: dict[str, Any], *, age_days: int = 0) -> GraphSnapshot:
    return GraphSnapshot.objects.create(
        study=study,
        parameters=document["parameters"],
        document_zlib=GraphSnapshot.pack(document),
        content_hash=hashlib.sha256(repr(document).encode()).hexdigest(),
        scoring_version="test",
        created_at=timezone.now() - timedelta(days=age_days),
    )


@pytest.fixture
def synthetic() -> Study:
    return Study.objects.create(slug="synthetic", title="Synthetic")


# --- authentication -------------------------------------------------------------------------


def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(explore: ExplorerStudy) -> None:
    response = _get(explore.study.slug, context=DOUBT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="moral-graph-api"'
    assert _described(response)["error"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["Bearer mge_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "mge_x"]
)
def test_a_wrong_token_is_401_invalid_token(explore: ExplorerStudy, header: str) -> None:
    response = Client().get(
        reverse("api:guidance", args=[explore.study.slug]),
        {"context": DOUBT},
        headers={"Authorization": header},
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert _described(response)["error"] == "invalid_token"


def test_a_revoked_token_stops_working_at_once(explore: ExplorerStudy) -> None:
    token = _token(explore.study)
    assert _get(explore.study.slug, token, context=DOUBT).status_code == 200
    row = ApiToken.objects.get()
    tokens.api_token_revoke(token_id=row.pk, study_id=explore.study.pk, may_revoke_global=False)
    response = _get(explore.study.slug, token, context=DOUBT)
    assert response.status_code == 401
    assert _described(response)["error"] == "invalid_token"


def test_a_token_for_another_study_answers_as_an_unknown_study(explore: ExplorerStudy) -> None:
    other = Study.objects.create(slug="other", title="Other")
    token = _token(other)
    refused = _get(explore.study.slug, token, context=DOUBT)
    unknown = _get("no-such-study", token, context=DOUBT)
    assert refused.status_code == unknown.status_code == 404
    assert refused.json() == unknown.json()  # the token does not reveal which studies exist
    assert _described(refused)["error"] == "study_not_found"
    assert _get(explore.study.slug, _token(None), context=DOUBT).status_code == 200


def test_unknown_study_is_404_and_auth_comes_first(explore: ExplorerStudy) -> None:
    assert _get("no-such-study", context=DOUBT).status_code == 401
    response = _get("no-such-study", _token(None), context=DOUBT)
    assert response.status_code == 404
    assert _described(response)["error"] == "study_not_found"


def test_use_is_recorded_and_only_the_hash_is_stored(explore: ExplorerStudy) -> None:
    token = _token(explore.study)
    row = ApiToken.objects.get()
    assert row.last_used_at is None
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(ApiToken.objects.values().get())
    _get(explore.study.slug, token, context=DOUBT)
    row.refresh_from_db()
    assert row.last_used_at is not None


# --- matching -------------------------------------------------------------------------------


def test_an_exact_context_gives_its_winner_policies_support_and_citations(
    explore: ExplorerStudy,
) -> None:
    response = _get(explore.study.slug, _token(explore.study), context="  when IN doubt. ")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = _described(response)
    assert body["snapshot"]["id"] == explore.snapshot.pk
    assert body["snapshot"]["created_at"] == explore.snapshot.created_at.isoformat()
    [match] = body["matches"]
    assert (match["match"], match["score"]) == ("exact", 1.0)
    assert match["context"]["text"] == DOUBT
    assert match["context"]["id"] == explore.context_ids[DOUBT]
    assert match["tie"] is False
    [winner] = match["winners"]
    calm = explore.values[1]
    assert (winner["value_id"], winner["title"]) == (calm.pk, calm.title)
    assert winner["policies"] == calm.policies
    assert match["support"] in {"broadly supported", "some support", "contested"}
    [citation] = match["citations"]
    assert (citation["from_value_id"], citation["to_value_id"]) == (explore.values[0].pk, calm.pk)
    assert citation["counts"]["markedWiser"] == 3
    low, high = citation["interval"]
    assert 0 <= low < high <= 1


def test_a_related_text_matches_fuzzily_with_a_score(explore: ExplorerStudy) -> None:
    body = _described(
        _get(explore.study.slug, _token(explore.study), context="The user is grieving her dog")
    )
    assert body["matches"][0]["context"]["text"] == GRIEF
    assert body["matches"][0]["match"] == "similar"
    assert 0.3 <= body["matches"][0]["score"] < 1
    assert body["matches"][0]["winners"][0]["title"] == "Courage"


def test_an_unrelated_context_is_404(explore: ExplorerStudy) -> None:
    response = _get(explore.study.slug, _token(explore.study), context="capital of France")
    assert response.status_code == 404
    body = _described(response)
    assert body["error"] == "no_matching_context"
    assert body["snapshot_id"] == explore.snapshot.pk


@pytest.mark.parametrize(
    "params",
    [{}, {"context": "   "}, {"context": "x" * 1001}, {"context": DOUBT, "limit": "0"}]
    + [{"context": DOUBT, "limit": "11"}, {"context": DOUBT, "snapshot": "abc"}],
)
def test_bad_parameters_are_400(explore: ExplorerStudy, params: dict[str, str]) -> None:
    response = _get(explore.study.slug, _token(explore.study), **params)
    assert response.status_code == 400
    assert _described(response)["error"] == "bad_request"


# --- snapshots: pinning, unknown, superseded, ties --------------------------------------------


def test_a_pinned_snapshot_answers_from_it_and_the_default_is_the_newest(synthetic: Study) -> None:
    older = _snapshot(synthetic, _document(winner=1), age_days=2)
    newer = _snapshot(synthetic, _document(winner=2))
    token = _token(synthetic)
    current = _described(_get("synthetic", token, context="When in doubt"))
    assert current["snapshot"]["id"] == newer.pk
    assert current["matches"][0]["winners"][0]["value_id"] == 2
    pinned = _described(_get("synthetic", token, context="When in doubt", snapshot=older.pk))
    assert pinned["snapshot"]["id"] == older.pk
    assert pinned["snapshot"]["created_at"] == older.created_at.isoformat()
    assert pinned["matches"][0]["winners"][0]["value_id"] == 1
    assert [c["to_value_id"] for c in pinned["matches"][0]["citations"]] == [1]


def test_an_unknown_or_foreign_snapshot_is_404(synthetic: Study, explore: ExplorerStudy) -> None:
    _snapshot(synthetic, _document(winner=1))
    token = _token(None)
    for snapshot_id in (explore.snapshot.pk, 10**9):
        response = _get("synthetic", token, context="When in doubt", snapshot=snapshot_id)
        assert response.status_code == 404
        assert _described(response)["error"] == "snapshot_not_found"
    empty = Study.objects.create(slug="empty", title="Empty")
    response = _get(empty.slug, token, context="When in doubt")
    assert (response.status_code, response.json()["error"]) == (404, "no_snapshot")


def test_a_superseded_snapshot_is_gone_when_pinned_and_rebuilding_by_default(
    synthetic: Study,
) -> None:
    snapshot = _snapshot(synthetic, _document(winner=1))
    SnapshotSupersession.objects.create(snapshot=snapshot, reason="withdrawal")
    token = _token(synthetic)
    pinned = _get("synthetic", token, context="When in doubt", snapshot=snapshot.pk)
    assert pinned.status_code == 410
    assert _described(pinned)["error"] == "superseded"
    current = _get("synthetic", token, context="When in doubt")
    assert current.status_code == 503
    assert int(current["Retry-After"]) > 0
    assert _described(current)["error"] == "rebuilding"


def test_ties_in_a_version_2_document_are_reported_with_every_tied_value(
    synthetic: Study,
) -> None:
    _snapshot(synthetic, _document(winner=1, tied=[1, 2]))
    body = _described(_get("synthetic", _token(synthetic), context="When in doubt"))
    assert body["snapshot"]["schema_version"] == 2
    [match] = body["matches"]
    assert match["tie"] is True
    assert match["tie_probability"] == 0.5
    assert [w["value_id"] for w in match["winners"]] == [1, 2]
    assert [w["win_probability"] for w in match["winners"]] == [0.7, 0.35]
    assert sorted(c["to_value_id"] for c in match["citations"]) == [1, 2]
    assert match["context"]["question_ids"] == [11]


def test_a_version_1_document_reads_as_untied_with_unknown_questions(synthetic: Study) -> None:
    _snapshot(synthetic, _document(winner=1))
    [match] = _described(_get("synthetic", _token(synthetic), context="When in doubt"))["matches"]
    assert match["tie"] is False
    assert [w["value_id"] for w in match["winners"]] == [1]
    assert match["context"]["question_ids"] is None
    assert match["runner_up"] == {"value_id": 3, "title": "V3", "score": 0.2}


# --- the cache ------------------------------------------------------------------------------


def test_a_cached_snapshot_costs_two_small_queries(
    explore: ExplorerStudy, django_assert_num_queries: Any
) -> None:
    token = _token(explore.study)
    assert _get(explore.study.slug, token, context=DOUBT).status_code == 200  # warms the cache
    assert cache.cached_snapshot_ids() == [explore.snapshot.pk]
    with django_assert_num_queries(2):  # the token; the snapshot's row joined to its study
        assert _get(explore.study.slug, token, context=GRIEF).status_code == 200


def test_the_cache_keeps_the_most_recently_used_snapshots(
    synthetic: Study, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MAX_SNAPSHOTS", 2)
    snapshots = [_snapshot(synthetic, _document(winner=w)) for w in (1, 2, 3)]
    for snapshot in snapshots:
        assert cache.guidance_index_get(snapshot_id=snapshot.pk) is not None
    assert cache.cached_snapshot_ids() == [snapshots[1].pk, snapshots[2].pk]


# --- the staff page and the OpenAPI document --------------------------------------------------


def test_a_researcher_issues_a_token_shown_once_and_revokes_it(explore: ExplorerStudy) -> None:
    client = Client()
    client.force_login(make_researcher(explore.study))
    slug = explore.study.slug
    page = client.get(reverse("research:study", args=[slug])).content.decode()
    assert reverse("research:api_tokens", args=[slug]) in page
    issued = client.post(
        reverse("research:api_token_issue", args=[slug]), {"name": "helper", "scope": "all"}
    )
    assert issued.status_code == 200  # "every study" is not offered to a researcher
    assert ApiToken.objects.count() == 0
    issued = client.post(
        reverse("research:api_token_issue", args=[slug]), {"name": "helper", "scope": "study"}
    )
    assert issued["Cache-Control"] == "no-store"
    row = ApiToken.objects.get()
    token = issued.context["issued"].token
    assert token in issued.content.decode()
    assert (row.study_id, row.token_hash) == (explore.study.pk, tokens.token_hash(token))
    listing = client.get(reverse("research:api_tokens", args=[slug])).content.decode()
    assert token not in listing
    assert row.hint in listing
    assert _get(slug, token, context=DOUBT).status_code == 200
    client.post(reverse("research:api_token_revoke", args=[slug]), {"token": row.pk})
    assert _get(slug, token, context=DOUBT).status_code == 401


def test_an_admin_issues_a_token_for_every_study(explore: ExplorerStudy) -> None:
    client = Client()
    client.force_login(make_admin())
    response = client.post(
        reverse("research:api_token_issue", args=[explore.study.slug]),
        {"name": "fleet", "scope": "all"},
    )
    token = response.context["issued"].token
    assert ApiToken.objects.get().study_id is None
    other = explorer_study_build(slug="another")
    assert _get(other.study.slug, token, context=DOUBT).status_code == 200


def test_the_openapi_document_is_public_and_describes_the_endpoint() -> None:
    response = Client().get(reverse("api:openapi"))
    assert response.status_code == 200
    document = response.json()
    assert document == OPENAPI
    assert document["openapi"].startswith("3.1")
    jsonschema.Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
    assert set(document["paths"]) == {"/studies/{slug}/guidance"}
    served = reverse("api:guidance", args=["x"]).removeprefix(document["servers"][0]["url"])
    assert served == "/studies/x/guidance"
