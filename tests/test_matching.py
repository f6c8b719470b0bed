"""Matching: greedy and Hungarian against deliberately naive references; empty inputs; names."""
import itertools

import numpy as np
import pytest

from posetrack.errors import ConfigError
from posetrack.tracking.matching import MATCHERS, Matches, match


def naive_greedy(sim, min_sim):
    """Scan the whole matrix for the best free pair, again and again (ties: first in row-major order)."""
    sim = [list(row) for row in sim]
    used_r, used_c, pairs = set(), set(), []
    while True:
        best = None
        for r in range(len(sim)):
            for c in range(len(sim[r])):
                if r in used_r or c in used_c or sim[r][c] < min_sim:
                    continue
                if best is None or sim[r][c] > sim[best[0]][best[1]]:
                    best = (r, c)
        if best is None:
            return sorted(pairs)
        pairs.append(best)
        used_r.add(best[0])
        used_c.add(best[1])


def brute_force_best_total(sim, min_sim):
    """The largest total similarity of any one-to-one matching of allowed pairs (all subsets)."""
    n, m = sim.shape
    best = 0.0
    cols = list(range(m)) + [None] * n                      # None = leave the row unmatched
    for perm in set(itertools.permutations(cols, n)):
        total = sum(sim[r, c] for r, c in enumerate(perm) if c is not None and sim[r, c] >= min_sim)
        best = max(best, total)
    return best


def check_consistent(m: Matches, n: int, k: int):
    assert m.pairs.dtype == np.int64 and m.pairs.shape[1] == 2
    rows = set(m.pairs[:, 0].tolist()) | set(m.unmatched_rows.tolist())
    cols = set(m.pairs[:, 1].tolist()) | set(m.unmatched_cols.tolist())
    assert rows == set(range(n)) and cols == set(range(k))
    assert len(set(m.pairs[:, 0].tolist())) == len(m.pairs) == len(set(m.pairs[:, 1].tolist()))


@pytest.mark.parametrize("seed", range(20))
def test_greedy_matches_naive_loop(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(0, 6, 2)
    sim = rng.random((n, m)).round(1)                      # rounding makes ties common
    got = match(sim, 0.3, "greedy")
    check_consistent(got, n, m)
    assert sorted(map(tuple, got.pairs.tolist())) == naive_greedy(sim, 0.3)


@pytest.mark.parametrize("seed", range(20))
def test_hungarian_reaches_the_best_total(seed):
    rng = np.random.default_rng(100 + seed)
    n, m = rng.integers(0, 5, 2)
    sim = rng.random((n, m))
    got = match(sim, 0.4, "hungarian")
    check_consistent(got, n, m)
    assert all(sim[r, c] >= 0.4 for r, c in got.pairs)
    assert sum(sim[r, c] for r, c in got.pairs) == pytest.approx(brute_force_best_total(sim, 0.4))


def test_greedy_and_hungarian_differ_where_they_should():
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    greedy = match(sim, 0.3, "greedy")
    assert greedy.pairs.tolist() == [[0, 0]]
    assert greedy.unmatched_rows.tolist() == [1] and greedy.unmatched_cols.tolist() == [1]
    hungarian = match(sim, 0.3, "hungarian")
    assert hungarian.pairs.tolist() == [[0, 1], [1, 0]]


def test_ties_break_to_the_lower_row_then_column():
    sim = np.full((2, 2), 0.5)
    assert match(sim, 0.1, "greedy").pairs.tolist() == [[0, 0], [1, 1]]


def test_pairs_below_the_minimum_never_match():
    sim = np.array([[0.29, 0.1]])
    for method in MATCHERS:
        m = match(sim, 0.3, method)
        assert len(m.pairs) == 0 and m.unmatched_rows.tolist() == [0] and m.unmatched_cols.tolist() == [0, 1]


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (4, 0)])
@pytest.mark.parametrize("method", list(MATCHERS))
def test_empty_sides(shape, method):
    m = match(np.zeros(shape), 0.5, method)
    assert m.pairs.shape == (0, 2)
    assert m.unmatched_rows.tolist() == list(range(shape[0]))
    assert m.unmatched_cols.tolist() == list(range(shape[1]))


def test_nan_similarity_never_matches():
    m = match(np.array([[np.nan, 0.6]]), 0.3, "greedy")
    assert m.pairs.tolist() == [[0, 1]]


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="greedy, hungarian"):
        match(np.zeros((1, 1)), 0.5, "auction")
