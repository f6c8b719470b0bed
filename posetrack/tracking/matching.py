"""Who gets whom: matching rows to columns of a similarity matrix.

Similarity is computed elsewhere (:mod:`posetrack.tracking.tracker` builds flow-based OKS); a
matcher only reads the matrix. Two matchers, chosen by name from :data:`MATCHERS`:

* ``"greedy"`` — FlowTrack's (Xiao et al. 2018, Sec. 3.3): repeatedly take the most
  similar remaining pair. Ties go to the lower row, then the lower column, so the
  result never depends on sort stability or platform.
* ``"hungarian"`` — the assignment with the largest total similarity
  (``scipy.optimize.linear_sum_assignment``) among pairs at or above the minimum.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.matching import match
    >>> m = match(np.array([[0.9, 0.8], [0.85, 0.1]]), min_similarity=0.3, method="greedy")
    >>> m.pairs.tolist(), m.unmatched_rows.tolist(), m.unmatched_cols.tolist()
    ([[0, 0]], [1], [1])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Sequence, Tuple

import numpy as np

from posetrack.errors import ConfigError

__all__ = ["Matches", "match", "contested", "match_in_stages", "extend_matches", "greedy_match", "hungarian_match", "MATCHERS"]


@dataclass(frozen=True)
class Matches:
    """The result of matching an (N, M) similarity matrix.

    Attributes:
        pairs: (P, 2) int64 (row, column) pairs, sorted by row.
        unmatched_rows: (N - P,) int64 ascending.
        unmatched_cols: (M - P,) int64 ascending.
    """

    pairs: np.ndarray
    unmatched_rows: np.ndarray
    unmatched_cols: np.ndarray

    @classmethod
    def from_pairs(cls, pairs, n: int, m: int) -> "Matches":
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]
        free_rows, free_cols = np.ones(n, bool), np.ones(m, bool)
        free_rows[pairs[:, 0]] = False
        free_cols[pairs[:, 1]] = False
        return cls(pairs, np.flatnonzero(free_rows).astype(np.int64), np.flatnonzero(free_cols).astype(np.int64))


def greedy_match(similarity: np.ndarray, min_similarity: float) -> Matches:
    """Take the most similar free pair until none at or above ``min_similarity`` is left."""
    n, m = similarity.shape
    flat = -similarity.ravel()
    order = np.argsort(flat, kind="stable")          # row-major index breaks ties: lower row, then column
    order = order[similarity.ravel()[order] >= min_similarity]
    row_free, col_free = np.ones(n, bool), np.ones(m, bool)
    pairs = []
    for r, c in zip(*np.divmod(order, m)):
        if row_free[r] and col_free[c]:
            pairs.append((r, c))
            row_free[r] = col_free[c] = False
            if len(pairs) == min(n, m):
                break
    return Matches.from_pairs(pairs, n, m)


def hungarian_match(similarity: np.ndarray, min_similarity: float) -> Matches:
    """The largest-total assignment over the pairs at or above ``min_similarity``.

    Pairs below the minimum weigh nothing, so they never steer the assignment, and are
    dropped from the result.
    """
    from scipy.optimize import linear_sum_assignment

    n, m = similarity.shape
    allowed = similarity >= min_similarity
    rows, cols = linear_sum_assignment(np.where(allowed, similarity, 0.0), maximize=True)
    keep = allowed[rows, cols]
    return Matches.from_pairs(np.stack([rows[keep], cols[keep]], axis=1), n, m)


MATCHERS: Dict[str, Callable[[np.ndarray, float], Matches]] = {"greedy": greedy_match, "hungarian": hungarian_match}


def match(similarity: np.ndarray, min_similarity: float, method: str = "greedy") -> Matches:
    """Match rows to columns of a similarity matrix.

    Args:
        similarity: (N, M) similarities (higher is more alike); N or M may be 0.
        min_similarity: pairs below this are never matched.
        method: a key of :data:`MATCHERS` ("greedy" or "hungarian").

    Returns:
        :class:`Matches` with pairs, unmatched rows and unmatched columns.
    """
    try:
        matcher = MATCHERS[method]
    except KeyError:
        raise ConfigError(f"unknown matching method {method!r}; choose one of: {', '.join(MATCHERS)}") from None
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2:
        raise ValueError(f"similarity must be an (N, M) matrix, got shape {sim.shape}")
    if sim.size == 0:
        return Matches.from_pairs(np.zeros((0, 2)), *sim.shape)
    return matcher(np.nan_to_num(sim, nan=-np.inf), float(min_similarity))


def contested(similarity: np.ndarray, columns: np.ndarray, margin: float) -> np.ndarray:
    """``similarity`` with the pairs of contested rows and ``columns`` forbidden (-inf).

    A row is contested where two or more of the chosen columns have a positive similarity and
    the best beats the second by less than ``margin``: the evidence does not say which it is
    (two people lost near one another, one of them back), so none of them takes it online.

    Args:
        similarity: (N, M) similarities (NaN or -inf: impossible pairs).
        columns: (M,) bool, the columns that compete (the lost tracks).
        margin: how much the best must beat the second.

    Returns:
        (N, M) float64, a copy where anything changes.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.size == 0 or np.count_nonzero(columns) < 2:
        return sim
    part = np.where(np.nan_to_num(sim[:, columns], nan=-np.inf) > 0, sim[:, columns], 0.0)
    if part.shape[1] < 2:
        return sim
    top = -np.sort(-part, axis=1)[:, :2]
    rows = (top[:, 1] > 0) & (top[:, 0] - top[:, 1] < margin)
    if not rows.any():
        return sim
    sim = sim.copy()
    sim[np.ix_(rows, np.flatnonzero(columns))] = -np.inf
    return sim


