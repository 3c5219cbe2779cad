"""The OpenAPI 3.1 description of `/api/v1/`, written by hand. tests/moralgraph/
test_guidance_api.py walks real answers (and every error) through it, so a field the endpoint
returns without a description here fails a test."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

API_VERSION = "1"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Schema], description: str = "") -> Schema:
    schema: Schema = {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(properties),
        "properties": properties,
    }
    if description:
        schema["description"] = description
    return schema


_NULLABLE_NUMBER: Schema = {"type": ["number", "null"], "minimum": 0, "maximum": 1}

SCHEMAS: dict[str, Schema] = {
    "Guidance": _object(
        {
            "api_version": {"type": "string", "const": API_VERSION},
            "study": _object({"slug": {"type": "string"}}),
            "snapshot": _ref("Snapshot"),
            "query": _object(
                {
                    "context": {"type": "string", "description": "The text asked about."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 10},
                }
            ),
            "matches": {
                "type": "array",
                "minItems": 1,
                "items": _ref("Match"),
                "description": "Best first: the exact match alone, else up to `limit` fuzzy ones.",
            },
        }
    ),
    "Snapshot": _object(
        {
            "id": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "schema_version": {
                "type": "integer",
                "description": "Of the snapshot document (1 or 2; 1 has no ties or questions).",
            },
            "scoring_version": {"type": "string"},
            "mode": {"enum": ["reference", "context"]},
            "is_live": {"type": "boolean", "description": "The graph that follows the votes."},
            "name": {"type": "string", "description": "A named snapshot's name, else empty."},
        },
        "The snapshot answered from: the one asked for, else the study's newest.",
    ),
    "Match": _object(
        {
            "match": {"enum": ["exact", "similar"]},
            "score": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "1 for an exact match; else 0.75 × the share of the context's "
                "content words the text contains + 0.25 × the cosine of their offline hashed "
                "embeddings. Matches below 0.3 are not returned.",
            },
            "context": _ref("Context"),
            "support": {"enum": ["broadly supported", "some support", "contested"]},
            "tie": {
                "type": "boolean",
                "description": "True when several values won within the scoring's tolerance: "
                "`winners` lists them all and none is preferred.",
            },
            "tie_probability": {
                **_NULLABLE_NUMBER,
                "description": "Share of bootstrap resamples in which the top score was tied; "
                "null when unknown (no bootstrap, or schema version 1).",
            },
            "winners": {"type": "array", "minItems": 1, "items": _ref("WinningValue")},
            "runner_up": {"oneOf": [{"type": "null"}, _ref("RunnerUp")]},
            "citations": {
                "type": "array",
                "items": _ref("Citation"),
                "description": "The edges into the winning value(s) in this context: kept "
                "edges first, then by how many marked the winner wiser.",
            },
        }
    ),
    "Context": _object(
        {
            "id": {"type": ["integer", "string"]},
            "text": {"type": "string"},
            "question_ids": {
                "type": ["array", "null"],
                "items": {"type": "integer"},
                "description": "The study questions the context belongs to; null when the "
                "snapshot does not record them (schema version 1).",
            },
        }
    ),
    "WinningValue": _object(
        {
            "value_id": {"type": "integer"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "policies": {
                "type": "array",
                "items": {"type": "string"},
                "description": "What someone holding this value attends to when choosing.",
            },
            "rank": {"type": ["integer", "null"], "minimum": 1},
            "score": {**_NULLABLE_NUMBER, "description": "PageRank score in the context."},
            "win_probability": {
                **_NULLABLE_NUMBER,
                "description": "Share of bootstrap resamples the value won; null when the "
                "snapshot was built without the bootstrap.",
            },
        }
    ),
    "RunnerUp": _object(
        {
            "value_id": {"type": "integer"},
            "title": {"type": "string"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
        }
    ),
    "Citation": _object(
        {
            "from_value_id": {"type": "integer"},
            "from_title": {"type": "string"},
            "to_value_id": {"type": "integer", "description": "The wiser value: a winner."},
            "counts": _object(
                {
                    key: {"type": "integer", "minimum": 0}
                    for key in (
                        "markedWiser",
                        "markedNotWiser",
                        "markedUnsure",
                        "markedLessWise",
                        "impressions",
                    )
                },
                "Participants' judgements of the upgrade story from→to.",
            ),
            "wiser_likelihood": {"type": "number", "minimum": -1, "maximum": 1},
            "interval": {
                "type": "array",
                "prefixItems": [
                    {"type": "number", "minimum": 0, "maximum": 1},
                    {"type": "number", "minimum": 0, "maximum": 1},
                ],
                "items": False,
                "minItems": 2,
                "description": "95% credible interval of the share who see `to` as wiser.",
            },
            "kept": {"type": "boolean", "description": "Counted in the graph's scoring."},
        }
    ),
    "Error": {
        "type": "object",
        "additionalProperties": False,
        "required": ["error", "message"],
        "properties": {
            "error": {
                "enum": [
                    "unauthorized",
                    "invalid_token",
                    "bad_request",
                    "study_not_found",
                    "no_snapshot",
                    "snapshot_not_found",
                    "no_matching_context",
                    "superseded",
                    "rebuilding",
                ]
            },
            "message": {"type": "string"},
            "snapshot_id": {"type": "integer"},
        },
    },
}


def _error(description: str) -> Schema:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }


def _query(name: str, schema: Schema, description: str, required: bool = False) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


GUIDANCE_OPERATION: Schema = {
    "operationId": "guidance",
    "summary": "The wisest values for a context, by the study's moral graph",
    "description": "Matches `context` against the snapshot's contexts (those with a winner) "
    "and returns, per match, the winning value(s) with their policies, support, win "
    "probability and ties, and the edges that cite them.",
    "security": [{"bearer": []}],
    "parameters": [
        {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
        _query(
            "context",
            {"type": "string", "minLength": 1, "maxLength": 1000},
            "The situation, e.g. 'When the user is in distress'.",
            required=True,
        ),
        _query(
            "snapshot",
            {"type": "integer", "minimum": 1},
            "Pin a snapshot of the study; by default its newest (the research page's).",
        ),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 10, "default": 3}, ""),
    ],
    "responses": {
        "200": {
            "description": "The matching contexts and their guidance.",
            "content": {"application/json": {"schema": _ref("Guidance")}},
        },
        "400": _error("A missing or malformed parameter."),
        "401": _error("No token, or an unknown or revoked one (see WWW-Authenticate)."),
        "404": _error(
            "No such study (also for a study the token does not cover, so a token does not "
            "reveal which studies exist), no snapshot yet, no such snapshot of the study, or no "
            "context matches."
        ),
        "410": _error("The pinned snapshot is superseded: a participant it counted withdrew."),
        "503": _error(
            "The study's newest snapshot is superseded and its rebuild is not stored yet; "
            "retry after the Retry-After seconds."
        ),
    },
}

OPENAPI: Schema = {
    "openapi": "3.1.0",
    "info": {
        "title": "Moral Graph Elicitation values API",
        "version": API_VERSION,
        "description": "Read-only guidance from a study's moral graph for agents at run time.",
    },
    "servers": [{"url": "/api/v1"}],
    "paths": {"/studies/{slug}/guidance": {"get": GUIDANCE_OPERATION}},
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token a study's researcher or an admin issued on the study's "
                "API tokens page (`/research/<slug>/api-tokens/`).",
            }
        },
    },
}
