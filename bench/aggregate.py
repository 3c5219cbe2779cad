"""Benchmark: from committed votes in PostgreSQL to a committed snapshot with winners.

    .venv/bin/python bench/aggregate.py [--sizes 10000 100000 1000000] [--bootstrap 200]
        [--no-live] [--database-url postgres://postgres@127.0.0.1:5432/mge_bench]

Uses its own database (created afresh; default `mge_bench`). Synthetic studies (10k values,
50 contexts; the same generator as bench/graph_pure.py, one vote per participant, pair and
context) are inserted with COPY. For each size it prints the time from committed votes to a
committed snapshot (`snapshot_build`, bootstrap off, sensitivity grid on, with its parts:
load, build, document, store), the same with the bootstrap (B replicates) separately, and
the ratio to a naive full recompute (ORM rows aggregated in a Python dict; smaller sizes).
Then "a vote's commit to a snapshot that reflects it" through a real Celery worker process.
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def prepare_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--naive-max", type=int, default=100_000)
    parser.add_argument("--no-live", action="store_true")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/mge_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    prepare_database(args.database_url)
    os.environ.update(
        {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "DJANGO_DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args)


def run(args: argparse.Namespace) -> None:  # noqa: C901 - a linear script
    import numpy as np
    from django.db import connection, transaction

    from bench.graph_pure import N_CONTEXTS, N_VALUES, naive_aggregate, synthetic_votes
    from elicitation.models import Participant, Study
    from moralgraph.graph import Params
    from moralgraph.models import Context, UpgradeVote, Value
    from moralgraph.services import snapshots

    print(
        f"{os.cpu_count()} CPUs; PostgreSQL database {connection.settings_dict['NAME']}; "
        f"{N_VALUES} values, {N_CONTEXTS} contexts per study"
    )
    studies: dict[int, int] = {}

    def copy_rows(table: str, columns: list[str], rows: Sequence[tuple[object, ...]]) -> None:
        with connection.cursor() as cursor:
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)

    for n in args.sizes:
        votes = synthetic_votes(n, seed=n)
        keys = np.stack([votes.participant, votes.from_value, votes.to_value, votes.context], 1)
        _, first = np.unique(keys, axis=0, return_index=True)
        first.sort()
        start = time.perf_counter()
        with transaction.atomic():
            study = Study.objects.create(slug=f"bench-{n}-{uuid.uuid4().hex[:6]}", title=f"{n}")
            contexts = Context.objects.bulk_create(
                [Context(study=study, text=text) for text in votes.contexts]
            )
            values = Value.objects.bulk_create(
                [
                    Value(study=study, title=f"Value {i}", description="d", policies=["P"])
                    for i in range(N_VALUES)
                ],
                batch_size=5000,
            )
            n_participants = int(votes.participant.max()) + 1
            now = "2024-01-01T00:00:00+00:00"
            copy_rows(
                Participant._meta.db_table,
                [
                    "study_id",
                    "public_id",
                    "external_id_hash",
                    "demographics",
                    "consent_version",
                    "stage",
                    "completion_code",
                    "source_id",
                    "created_at",
                ],
                [
                    (study.pk, uuid.uuid4(), "", "{}", "", "votes", "", "", now)
                    for _ in range(n_participants)
                ],
            )
            people = list(
                Participant.objects.filter(study=study).order_by("id").values_list("id", flat=True)
            )
            value_ids = np.asarray([v.pk for v in values], dtype=np.int64)
            context_ids = np.asarray([c.pk for c in contexts], dtype=np.int64)
            person = np.asarray(people, dtype=np.int64)
            choices = ("upgrade", "no_upgrade", "not_sure")
            rows = [
                (study.pk, int(p), int(a), int(b), int(c), "", choices[int(ch)], "", now, now)
                for p, a, b, c, ch in zip(
                    person[votes.participant[first]].tolist(),
                    value_ids[votes.from_value[first]].tolist(),
                    value_ids[votes.to_value[first]].tolist(),
                    context_ids[votes.context[first]].tolist(),
                    votes.choice[first].tolist(),
                    strict=True,
                )
            ]
            copy_rows(
                UpgradeVote._meta.db_table,
                [
                    "study_id",
                    "participant_id",
                    "from_value_id",
                    "to_value_id",
                    "context_id",
                    "story",
                    "choice",
                    "reason",
                    "created_at",
                    "updated_at",
                ],
                rows,
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        studies[n] = study.pk
        stored = len(rows)
        print(
            f"\n== {stored} votes ({n_participants} participants) inserted with COPY in "
            f"{time.perf_counter() - start:.1f} s"
        )

        parts: dict[str, float] = {}
        start = time.perf_counter()
        snapshot = snapshots.snapshot_build(
            study_id=study.pk, params=Params(mode="context", bootstrap=0), timings=parts
        )
        total = time.perf_counter() - start
        kept = snapshot.document["stats"]["kept_edges"]
        print(
            f"votes → committed snapshot (no bootstrap, with 48-cell grid): {total:.2f} s "
            f"[load {parts['load_s']:.2f}, build {parts['build_s']:.2f}, document "
            f"{parts['document_s']:.2f}, store {parts['store_s']:.2f}]; "
            f"{len(snapshot.document['edges'])} edges, {kept} kept, "
            f"{len(snapshot.winners)} winners"
        )
        start = time.perf_counter()
        snapshots.snapshot_build(
            study_id=study.pk,
            params=Params(
                mode="context",
                bootstrap=0,
                grid_min_wiser=(),
                grid_min_likelihood=(),
                grid_max_entropy=(),
            ),
        )
        print(f"  the same without the sensitivity grid: {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        snapshots.snapshot_build(
            study_id=study.pk, params=Params(mode="context", bootstrap=args.bootstrap)
        )
        print(
            f"  with the bootstrap (B={args.bootstrap}) and the grid: "
            f"{time.perf_counter() - start:.2f} s"
        )
        start = time.perf_counter()
        again = snapshots.snapshot_build(
            study_id=study.pk, params=Params(mode="context", bootstrap=0)
        )
        print(
            f"  unchanged votes (idempotent, same snapshot {again.pk == snapshot.pk}): "
            f"{time.perf_counter() - start:.2f} s"
        )
        from moralgraph.selectors.votes import VoteScope, vote_table_load

        methods: tuple[Literal["copy", "orm"], ...] = ("copy", "orm")
        for method in methods:
            start = time.perf_counter()
            vote_table_load(VoteScope(study_id=study.pk), method=method)
            print(f"  loading the votes by {method}: {time.perf_counter() - start:.2f} s")
        if n <= args.naive_max:
            start = time.perf_counter()
            orm_rows = [
                (p, a, b, c, {"upgrade": 0, "no_upgrade": 1, "not_sure": 2}[ch])
                for p, a, b, c, ch in UpgradeVote.objects.filter(study=study).values_list(
                    "participant_id", "from_value_id", "to_value_id", "context_id", "choice"
                )
            ]
            naive_aggregate(orm_rows)
            naive = time.perf_counter() - start
            print(
                f"  naive full recompute (ORM rows + Python dict, edge counts only): "
                f"{naive:.2f} s → ratio naive / ours {naive / total:.1f}x"
            )
        del rows, votes

    if args.no_live:
        return
    live(studies[min(studies)], args)


def live(study_id: int, args: argparse.Namespace) -> None:
    """A vote cast through the service, committed; time until the worker's snapshot has it."""
    import redis
    from django.conf import settings
    from django.db import transaction

    from moralgraph import services
    from moralgraph.models import Context, GraphRebuildState, GraphSnapshot, Value
    from moralgraph.services import snapshots
    from tests.support.processes import base_env, start_worker, wait_until

    redis.Redis.from_url(args.redis_url).flushdb()
    env = base_env(
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY="bench-only-secret-key-0123456789-0123456789-0123456789",
        LOG_FORMAT="text",
        LOG_LEVEL="WARNING",
        MGE_VAR_DIR=str(Path(settings.VAR_DIR) / "bench"),
    )
    worker = start_worker(env)
    try:
        from elicitation.models import Participant as participant_model

        value_ids = list(
            Value.objects.filter(study_id=study_id).order_by("id").values_list("id", flat=True)
        )
        context = Context.objects.filter(study_id=study_id).order_by("id").first()
        assert context is not None
        votes_before = snapshots.snapshot_build(
            study_id=study_id, params=snapshots.live_params()
        ).vote_count  # the live graph as it stands
        print(f"\n== live: study of {votes_before} votes, live params {snapshots.live_params()}")
        latencies = []
        for i in range(5):
            participant = participant_model.objects.create(study_id=study_id)
            start = time.perf_counter()
            with transaction.atomic():
                services.upgrade_vote_cast(
                    participant_id=participant.pk,
                    from_value_id=value_ids[i],
                    to_value_id=value_ids[i + 100],
                    context_id=context.pk,
                    choice="upgrade",
                )
            expected = votes_before + i + 1
            wait_until(
                lambda e=expected: GraphSnapshot.objects.filter(  # type: ignore[misc]
                    study_id=study_id, vote_count=e, parameters__bootstrap=100
                ).exists(),
                timeout=60,
                interval=0.02,
                what="the live snapshot",
            )
            latencies.append(time.perf_counter() - start)
        print(
            "vote committed → snapshot reflecting it (real worker): "
            + ", ".join(f"{t:.2f}" for t in latencies)
            + " s"
        )
        # A burst: 50 votes, then wait for the snapshot that has them all.
        start = time.perf_counter()
        base = votes_before + 5
        for i in range(50):
            participant = participant_model.objects.create(study_id=study_id)
            services.upgrade_vote_cast(
                participant_id=participant.pk,
                from_value_id=value_ids[200 + i],
                to_value_id=value_ids[300 + i],
                context_id=context.pk,
                choice="upgrade",
            )
        wait_until(
            lambda: GraphSnapshot.objects.filter(study_id=study_id, vote_count=base + 50).exists(),
            timeout=120,
            interval=0.02,
            what="the burst's snapshot",
        )
        state = GraphRebuildState.objects.get(study_id=study_id)
        print(
            f"burst of 50 votes → snapshot with all of them: {time.perf_counter() - start:.2f} s; "
            f"rebuilds so far {state.rebuilds} (for 55 votes)"
        )
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
