"""Benchmark of the pure graph engine (moralgraph.graph) on synthetic votes.

    .venv/bin/python bench/graph_pure.py [--sizes 10000 100000 1000000] [--bootstrap 200]

Synthetic data: 10k values, 50 contexts, one upgrade hypothesis per ~10 votes (a fifth of them
also asked the other way round), choices driven by a latent "wisdom" per value, ~10 votes per
participant; seeded. Prints timings of `build` without the bootstrap (with and without the
sensitivity grid) and with it, and the ratio against a naive plain-Python dict-of-counts
aggregation of the same votes (the reference's algorithm: edge counts and summaries only;
a naive bootstrap re-scans the votes once per replicate, so its time is extrapolated as
B x one aggregation). Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moralgraph.graph import Params, VoteTable, build  # noqa: E402

N_VALUES = 10_000
N_CONTEXTS = 50


def synthetic_votes(n_votes: int, seed: int = 0) -> VoteTable:
    rng = np.random.default_rng(seed)
    n_hypotheses = max(n_votes // 10, 100)
    hyp_context = rng.integers(0, N_CONTEXTS, n_hypotheses)
    hyp_from = rng.integers(0, N_VALUES, n_hypotheses)
    hyp_to = (hyp_from + rng.integers(1, N_VALUES, n_hypotheses)) % N_VALUES
    mirrored = rng.random(n_hypotheses) < 0.2
    hyp_from, hyp_to = (
        np.concatenate([hyp_from, hyp_to[mirrored]]),
        np.concatenate([hyp_to, hyp_from[mirrored]]),
    )
    hyp_context = np.concatenate([hyp_context, hyp_context[mirrored]])
    # popular hypotheses get more votes (a mild power law)
    popularity = np.asarray(rng.pareto(2.0, hyp_from.shape[0])) + 1.0
    pick = rng.choice(hyp_from.shape[0], size=n_votes, p=popularity / popularity.sum())
    wisdom = rng.normal(size=N_VALUES)
    gap = wisdom[hyp_to[pick]] - wisdom[hyp_from[pick]]
    p_upgrade = 0.85 / (1.0 + np.exp(-2.0 * gap))
    u = rng.random(n_votes)
    choice = np.where(u < p_upgrade, 0, np.where(u < p_upgrade + 0.12, 2, 1))
    return VoteTable(
        participant=rng.integers(0, max(n_votes // 10, 10), n_votes),
        from_value=hyp_from[pick],
        to_value=hyp_to[pick],
        context=hyp_context[pick].astype(np.int32),
        choice=choice,
        contexts=[f"When in situation {i:02d}" for i in range(N_CONTEXTS)],
    )


def naive_aggregate(rows: list[tuple[int, int, int, int, int]]) -> dict[Any, Any]:
    """Plain Python, as the reference does it: a dict of counts per ordered pair."""
    pairs: dict[tuple[int, int], list[Any]] = {}
    for _, a, b, context, choice in rows:
        entry = pairs.setdefault((a, b), [0, 0, 0, 0, 0, set()])
        entry[5].add(context)
        entry[4] += 1
        entry[choice] += 1  # 0 wiser, 1 not wiser, 2 unsure
    for _, a, b, context, choice in rows:
        entry = pairs.setdefault((b, a), [0, 0, 0, 0, 0, set()])
        entry[5].add(context)
        entry[4] += 1
        if choice == 0:
            entry[3] += 1
    summary = {}
    for key, (wiser, not_wiser, unsure, less_wise, impressions, _) in pairs.items():
        total = wiser + not_wiser + unsure + less_wise
        likelihood = (wiser - less_wise) / total if total else 0.0
        everything = total + impressions
        entropy = 0.0
        for count in (wiser, not_wiser, less_wise, unsure, impressions):
            if count:
                p = count / everything
                entropy -= p * math.log2(p)
        summary[key] = (likelihood, entropy)
    return summary


def timed(function: Callable[..., Any], *args: Any, repeat: int = 1) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--naive-max", type=int, default=1_000_000, help="largest naive run")
    args = parser.parse_args()
    plain_params = Params(bootstrap=0, grid_min_wiser=())
    grid_params = Params(bootstrap=0)
    boot_params = Params(bootstrap=args.bootstrap, grid_min_wiser=())
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, {N_VALUES} values, {N_CONTEXTS} contexts"
    )
    header = (
        f"{'votes':>9} {'edges':>8} {'kept':>7} {'build':>8} {'+grid':>8} "
        f"{'B=' + str(args.bootstrap):>9} {'naive agg':>10} {'naive B':>9} "
        f"{'x(agg)':>7} {'x(B)':>7}"
    )
    print(header)
    naive_rate = None
    for n in args.sizes:
        votes = synthetic_votes(n, seed=n)
        plain = build(votes, plain_params)  # warm-up and counts
        t_build = timed(build, votes, plain_params, repeat=3)
        t_grid = timed(build, votes, grid_params)
        t_boot = timed(build, votes, boot_params)
        if n <= args.naive_max:
            rows = [
                (int(p), int(a), int(b), int(c), int(ch))
                for p, a, b, c, ch in zip(
                    votes.participant.tolist(),
                    votes.from_value.tolist(),
                    votes.to_value.tolist(),
                    votes.context.tolist(),
                    votes.choice.tolist(),
                    strict=True,
                )
            ]
            t_naive = timed(naive_aggregate, rows)
            naive_rate = t_naive / n
            naive_note = f"{t_naive:9.3f}s"
        else:
            assert naive_rate is not None, "run a smaller size first to extrapolate"
            t_naive = naive_rate * n
            naive_note = f"~{t_naive:8.3f}s"
        t_naive_boot = t_naive * args.bootstrap
        print(
            f"{n:>9} {len(plain.edges):>8} {int(plain.edges.kept.sum()):>7} "
            f"{t_build:7.3f}s {t_grid:7.3f}s {t_boot:8.3f}s {naive_note:>10} "
            f"~{t_naive_boot:7.1f}s {t_naive / t_build:6.1f}x {t_naive_boot / t_boot:6.1f}x"
        )
    print(
        "build: edges, intervals, PageRank winners (no bootstrap, no grid); +grid: with the "
        "48-cell sensitivity grid;\nB=: with the bootstrap (no grid); naive agg: plain-Python "
        "edge counts only (~ = extrapolated); naive B: B x naive agg;\nx(agg) = naive agg / "
        "build; x(B) = naive B / bootstrap build."
    )


if __name__ == "__main__":
    main()
