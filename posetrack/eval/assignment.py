"""Linear assignment with scipy's exact pairs, ties included, without importing scipy.

:func:`linear_sum_assignment` is our own implementation of the shortest augmenting path algorithm
that ``scipy.optimize.linear_sum_assignment`` uses (Crouse 2016), with scipy's visiting order and tie
rules (checked against scipy on random and tied matrices in the tests). Importing ``scipy.optimize``
alone costs 0.4-0.5 s, more than a whole evaluation; the matrices of one frame are small.
Used by the poseval MOT (:mod:`posetrack.eval.mot`) and the PoseTrack21 keypoint HOTA.
"""
from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

__all__ = ["linear_sum_assignment"]


def _augmenting_path(cost: List[List[float]], u: List[float], v: List[float], path: List[int],
                     row4col: List[int], spc: List[float], row: int, used_r: List[bool],
                     used_c: List[bool]) -> Tuple[int, float]:
    """One Dijkstra search from ``row`` over reduced costs; returns (sink column, its path cost)."""
    nc = len(v)
    remaining = list(range(nc - 1, -1, -1))       # scipy scans the columns from the last one
    for j in range(nc):
        spc[j] = math.inf
    min_val = 0.0
    i = row
    sink = -1
    while sink == -1:
        used_r[i] = True
        lowest, index = math.inf, -1
        cost_i, u_i = cost[i], u[i]
        for it, j in enumerate(remaining):
            r = min_val + cost_i[j] - u_i - v[j]
            if r < spc[j]:
                path[j] = i
                spc[j] = r
            # among equally short columns prefer one that ends the path (a free column)
            if spc[j] < lowest or (spc[j] == lowest and row4col[j] == -1):
                lowest, index = spc[j], it
        min_val = lowest
        if min_val == math.inf:
            return -1, min_val
        j = remaining[index]
        if row4col[j] == -1:
            sink = j
        else:
            i = row4col[j]
        used_c[j] = True
        remaining[index] = remaining[-1]
        remaining.pop()
    return sink, min_val


def linear_sum_assignment(cost: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Minimum-cost assignment of a finite (R, C) matrix: min(R, C) pairs, rows ascending.

    The shortest augmenting path algorithm (Crouse, "On implementing 2D rectangular assignment
    algorithms", IEEE TAES 52(4), 2016) in the form scipy implements it: rows are added one by one,
    each by a Dijkstra search over reduced costs that scans columns from the last, prefers a free
    column among equally short ones, then updates the dual variables; a matrix with more rows than
    columns is solved transposed. Same input, same pairs as ``scipy.optimize.linear_sum_assignment``.
    Pure Python: meant for the small matrices of one frame (tens of rows).
    """
    cost = np.asarray(cost, dtype=np.float64)
    transpose = cost.shape[1] < cost.shape[0]
    if transpose:
        cost = cost.T
    nr, nc = cost.shape
    rows_list = cost.tolist()
    u, v = [0.0] * nr, [0.0] * nc
    spc, path = [math.inf] * nc, [-1] * nc
    col4row, row4col = [-1] * nr, [-1] * nc
    for row in range(nr):
        used_r, used_c = [False] * nr, [False] * nc
        sink, min_val = _augmenting_path(rows_list, u, v, path, row4col, spc, row, used_r, used_c)
        if sink < 0:  # pragma: no cover - a finite matrix always has an assignment
            raise ValueError("cost matrix is infeasible")
        u[row] += min_val
        for i in range(nr):
            if used_r[i] and i != row:
                u[i] += min_val - spc[col4row[i]]
        for j in range(nc):
            if used_c[j]:
                v[j] -= min_val - spc[j]
        j = sink
        while True:
            i = path[j]
            row4col[j] = i
            col4row[i], j = j, col4row[i]
            if i == row:
                break
    if transpose:
        order = sorted(range(nr), key=col4row.__getitem__)
        return (np.array([col4row[i] for i in order], dtype=np.int64), np.array(order, dtype=np.int64))
    return np.arange(nr, dtype=np.int64), np.array(col4row, dtype=np.int64)
