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

Each part also gets a soft colour **histogram** of its samples (:data:`Y_BINS` brightness
bins and :data:`CHROMA_BINS` x :data:`CHROMA_BINS` bins of Cb and Cr over
:data:`CHROMA_RANGE`, each sample shared linearly between its two nearest bins per axis).
One pose's dozen samples make a noisy histogram, but a fragment's poses averaged make a
good one: :func:`histogram_similarity` (the Bhattacharyya coefficient, part by part) is
what refinement uses to re-identify people after long gaps. Measured on the hand-labelled
real poses (``tests/data/real``, chunks of 10 poses of one person compared with chunks of
every person at least 3 s away): the means and spreads tell the same person from another
with an ROC AUC of 0.856, the histograms with 0.946.

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
from typing import Optional, Sequence, Tuple

import numpy as np

from posetrack.keypoints import KeypointLayout

__all__ = ["Appearance", "PARTS", "CHANNEL_SCALE", "describe", "similarity", "histogram_similarity", "blend",
           "MIN_HEIGHT", "Y_BINS", "CHROMA_BINS", "CHROMA_RANGE"]

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
Y_BINS = 6
CHROMA_BINS = 5
CHROMA_RANGE = (96.0, 160.0)
"""Histogram bins: brightness over 0-255 in ``Y_BINS``; Cb and Cr over ``CHROMA_RANGE``
(clothes in daylight are rarely more colourful; beyond it counts as the edge bin) in
``CHROMA_BINS`` each. Chosen on the real poses' re-identification AUC (``tests/data/real``
frames 0-299): 6 x 5 x 5 over 96-160: 0.945; 6 x 4 x 4: 0.926, 6 x 8 x 8: 0.940; over
64-192: 0.917 / 0.937 / 0.923 (4 / 5 / 8 chroma bins); without the soft sharing between bins,
sensitive to where the grey of dark clothes falls (0.880-0.944)."""
HIST_SIZE = Y_BINS + CHROMA_BINS * CHROMA_BINS
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
        histograms: (N, P, :data:`HIST_SIZE`) float32 per part: the share of its samples in each
            brightness bin, then in each (Cb, Cr) bin (each group sums to 1 where the part was
            seen); None where not computed (a track's running average keeps none).
    """

    features: np.ndarray
    weights: np.ndarray
    histograms: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.features)

    @classmethod
    def empty(cls, n: int = 0) -> "Appearance":
        return cls(np.zeros((n, len(PARTS), CHANNELS), np.float32), np.zeros((n, len(PARTS)), np.float32),
                   np.zeros((n, len(PARTS), HIST_SIZE), np.float32))

    def select(self, index) -> "Appearance":
        return Appearance(self.features[index], self.weights[index],
                          None if self.histograms is None else self.histograms[index])

    @classmethod
    def concatenate(cls, parts: Sequence["Appearance"]) -> "Appearance":
        """One descriptor set from several, in order (histograms kept only if every part has them)."""
        if not parts:
            return cls.empty()
        hist = None
        if all(p.histograms is not None for p in parts):
            hist = np.concatenate([p.histograms for p in parts])
        return cls(np.concatenate([p.features for p in parts]), np.concatenate([p.weights for p in parts]), hist)

    def mean(self) -> "Appearance":
        """One descriptor: the weight-weighted mean of these N, part by part (a fragment's look)."""
        w = self.weights.astype(np.float64)
        total = w.sum(0)                                                           # (P,)

        def average(values: np.ndarray) -> np.ndarray:
            out = np.zeros(values.shape[1:])
            np.divide((w[..., None] * values).sum(0), total[:, None], out=out, where=total[:, None] > 0)
            return out[None].astype(np.float32)

        hist = None if self.histograms is None else average(self.histograms)
        return Appearance(average(self.features), np.clip(total / max(len(w), 1), 0, 1)[None].astype(np.float32),
                          hist)


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

    Raises:
        ValueError: the image is not (H, W, 3) with H, W > 0, or ``heights`` has not N values.
    """
    n = len(keypoints)
    if n == 0:
        return Appearance.empty()
    _check(image, heights, n)
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
    histograms = np.zeros((n, len(PARTS), HIST_SIZE), np.float32)
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
        histograms[:, p] = _histogram(ycc, inside)
        weights[:, p] = np.where(has, ok * count / pts.shape[1], 0.0)
    if heights is not None:
        weights[np.asarray(heights) < MIN_HEIGHT] = 0.0
    return Appearance(features, weights, histograms)


def _check(image: np.ndarray, heights: Optional[np.ndarray], n: int) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or not image.shape[0] or not image.shape[1]:
        raise ValueError(f"describe: expected an (H, W, 3) RGB image, got shape {image.shape}")
    if heights is not None and len(heights) != n:
        raise ValueError(f"describe: {len(heights)} heights for {n} poses")


def _soft_bins(values: np.ndarray, low: float, high: float, bins: int):
    """Each value's two nearest bins over [low, high] and its share in each (linear)."""
    u = np.clip((values - low) / (high - low) * bins - 0.5, 0, bins - 1)
    first = np.floor(u).astype(np.int64)
    share = u - first
    return first, np.minimum(first + 1, bins - 1), 1.0 - share, share


def _histogram(ycc: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """(N, HIST_SIZE) soft histograms of N rows of S YCbCr samples (N, S, 3); ``inside`` (N, S) the samples to count."""
    n, s = inside.shape
    count = np.maximum(inside.sum(1), 1).astype(np.float64)
    row = np.arange(n)[:, None] * HIST_SIZE
    keep = inside.astype(np.float64)
    index, weight = [], []
    y0, y1, wy0, wy1 = _soft_bins(ycc[..., 0], 0.0, 256.0, Y_BINS)
    index += [row + y0, row + y1]
    weight += [wy0 * keep, wy1 * keep]
    b0, b1, wb0, wb1 = _soft_bins(ycc[..., 1], *CHROMA_RANGE, CHROMA_BINS)
    r0, r1, wr0, wr1 = _soft_bins(ycc[..., 2], *CHROMA_RANGE, CHROMA_BINS)
    for b, wb in ((b0, wb0), (b1, wb1)):
        for r, wr in ((r0, wr0), (r1, wr1)):
            index.append(row + Y_BINS + b * CHROMA_BINS + r)
            weight.append(wb * wr * keep)
    flat = np.bincount(np.concatenate([i.ravel() for i in index]), np.concatenate([w.ravel() for w in weight]),
                       minlength=n * HIST_SIZE)
    return (flat.reshape(n, HIST_SIZE) / count[:, None]).astype(np.float32)


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


def histogram_similarity(a: Appearance, b: Appearance, min_weight: float = 0.25) -> np.ndarray:
    """How alike the colour histograms of ``a`` and ``b`` are, (A, B) in [0, 1]; NaN where unknown.

    Per part, the mean of the Bhattacharyya coefficients (sum of sqrt(p * q)) of the
    brightness and the chroma histograms; parts are averaged weighing each by the smaller of
    its two weights. NaN where either side has no histograms or the shared weight is below
    ``min_weight`` parts' worth. Meant for fragments (:meth:`Appearance.mean` over many poses):
    one pose's histogram is noisy.
    """
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    if a.histograms is None or b.histograms is None:
        return np.full((len(a), len(b)), np.nan)
    ha, hb = np.sqrt(a.histograms.astype(np.float64)), np.sqrt(b.histograms.astype(np.float64))
    bright = np.einsum("apk,bpk->abp", ha[..., :Y_BINS], hb[..., :Y_BINS])
    colour = np.einsum("apk,bpk->abp", ha[..., Y_BINS:], hb[..., Y_BINS:])
    w = np.minimum(a.weights[:, None], b.weights[None]).astype(np.float64)           # (A, B, P)
    total = w.sum(-1)
    s = np.divide((w * (bright + colour) / 2).sum(-1), total, out=np.zeros_like(total), where=total > 0)
    return np.where(total >= min_weight, s, np.nan)


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
