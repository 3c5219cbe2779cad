"""Edge statistics exactly as the reference implementation computes them, vectorised.

Votes fall into *groups*: an ordered pair of values (reference mode) or an ordered pair in one
context (context mode). A group exists for every key that has at least one vote on A→B; the
reverse group (B→A, same context in context mode) supplies markedLessWise and half of the
impressions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .votes import UPGRADE, Mode

IntArray = NDArray[np.int64]
IndexArray = NDArray[np.intp]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_KEY_LIMIT = 2**62


@dataclass(frozen=True, eq=False)
class Grouping:
    """How votes fall into groups. Groups are sorted by (from id, to id[, context index])."""

    mode: Mode
    value_ids: IntArray  # sorted distinct value ids seen in the votes
    n_contexts: int
    group_src: IndexArray  # index into value_ids
    group_dst: IndexArray
    group_context: IndexArray  # the group's context (context mode); -1 in reference mode
    reverse: IndexArray  # the group of the reverse direction, or -1
    vote_group: IndexArray  # group of each vote

    @property
    def n_groups(self) -> int:
        return int(self.group_src.shape[0])

    @property
    def n_values(self) -> int:
        return int(self.value_ids.shape[0])


def group_votes(
    from_value: IntArray, to_value: IntArray, context: IndexArray, n_contexts: int, mode: Mode
) -> Grouping:
    n = int(from_value.shape[0])
    value_ids, value_index = np.unique(np.concatenate([from_value, to_value]), return_inverse=True)
    src = value_index[:n].astype(np.int64)
    dst = value_index[n:].astype(np.int64)
    n_values = max(int(value_ids.shape[0]), 1)
    n_ctx = max(n_contexts, 1)
    if n_values * n_values * (n_ctx if mode == "context" else 1) >= _KEY_LIMIT:
        raise ValueError("too many values and contexts to pack pair keys into int64")
    key = src * n_values + dst
    if mode == "context":
        key = key * n_ctx + context.astype(np.int64)
    keys, vote_group = np.unique(key, return_inverse=True)
    if mode == "context":
        group_context = (keys % n_ctx).astype(np.intp)
        pair = keys // n_ctx
    else:
        group_context = np.full(keys.shape, -1, dtype=np.intp)
        pair = keys
    group_src = pair // n_values
    group_dst = pair % n_values
    reverse_key = group_dst * n_values + group_src
    if mode == "context":
        reverse_key = reverse_key * n_ctx + group_context
    reverse = _lookup(keys, reverse_key)
    return Grouping(
        mode=mode,
        value_ids=value_ids.astype(np.int64),
        n_contexts=n_contexts,
        group_src=group_src.astype(np.intp),
        group_dst=group_dst.astype(np.intp),
        group_context=group_context,
        reverse=reverse,
        vote_group=vote_group.astype(np.intp).reshape(-1),
    )


def _lookup(sorted_keys: IntArray, wanted: IntArray) -> IndexArray:
    """Position of each wanted key in sorted_keys, or -1."""
    if sorted_keys.shape[0] == 0:
        return np.full(wanted.shape, -1, dtype=np.intp)
    pos = np.searchsorted(sorted_keys, wanted)
    pos_clipped = np.minimum(pos, sorted_keys.shape[0] - 1)
    found = sorted_keys[pos_clipped] == wanted
    return np.where(found, pos_clipped, -1).astype(np.intp)


@dataclass(frozen=True, eq=False)
class EdgeCounts:
    """The five reference counts per group, and the derived summary."""

    marked_wiser: NDArray[np.float64] | IntArray
    marked_not_wiser: NDArray[np.float64] | IntArray
    marked_unsure: NDArray[np.float64] | IntArray
    marked_less_wise: NDArray[np.float64] | IntArray
    impressions: NDArray[np.float64] | IntArray
    wiser_likelihood: FloatArray
    entropy: FloatArray

    def kept(self, min_wiser: float, min_likelihood: float, max_entropy: float) -> BoolArray:
        """The reference's filter (markedWiser must also be non-zero, as there)."""
        wiser = np.asarray(self.marked_wiser)
        return np.asarray(
            (wiser > 0)
            & (wiser >= min_wiser)
            & (self.wiser_likelihood >= min_likelihood)
            & (self.entropy <= max_entropy),
            dtype=np.bool_,
        )


def choice_counts(
    vote_group: IndexArray,
    choice: NDArray[np.int8] | IndexArray,
    n_groups: int,
    weights: FloatArray | None = None,
) -> NDArray[np.float64] | IntArray:
    """Votes per (group, choice) as an (n_groups, 3) array (weighted when weights given)."""
    flat = vote_group.astype(np.intp) * 3 + choice.astype(np.intp)
    counts = np.bincount(flat, weights=weights, minlength=3 * n_groups)
    return counts.reshape(n_groups, 3)


