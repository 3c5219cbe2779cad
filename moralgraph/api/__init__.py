"""The read-only values API for agents at run time (`/api/v1/`): bearer tokens issued by staff
(tokens.py), guidance per context from a snapshot (guidance.py, matching.py), kept per snapshot
in process (cache.py), and its OpenAPI document (openapi.py)."""
