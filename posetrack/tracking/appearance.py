"""Appearance: colour statistics sampled along a pose's torso and limbs, and how alike two are.

A person is told apart from another of the same size and place by the colours they wear.
For each pose the frame is sampled at fixed points along its body parts — the torso (a grid
between the shoulders and hips, upper and lower half), the upper arms, the thighs, the shins
and the head (above the eyes and ears) — and each part is summarised by the mean and
spread of its samples in YCbCr (ITU-R BT.601: Y brightness, Cb and Cr colour). A part
whose two end joints are not both confident, or that falls outside the frame, has weight
0. The descriptor costs a few dozen pixel reads per part, vectorised over every pose of a
frame (``benchmarks/association_speed.py`` times it: far below 1 ms per person).

Two descriptors are compared part by part over the parts present in both
(:func:`similarity`): ``exp(-d / 2)`` of the weighted mean squared difference ``d``, each
channel scaled by :data:`CHANNEL_SCALE` (brightness counts less than colour: shadows and
light change it; colour changes less). A track keeps a running average of its poses'
descriptors (:func:`blend`), so one bad pose moves it only a little.

Example:
    >>> import numpy as np
    >>> from posetrack.keypoints import COCO
    >>> from posetrack.tracking.appearance import describe, similarity
    >>> red = np.zeros((200, 200, 3), np.uint8); red[:] = (200, 30, 30)
    >>> blue = red[..., ::-1].copy()
    >>> kp = np.random.default_rng(0).uniform(60, 140, (1, 17, 2)); scores = np.full((1, 17), 0.9)
    >>> a, b = describe(red, kp, scores, COCO, 0.4), describe(blue, kp, scores, COCO, 0.4)
    >>> float(similarity(a, a)[0, 0]), float(similarity(a, b)[0, 0]) < 0.01
    (1.0, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Tuple

import numpy as np

from posetrack.keypoints import KeypointLayout

__all__ = ["Appearance", "PARTS", "CHANNEL_SCALE", "describe", "similarity", "blend", "MIN_HEIGHT"]

# Body parts: (name, joint pairs sampled along, or "torso"/"head" for the special shapes).
PARTS: Tuple[Tuple[str, Tuple[Tuple[str, str], ...]], ...] = (
    ("head", ()),
    ("chest", ()),
    ("belly", ()),
    ("upper_arms", (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"))),
    ("thighs", (("left_hip", "left_knee"), ("right_hip", "right_knee"))),
    ("shins", (("left_knee", "left_ankle"), ("right_knee", "right_ankle"))),
)
CHANNELS = 4                       # mean Y, mean Cb, mean Cr, std Y
CHANNEL_SCALE = np.array([48.0, 14.0, 14.0, 24.0])
"""Grey levels per unit of difference for each channel (Y, Cb, Cr, spread of Y): a
difference of this much counts one unit. Colour is scaled tighter than brightness, which
light and shadow change (measured, ``benchmarks/real_video.py --appearance``)."""
MIN_HEIGHT = 24.0
"""People shorter than this (pixels) get no descriptor: too few pixels to sample."""
_ALONG = np.linspace(0.15, 0.85, 5)          # sample positions along a limb
_ACROSS = np.array([-0.25, 0.0, 0.25])       # and across the torso's width


@dataclass(frozen=True)
class Appearance:
    """Colour descriptors of N poses.

    Attributes:
        features: (N, P, 4) float32 per part: mean Y, mean Cb, mean Cr, std of Y (grey levels).
        weights: (N, P) float32 in [0, 1]: how much each part can be trusted (0: absent).
    """

    features: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.features)

    @classmethod
    def empty(cls, n: int = 0) -> "Appearance":
        return cls(np.zeros((n, len(PARTS), CHANNELS), np.float32), np.zeros((n, len(PARTS)), np.float32))

    def select(self, index) -> "Appearance":
        return Appearance(self.features[index], self.weights[index])


@lru_cache(maxsize=8)
def _joints(layout: KeypointLayout) -> dict:
    """Slots of the joints the parts use, by name (absent from the layout: missing)."""
    return {n: i for i, n in enumerate(layout.names)}


def _segments(kp: np.ndarray, conf: np.ndarray, pairs, index: dict):
    """Sample points (N, S, 2) along the given joint pairs, and (N,) weight of the part."""
    pts, ok = [], []
    for a, b in pairs:
        if a not in index or b not in index:
            continue
        pa, pb = kp[:, index[a]], kp[:, index[b]]                           # (N, 2)
        pts.append(pa[:, None] + _ALONG[None, :, None] * (pb - pa)[:, None])
        ok.append(conf[:, index[a]] & conf[:, index[b]])
    if not pts:
        return None, None
    ok = np.stack(ok, 1)                                                   # (N, pairs)
    pts = np.stack(pts, 1)                                                 # (N, pairs, S, 2)
    pts = np.where(ok[..., None, None], pts, np.nan).reshape(len(kp), -1, 2)
    return pts, ok.mean(1)


def _torso(kp: np.ndarray, conf: np.ndarray, index: dict, upper: bool):
    names = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    if any(n not in index for n in names):
        return None, None
    ls, rs, lh, rh = (kp[:, index[n]] for n in names)
    ok = conf[:, [index[n] for n in names]].all(1)
    top, bottom = (ls + rs) / 2, (lh + rh) / 2
    width = ((rs - ls) + (rh - lh)) / 2                                     # (N, 2), left to right
    rows = np.array([0.2, 0.45]) if upper else np.array([0.6, 0.85])
    centre = top[:, None] + rows[None, :, None] * (bottom - top)[:, None]  # (N, 2, 2)
    pts = centre[:, :, None] + _ACROSS[None, None, :, None] * width[:, None, None]
    pts = np.where(ok[:, None, None, None], pts, np.nan).reshape(len(kp), -1, 2)
    return pts, ok.astype(np.float64)


def _head(kp: np.ndarray, conf: np.ndarray, index: dict):
    """Points above the eyes and ears (hair, or a bald head), scaled by the shoulder width."""
    face = [index[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear") if n in index]
    shoulders = [index[n] for n in ("left_shoulder", "right_shoulder") if n in index]
    if len(face) < 2 or len(shoulders) < 2:
        return None, None
    fc = conf[:, face]
    ok = (fc.sum(1) >= 2) & conf[:, shoulders].all(1)
    count = np.maximum(fc.sum(1), 1)[:, None]
    centre = np.where(fc[..., None], kp[:, face], 0.0).sum(1) / count            # (N, 2)
    span = np.linalg.norm(kp[:, shoulders[0]] - kp[:, shoulders[1]], axis=1)[:, None]
    offsets = np.array([[-0.12, -0.35], [0.0, -0.4], [0.12, -0.35], [-0.08, -0.2], [0.08, -0.2]])
    pts = centre[:, None] + offsets[None] * span[:, None]
    pts = np.where(ok[:, None, None], pts, np.nan)
    return pts, ok.astype(np.float64)


def describe(image: np.ndarray, keypoints: np.ndarray, keypoint_scores: np.ndarray, layout: KeypointLayout,
             joint_score: float, heights: Optional[np.ndarray] = None) -> Appearance:
    """Colour descriptors of poses in one frame.

    Args:
        image: (H, W, 3) uint8 RGB frame the poses were estimated in.
        keypoints: (N, K, 2) x, y in frame pixels.
        keypoint_scores: (N, K); joints at or below ``joint_score`` are not trusted.
        layout: the keypoints' layout (parts use COCO joint names; a layout without a
            part's joints has no such part).
        joint_score: the tracker's joint threshold.
        heights: (N,) the poses' box heights, pixels: poses below :data:`MIN_HEIGHT` get
            no descriptor. None: all are described.

    Returns:
        :class:`Appearance` of the N poses.
    """
    n = len(keypoints)
    if n == 0:
        return Appearance.empty()
    kp = np.asarray(keypoints, np.float64)
    conf = (np.asarray(keypoint_scores) > joint_score) & np.isfinite(kp).all(-1)
    index = _joints(layout)
    shapes = []
    for name, pairs in PARTS:
        if name == "head":
            shapes.append(_head(kp, conf, index))
        elif name in ("chest", "belly"):
            shapes.append(_torso(kp, conf, index, upper=name == "chest"))
        else:
            shapes.append(_segments(kp, conf, pairs, index))
    h, w = image.shape[:2]
    features = np.zeros((n, len(PARTS), CHANNELS), np.float32)
    weights = np.zeros((n, len(PARTS)), np.float32)
    for p, (pts, ok) in enumerate(shapes):
        if pts is None:
            continue
        x, y = pts[..., 0], pts[..., 1]
        inside = np.isfinite(x) & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
        xi = np.clip(np.nan_to_num(x), 0, w - 1).astype(np.int64)
        yi = np.clip(np.nan_to_num(y), 0, h - 1).astype(np.int64)
        ycc = _ycbcr(image[yi, xi].astype(np.float32))                      # (N, S, 3)
        count = inside.sum(1)
        has = count >= 3
        m = inside[..., None]
        mean = np.where(m, ycc, 0).sum(1) / np.maximum(count, 1)[:, None]
        var = (np.where(m[..., 0], (ycc[..., 0] - mean[:, None, 0]) ** 2, 0)).sum(1) / np.maximum(count, 1)
        features[:, p, :3] = mean
        features[:, p, 3] = np.sqrt(var)
        weights[:, p] = np.where(has, ok * count / pts.shape[1], 0.0)
    if heights is not None:
        weights[np.asarray(heights) < MIN_HEIGHT] = 0.0
    return Appearance(features, weights)


def _ycbcr(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 YCbCr (full range) of RGB values, same shape."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return np.stack([y, 0.564 * (b - y) + 128.0, 0.713 * (r - y) + 128.0], -1)


def similarity(a: Appearance, b: Appearance, min_weight: float = 0.25) -> np.ndarray:
    """How alike each descriptor of ``a`` is to each of ``b``, (A, B) in (0, 1]; NaN where they share too little.

    ``exp(-d / 2)`` of the weighted mean, over the parts present in both, of the squared
    channel differences scaled by :data:`CHANNEL_SCALE` (each part weighing the smaller of
    its two weights). Pairs whose shared weight is below ``min_weight`` parts' worth are NaN:
    not enough seen to judge.
    """
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    diff = (a.features[:, None] - b.features[None]) / CHANNEL_SCALE                # (A, B, P, C)
    d2 = (diff.astype(np.float64) ** 2).mean(-1)                                    # (A, B, P)
    w = np.minimum(a.weights[:, None], b.weights[None]).astype(np.float64)          # (A, B, P)
    total = w.sum(-1)
    d = np.divide((w * d2).sum(-1), total, out=np.zeros_like(total), where=total > 0)
    return np.where(total >= min_weight, np.exp(-d / 2), np.nan)


def blend(old: Appearance, new: Appearance, rate: float) -> Appearance:
    """Running averages of descriptors, row for row: each part moves ``rate`` (times its new
    weight) towards the new value; its weight rises towards 1 as parts are seen."""
    if not len(old):
        return old
    step = (rate * new.weights)[..., None]
    fresh = (old.weights <= 0)[..., None] & (new.weights > 0)[..., None]
    features = np.where(fresh, new.features, old.features + step * (new.features - old.features))
    weights = np.maximum(old.weights, new.weights * 0.0) + (1 - old.weights) * new.weights * max(rate, 0.5)
    return Appearance(features.astype(np.float32), np.clip(weights, 0, 1).astype(np.float32))