def edge_counts(per_choice: NDArray[np.float64] | IntArray, reverse: IndexArray) -> EdgeCounts:
    wiser = per_choice[:, 0]
    not_wiser = per_choice[:, 1]
    unsure = per_choice[:, 2]
    on_pair = per_choice.sum(axis=1)
    has_reverse = reverse >= 0
    rev = np.where(has_reverse, reverse, 0)
    zero = np.zeros_like(wiser)
    if per_choice.shape[0]:
        less_wise = np.where(has_reverse, per_choice[rev, UPGRADE], zero)
        impressions = on_pair + np.where(has_reverse, on_pair[rev], zero)
    else:
        less_wise = zero
        impressions = zero
    likelihood, entropy = summarise(wiser, not_wiser, unsure, less_wise, impressions)
    return EdgeCounts(
        marked_wiser=wiser,
        marked_not_wiser=not_wiser,
        marked_unsure=unsure,
        marked_less_wise=less_wise,
        impressions=impressions,
        wiser_likelihood=likelihood,
        entropy=entropy,
    )


def kept_and_likelihood(
    per_choice: NDArray[np.float64] | IntArray,
    reverse: IndexArray,
    min_wiser: float,
    min_likelihood: float,
    max_entropy: float,
) -> tuple[BoolArray, FloatArray]:
    """The same filter as `EdgeCounts.kept`, computing summaries only for groups whose
    markedWiser passes (the bootstrap's hot path). The likelihood is valid where kept."""
    n_groups = int(per_choice.shape[0])
    wiser = per_choice[:, 0]
    candidate = np.flatnonzero((wiser > 0) & (wiser >= min_wiser))
    rows = per_choice[candidate]
    rev = reverse[candidate]
    has_reverse = rev >= 0
    reverse_rows = per_choice[np.where(has_reverse, rev, 0)]
    less_wise = np.where(has_reverse, reverse_rows[:, 0], 0)
    impressions = rows.sum(axis=1) + np.where(has_reverse, reverse_rows.sum(axis=1), 0)
    likelihood, entropy = summarise(rows[:, 0], rows[:, 1], rows[:, 2], less_wise, impressions)
    passes = (likelihood >= min_likelihood) & (entropy <= max_entropy)
    kept = np.zeros(n_groups, dtype=np.bool_)
    kept[candidate[passes]] = True
    full_likelihood = np.zeros(n_groups, dtype=np.float64)
    full_likelihood[candidate] = likelihood
    return kept, full_likelihood


def summarise(
    wiser: NDArray[np.float64] | IntArray,
    not_wiser: NDArray[np.float64] | IntArray,
    unsure: NDArray[np.float64] | IntArray,
    less_wise: NDArray[np.float64] | IntArray,
    impressions: NDArray[np.float64] | IntArray,
) -> tuple[FloatArray, FloatArray]:
    """wiserLikelihood and entropy (bits) as the reference computes them.

    The entropy runs over the five counts *including impressions*, summed in the reference's
    key order (markedWiser, markedNotWiser, markedLessWise, markedUnsure, impressions) so that
    the floats agree with the published file.
    """
    w = np.asarray(wiser, dtype=np.float64)
    nw = np.asarray(not_wiser, dtype=np.float64)
    u = np.asarray(unsure, dtype=np.float64)
    lw = np.asarray(less_wise, dtype=np.float64)
    imp = np.asarray(impressions, dtype=np.float64)
    total = w + nw + u + lw
    safe_total = np.where(total > 0, total, 1.0)
    likelihood = np.where(total > 0, (w - lw) / safe_total, 0.0)
    everything = w + nw + lw + u + imp
    safe_everything = np.where(everything > 0, everything, 1.0)
    entropy = np.zeros_like(w)
    for count in (w, nw, lw, u, imp):
        p = count / safe_everything
        positive = p > 0
        term = np.zeros_like(p)
        term[positive] = p[positive] * np.log2(p[positive])
        entropy = entropy - term
    return likelihood.astype(np.float64), entropy.astype(np.float64)


def context_candidates(
    group_of_row: IndexArray, context_of_row: IndexArray, reverse: IndexArray
) -> tuple[IndexArray, IndexArray, IndexArray]:
    """Reference mode: the (group, context) incidences implied by (group, context) rows seen,
    in either direction. Returns (row, group, context) triples: row is the source row."""
    rows = np.arange(group_of_row.shape[0], dtype=np.intp)
    rev = reverse[group_of_row] if group_of_row.shape[0] else group_of_row
    has_rev = rev >= 0
    cand_row = np.concatenate([rows, rows[has_rev]])
    cand_group = np.concatenate([group_of_row, rev[has_rev]])
    cand_context = np.concatenate([context_of_row, context_of_row[has_rev]])
    return cand_row, cand_group.astype(np.intp), cand_context.astype(np.intp)


