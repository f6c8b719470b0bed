"""Training-time crop geometry of the official HRNet recipe: random scale, rotation, flip, half body.

The official ``JointsDataset.__getitem__`` (train branch) draws, per sample and in this order
(the reference data's README lists them with their sources):

1. half body: only when more than ``half_body_min_joints`` (8) joints are labelled, a uniform
   draw; below ``half_body_prob`` (0.3) :func:`half_body` runs, which draws one normal value;
2. scale: ``s *= clip(1 + 0.35 * N(0, 1), 0.65, 1.35)``;
3. rotation: a uniform draw from Python's ``random``; if ``<= 0.6``, ``r = clip(45 * N(0, 1), -90, 90)``
   (that normal is only drawn then), else 0;
4. flip: a uniform draw from Python's ``random``; ``<= 0.5`` mirrors the image.

Here the draws come from generators seeded per sample (:func:`sample_generators`), so a sample's
crop depends only on the seed, the epoch and its index: the same on any number of workers or
processes, and again after a resume. :func:`draw` makes the random choices (an :class:`Draws`
record) and :func:`apply` executes them, so a test can give the draws of the official run.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from posetrack.pose.crops import PIXEL_STD, affine_matrices, apply_affine

__all__ = ["AugmentSettings", "Draws", "Sample", "sample_generators", "draw", "half_body", "flip_joints", "apply"]


@dataclass(frozen=True)
class AugmentSettings:
    """The random crop settings (official values as defaults; sources in ``configs/train/*.yaml``).

    Attributes:
        flip_prob: probability of a horizontal flip (official ``FLIP`` true, ``random.random() <= 0.5``).
        scale_factor: the scale's normal std and clip half-width (``SCALE_FACTOR`` 0.35).
        rotation_factor: the rotation's normal std in degrees; clipped to twice it (``ROT_FACTOR`` 45).
        rotation_prob: probability of a rotation (the official code's 0.6).
        half_body_prob: probability of the half-body crop (``PROB_HALF_BODY`` 0.3).
        half_body_min_joints: half body only with *more* labelled joints than this (``NUM_JOINTS_HALF_BODY`` 8).
        half_body_upper_prob: chance of the upper body, given as the normal draw's threshold (official:
            ``randn() < 0.5``, i.e. about 69 %).
        half_body_padding: the half-body box's padding (official 1.5).
    """

    flip_prob: float = 0.5
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    half_body_prob: float = 0.3
    half_body_min_joints: int = 8
    half_body_upper_threshold: float = 0.5
    half_body_padding: float = 1.5


@dataclass(frozen=True)
class Draws:
    """The random choices for one sample.

    Attributes:
        half_body: the half-body normal draw, or None when no half-body crop was chosen.
        scale: the scale multiplier (already clipped).
        rotation: degrees (0 when not rotated).
        flip: mirror the image.
    """

    half_body: Optional[float]
    scale: float
    rotation: float
    flip: bool


@dataclass(frozen=True)
class Sample:
    """One augmented training sample, before normalisation.

    Attributes:
        image: (h, w, 3) uint8 RGB crop at the model's input size.
        joints: (K, 2) float64 keypoints in crop pixels (unlabelled ones untouched, (0, 0) after a flip).
        joints_vis: (K,) float64 labelled flags after the flip's left/right swap.
        center, scale: (2,) float32 region used (frame pixels; units of 200 px).
        rotation: degrees.
        matrix: (2, 3) float64 frame -> crop affine map.
    """

    image: np.ndarray
    joints: np.ndarray
    joints_vis: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    rotation: float
    matrix: np.ndarray


def sample_generators(seed: int, epoch: int, index: int) -> Tuple[np.random.RandomState, random.Random]:
    """The numpy and Python generators of one sample's draws, seeded from (seed, epoch, index).

    ``RandomState`` gives the same ``randn``/``rand`` streams as the official global ``np.random``.
    """
    state = np.random.SeedSequence([int(seed), int(epoch), int(index)]).generate_state(2)
    return np.random.RandomState(int(state[0])), random.Random(int(state[1]))


def draw(settings: AugmentSettings, labelled: int, np_rng: np.random.RandomState, py_rng: random.Random) -> Draws:
    """The random choices of one sample, drawn in the official order from the official distributions.

    Args:
        labelled: number of labelled joints (the official ``sum(joints_vis[:, 0])``).
    """
    half = None
    if labelled > settings.half_body_min_joints and np_rng.rand() < settings.half_body_prob:
        half = float(np_rng.randn())
    sf = settings.scale_factor
    scale = float(np.clip(np_rng.randn() * sf + 1, 1 - sf, 1 + sf))
    rf = settings.rotation_factor
    rotation = float(np.clip(np_rng.randn() * rf, -rf * 2, rf * 2)) if py_rng.random() <= settings.rotation_prob else 0.0
    flip = settings.flip_prob > 0 and py_rng.random() <= settings.flip_prob
    return Draws(half_body=half, scale=scale, rotation=rotation, flip=flip)


def half_body(joints: np.ndarray, joints_vis: np.ndarray, upper_ids: Sequence[int], normal_draw: float,
              aspect_ratio: float, settings: AugmentSettings = AugmentSettings()
              ) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """The official ``half_body_transform`` given its normal draw.

    The upper body (``upper_ids``) is chosen if ``normal_draw < 0.5`` and more than 2 of its joints
    are labelled, else the lower body if more than 2 of its joints are, else the upper; fewer than
    2 selected joints change nothing. The region is centred on the selected joints' mean, spans
    their extent grown to the aspect ratio, / 200, x 1.5.

    Args:
        joints: (K, 2+) frame pixels; joints_vis: (K,) or (K, 1+) labelled flags.
        upper_ids: the upper body's joint slots (COCO: 0-10).
        aspect_ratio: input width / height.

    Returns:
        (center, scale), float32 (2,) each, or (None, None).
    """
    vis = np.asarray(joints_vis).reshape(len(joints), -1)[:, 0]
    upper_set = set(int(i) for i in upper_ids)
    labelled = [k for k in range(len(joints)) if vis[k] > 0]
    upper = [joints[k] for k in labelled if k in upper_set]
    lower = [joints[k] for k in labelled if k not in upper_set]
    if normal_draw < settings.half_body_upper_threshold and len(upper) > 2:
        selected = upper
    else:
        selected = lower if len(lower) > 2 else upper
    if len(selected) < 2:
        return None, None
    pts = np.array(selected, dtype=np.float32)
    center = pts.mean(axis=0)[:2]
    left_top, right_bottom = np.amin(pts, axis=0), np.amax(pts, axis=0)
    w = right_bottom[0] - left_top[0]
    h = right_bottom[1] - left_top[1]
    if w > aspect_ratio * h:
        h = w * 1.0 / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w * 1.0 / PIXEL_STD, h * 1.0 / PIXEL_STD], dtype=np.float32)
    return center, scale * settings.half_body_padding


def flip_joints(joints: np.ndarray, joints_vis: np.ndarray, width: int, flip_pairs: Sequence[Tuple[int, int]]
                ) -> Tuple[np.ndarray, np.ndarray]:
    """The official ``fliplr_joints``: mirror x, swap left/right slots, then zero unlabelled joints.

    Args:
        joints: (K, C) with x in column 0; joints_vis: (K, C) flags (the official ``[v, v, 0]``).
        width: image width in pixels (x -> width - x - 1).

    Returns:
        (joints * joints_vis, joints_vis) after the swap, as officially (so unlabelled joints
        become (0, 0)).
    """
    joints = np.array(joints, dtype=np.float64)
    vis = np.array(joints_vis, dtype=np.float64)
    joints[:, 0] = width - joints[:, 0] - 1
    perm = np.arange(len(joints))
    for i, j in flip_pairs:
        perm[i], perm[j] = j, i
    joints, vis = joints[perm], vis[perm]
    return joints * vis, vis


def apply(image: np.ndarray, joints: np.ndarray, joints_vis: np.ndarray, center: np.ndarray, scale: np.ndarray,
          draws: Draws, input_size: Tuple[int, int], flip_pairs: Sequence[Tuple[int, int]],
          upper_ids: Sequence[int], settings: AugmentSettings = AugmentSettings()) -> Sample:
    """Execute one sample's draws as the official train branch does, and cut the crop.

    Args:
        image: (H, W, 3) uint8 RGB frame.
        joints: (K, 3) frame pixels (x, y, 0), the official ``joints_3d``.
        joints_vis: (K, 3) the official ``[v, v, 0]`` labelled flags.
        center, scale: the box's region (:func:`posetrack.pose.crops.xywh_to_center_scale`).
        input_size: (width, height) of the crop.

    Returns:
        a :class:`Sample`.
    """
    import cv2

    c = np.array(center, dtype=np.float32)
    s = np.array(scale, dtype=np.float32)
    joints = np.array(joints, dtype=np.float64)
    vis = np.array(joints_vis, dtype=np.float64)
    if draws.half_body is not None:
        hc, hs = half_body(joints, vis, upper_ids, draws.half_body, input_size[0] / input_size[1], settings)
        if hc is not None:
            c, s = hc, hs
    s = (s * np.float32(draws.scale)).astype(np.float32)     # float32, as the official code under numpy 1
    if draws.flip:
        image = image[:, ::-1]
        joints, vis = flip_joints(joints, vis, image.shape[1], flip_pairs)
        c[0] = image.shape[1] - c[0] - 1
    matrix = affine_matrices(c[None], s[None], input_size, rotation=draws.rotation)[0]
    crop = cv2.warpAffine(np.ascontiguousarray(image), matrix, (int(input_size[0]), int(input_size[1])),
                          flags=cv2.INTER_LINEAR)
    labelled = vis[:, 0] > 0
    out = joints[:, :2].copy()
    out[labelled] = apply_affine(out[labelled][None], matrix[None])[0]
    return Sample(image=crop, joints=out, joints_vis=vis[:, 0].copy(), center=c, scale=s,
                  rotation=draws.rotation, matrix=matrix)