def match_in_stages(similarity: np.ndarray, stages: Sequence[Tuple[np.ndarray, np.ndarray, float]],
                    method: str = "greedy") -> Matches:
    """Match in stages: each stage matches its free rows to its free columns (ByteTrack's cascade).

    Args:
        similarity: (N, M) similarities.
        stages: (rows, cols, min_similarity) per stage, in order: (N,) and (M,) bool masks of
            the rows and columns taking part; what a stage matches is no longer free.
        method: the matcher (:data:`MATCHERS`).

    Returns:
        :class:`Matches` over the whole matrix.
    """
    n, m = similarity.shape
    pairs = []
    row_free, col_free = np.ones(n, bool), np.ones(m, bool)
    for rows, cols, threshold in stages:
        r, c = np.flatnonzero(rows & row_free), np.flatnonzero(cols & col_free)
        if not len(r) or not len(c):
            continue
        found = match(similarity if len(r) == n and len(c) == m else similarity[np.ix_(r, c)], threshold, method)
        if len(found.pairs):
            pairs.append(np.stack([r[found.pairs[:, 0]], c[found.pairs[:, 1]]], 1))
            row_free[pairs[-1][:, 0]] = False
            col_free[pairs[-1][:, 1]] = False
    return Matches.from_pairs(np.concatenate(pairs) if pairs else np.zeros((0, 2)), n, m)


def extend_matches(matches: Matches, similarity: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                   min_similarity: float, shape: Tuple[int, int]) -> Matches:
    """``matches`` plus a greedy second matching of free ``rows`` to free ``cols`` by another
    ``similarity`` ((len(rows), len(cols)); ByteTrack's IoU stage), over a matrix of ``shape``."""
    extra = match(similarity, min_similarity, "greedy")
    if not len(extra.pairs):
        return matches
    pairs = np.stack([rows[extra.pairs[:, 0]], cols[extra.pairs[:, 1]]], 1)
    return Matches.from_pairs(np.concatenate([matches.pairs, pairs]), *shape)
