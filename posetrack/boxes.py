"""Box operations on (N, 4) x1, y1, x2, y2 arrays in frame pixels: areas, IoU, NMS, clipping.

Pure, vectorised numpy functions in the spirit of ``torchvision.ops.boxes``; filters
return the indices they kept (as ``torchvision.ops.nms`` does), so callers never re-find
rows by comparing floats.

Example:
    >>> import numpy as np
    >>> from posetrack.boxes import box_iou, nms
    >>> b = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
    >>> nms(b, 0.5).tolist()
    [0, 2]
"""
from __future__ import annotations

import numpy as np

__all__ = ["box_areas", "box_intersections", "box_iou", "paired_iou", "covered_fraction", "box_centres", "nms", "clip_boxes"]


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of (N, 4) boxes, shape (N,) float64; inverted boxes have area 0."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def box_intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection areas of (N, 4) against (M, 4) boxes, shape (N, M) float64."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    return np.prod(np.clip(rb - lt, 0, None), axis=2)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of (N, 4) against (M, 4) boxes, shape (N, M) float64 (0 where both are empty)."""
    inter = box_intersections(a, b)
    union = box_areas(a)[:, None] + box_areas(b)[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of each box of ``a`` (N, 4) with the box of ``b`` (N, 4) in the same row, (N,) float64."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    inter = np.prod(np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None), axis=1)
    union = box_areas(a) + box_areas(b) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def covered_fraction(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fraction of each box of ``a`` (N, 4) that each box of ``b`` (M, 4) covers, (N, M) float64 in [0, 1].

    Not symmetric: a small box inside a large one is fully covered (1.0), the large one
    only partly. Empty boxes of ``a`` are covered by nothing (0).
    """
    inter = box_intersections(a, b)
    area = box_areas(a)[:, None]
    return np.divide(inter, area, out=np.zeros_like(inter), where=area > 0)


def box_centres(boxes: np.ndarray) -> np.ndarray:
    """Centres (N, 2) float64 of (N, 4) boxes."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return (b[:, :2] + b[:, 2:]) / 2


def nms(boxes: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression of boxes given best first.

    Args:
        boxes: (N, 4), in priority order (the caller sorts, e.g. by score).
        iou: a box overlapping an earlier kept box by more than this is dropped.

    Returns:
        (K,) int64 ascending indices of the kept boxes.
    """
    overlap = box_iou(boxes, boxes)
    alive = np.ones(len(overlap), dtype=bool)
    for i in range(len(overlap)):
        if alive[i]:
            alive[i + 1:] &= overlap[i, i + 1:] <= iou
    return np.flatnonzero(alive)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Boxes clipped to the frame [0, width] x [0, height], same shape and dtype as given.

    Non-finite coordinates are clipped too (NaN becomes 0), so the result always lies in
    the frame.
    """
    b = np.asarray(boxes)
    out = np.nan_to_num(b.astype(np.float64), nan=0.0, posinf=np.inf, neginf=-np.inf)
    out[..., 0::2] = np.clip(out[..., 0::2], 0, width)
    out[..., 1::2] = np.clip(out[..., 1::2], 0, height)
    return out.astype(b.dtype if np.issubdtype(b.dtype, np.floating) else np.float64)