def unique_incidence(
    group: IndexArray, context: IndexArray, n_contexts: int
) -> tuple[IndexArray, IndexArray]:
    """Distinct (group, context) pairs, sorted by group then context index."""
    n_ctx = max(n_contexts, 1)
    keys = np.unique(group.astype(np.int64) * n_ctx + context.astype(np.int64))
    return (keys // n_ctx).astype(np.intp), (keys % n_ctx).astype(np.intp)


# --- Beta credible intervals (no scipy in the environment: a regularised incomplete beta by
# Lentz's continued fraction, inverted by bisection, vectorised over distinct (a, b)). ---

_TINY = 1e-300
_EPS = 1e-15
_MAX_TERMS = 10_000


def _continued_fraction(a: FloatArray, b: FloatArray, x: FloatArray) -> FloatArray:
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = np.where(np.abs(d) < _TINY, _TINY, d)
    d = 1.0 / d
    h = d.copy()
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2.0 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        h = h * d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if bool(np.all(np.abs(delta - 1.0) < _EPS)):
            break
    return h


_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])


def log_beta(a: FloatArray, b: FloatArray) -> FloatArray:
    """ln B(a, b) elementwise."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    result: FloatArray = _lgamma(a) + _lgamma(b) - _lgamma(a + b)
    return result


def regularized_beta(
    a: FloatArray, b: FloatArray, x: FloatArray, ln_beta: FloatArray | None = None
) -> FloatArray:
    """I_x(a, b) elementwise, for a, b > 0 and 0 <= x <= 1 (`ln_beta`: ln B(a, b) if known)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    lb = log_beta(a, b) if ln_beta is None else np.asarray(ln_beta, dtype=np.float64)
    a, b, x, lb = np.broadcast_arrays(a, b, x, lb)
    result = np.where(x >= 1.0, 1.0, 0.0)
    inside = (x > 0.0) & (x < 1.0)
    if not bool(inside.any()):
        return result
    ai, bi, xi = a[inside], b[inside], x[inside]
    front = np.exp(ai * np.log(xi) + bi * np.log1p(-xi) - lb[inside])
    direct = xi < (ai + 1.0) / (ai + bi + 2.0)
    values = np.empty_like(xi)
    if bool(direct.any()):
        values[direct] = (
            front[direct] * _continued_fraction(ai[direct], bi[direct], xi[direct]) / ai[direct]
        )
    flip = ~direct
    if bool(flip.any()):
        values[flip] = (
            1.0 - front[flip] * _continued_fraction(bi[flip], ai[flip], 1.0 - xi[flip]) / bi[flip]
        )
    result[inside] = np.clip(values, 0.0, 1.0)
    return result


def beta_quantile(q: float, a: FloatArray, b: FloatArray) -> FloatArray:
    """The q-quantile of Beta(a, b) elementwise: Newton steps kept inside a shrinking bisection
    bracket, to ~1e-13 (relative for small quantiles)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ln_beta = log_beta(a, b)
    low = np.zeros_like(a)
    high = np.ones_like(a)
    x = np.clip(a / (a + b), 1e-6, 1.0 - 1e-6)  # start at the mean
    active = np.ones(x.shape, dtype=np.bool_)
    for _ in range(200):
        gap = regularized_beta(a[active], b[active], x[active], ln_beta[active]) - q
        xa, lo, hi = x[active], low[active], high[active]
        lo = np.where(gap < 0, xa, lo)
        hi = np.where(gap < 0, hi, xa)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            density = np.exp(
                (a[active] - 1.0) * np.log(xa) + (b[active] - 1.0) * np.log1p(-xa) - ln_beta[active]
            )
            newton = xa - gap / density
        inside = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
        fresh = np.where(inside, newton, 0.5 * (lo + hi))
        done = (np.abs(fresh - xa) <= 1e-13 * np.maximum(xa, 1e-3)) | (gap == 0.0)
        done |= hi - lo <= 1e-15
        x[active], low[active], high[active] = fresh, lo, hi
        active[np.flatnonzero(active)[done]] = False
        if not bool(active.any()):
            break
    return x


def beta_interval(
    successes: NDArray[np.float64] | IntArray,
    failures: NDArray[np.float64] | IntArray,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Equal-tailed credible interval of Beta(1 + successes, 1 + failures), computed once per
    distinct (successes, failures)."""
    s = np.asarray(successes, dtype=np.float64)
    f = np.asarray(failures, dtype=np.float64)
    if s.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    # distinct (successes, failures) through one packed key (the counts are whole numbers)
    span = float(f.max()) + 1.0
    keys, inverse = np.unique(s * span + f, return_inverse=True)
    tail = (1.0 - level) / 2.0
    successes_of_key = np.floor(keys / span)
    a = 1.0 + successes_of_key
    b = 1.0 + (keys - successes_of_key * span)
    low = beta_quantile(tail, a, b)
    high = beta_quantile(1.0 - tail, a, b)
    inverse = inverse.reshape(-1)
    return low[inverse], high[inverse]
