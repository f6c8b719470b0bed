"""Object keypoint similarity (OKS) and OKS-based non-maximum suppression.

OKS (COCO): for keypoint k with squared distance d², object scale s (an area) and
sigma σ_k, the similarity is exp(-d² / (2 · s · (2σ_k)²)), averaged over the counted
keypoints. Here the scale of a pair is the mean of the two areas, as in the official
HRNet/Simple-Baselines ``oks_iou`` used for OKS-NMS and for FlowTrack's pose similarity.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from posetrack.boxes import box_areas

__all__ = ["oks_matrix", "oks_nms", "box_areas"]

_EPS = np.spacing(1)  # the official code's eps for the area term


def oks_matrix(xy_a: np.ndarray, xy_b: np.ndarray, areas_a: np.ndarray, areas_b: np.ndarray,
               sigmas: np.ndarray, mask: Optional[np.ndarray] = None,
               extra_b: Optional[np.ndarray] = None) -> np.ndarray:
    """OKS of every pose in ``a`` against every pose in ``b``.

    Args:
        xy_a: (N, K, 2) keypoint coordinates.
        xy_b: (M, K, 2) keypoint coordinates.
        areas_a: (N,) object areas (e.g. box areas) of ``a``.
        areas_b: (M,) object areas of ``b``.
        sigmas: (K,) per-keypoint sigmas.
        mask: optional boolean (N, M, K), (N, 1, K) or (1, M, K): which keypoints count for
            each pair (e.g. confident ones). A pair with no counted keypoint gets OKS 0.
        extra_b: optional (M,) squared pixels added to every keypoint's variance
            ``2 s (2 sigma)^2 / 2`` for the poses of ``b`` (positions known less well, e.g. a
            lost track's prediction): the OKS of a pair becomes the mean of
            exp(-d^2 / (2 (s (2 sigma)^2 + extra))).

    Returns:
        (N, M) float64 similarities in [0, 1].
    """
    a = np.asarray(xy_a, dtype=np.float64)
    b = np.asarray(xy_b, dtype=np.float64)
    n, m = a.shape[0], b.shape[0]
    if n == 0 or m == 0:
        return np.zeros((n, m))
    var = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2                 # (K,)
    d2 = ((a[:, None] - b[None]) ** 2).sum(-1)                             # (N, M, K)
    scale = (np.asarray(areas_a, np.float64)[:, None] + np.asarray(areas_b, np.float64)[None]) / 2.0
    if extra_b is None:
        e = d2 / var / (scale[..., None] + _EPS) / 2.0
    else:
        e = d2 / (var * (scale[..., None] + _EPS) + np.asarray(extra_b, np.float64)[None, :, None]) / 2.0
    sim = np.exp(-e)
    if mask is None:
        return sim.mean(-1)
    mask = np.broadcast_to(np.asarray(mask, dtype=bool), sim.shape)
    count = mask.sum(-1)
    total = np.where(mask, sim, 0.0).sum(-1)
    return np.divide(total, count, out=np.zeros((n, m)), where=count > 0)


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: np.ndarray,
            threshold: float = 0.9, vis_threshold: Optional[float] = None) -> np.ndarray:
    """Greedy OKS-NMS: keep the best-scoring pose, drop others with OKS above ``threshold``.

    Matches the official HRNet ``oks_nms`` (threshold 0.9 in its COCO test). With
    ``vis_threshold`` set, the official code counts only keypoints whose score in the
    *other* (lower-ranked) pose exceeds it — its ``list(vg > t) and list(vd > t)``
    evaluates to the second list — and we keep that behaviour so results match.

    Args:
        keypoints: (N, K, 3) x, y, score.
        scores: (N,) pose scores (sorted descending to pick the order; ties keep input order).
        areas: (N,) object areas.
        sigmas: (K,) OKS sigmas.

    Returns:
        Indices of kept poses, best first, int64.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if len(kp) == 0:
        return np.zeros((0,), np.int64)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    mask = None
    if vis_threshold is not None:
        mask = (kp[:, :, 2] > vis_threshold)[None]                           # (1, N, K) on the "other" pose
    sim = oks_matrix(kp[:, :, :2], kp[:, :, :2], areas, areas, sigmas, mask)  # (N, N)
    keep = []
    alive = np.ones(len(kp), dtype=bool)
    for i in order:
        if not alive[i]:
            continue
        keep.append(i)
        alive &= sim[i] <= threshold
        alive[i] = False
    return np.asarray(keep, dtype=np.int64)
