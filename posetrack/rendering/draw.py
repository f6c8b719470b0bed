"""Drawing tracked poses onto frames: pure functions on numpy images, no I/O.

Every person is drawn in the colour of their track id (:func:`track_color`): the limbs
of the keypoint layout in use, the joints, the id next to the head and, optionally, the
box and a motion trail. Joints below ``DrawStyle.min_score`` are hidden together with
the limbs that touch them. Line widths follow the frame size, lines are anti-aliased.

Example:
    >>> import numpy as np
    >>> from posetrack.rendering.draw import DrawStyle, Trails, draw_frame
    >>> from posetrack.keypoints import COCO
    >>> style = DrawStyle(min_score=0.3, boxes=True, trails=15)
    >>> trails = Trails(style.trails, style.min_score)
    >>> for frame, result in zip(frames, results):        # Frame, FrameResult pairs
    ...     trails.update(result)
    ...     annotated = draw_frame(frame.image, result, COCO, style, trails)
"""
from __future__ import annotations

import colorsys
import math
from collections import deque
from dataclasses import dataclass
from typing import Deque, Dict, Optional, Sequence, Tuple

import numpy as np

from posetrack.errors import ConfigError
from posetrack.keypoints import KeypointLayout
from posetrack.types import FrameResult, Poses

__all__ = ["DrawStyle", "Trails", "draw_frame", "track_color", "line_width", "visible_keypoints",
           "foot_points", "UNTRACKED_COLOR"]

Color = Tuple[int, int, int]

# People without a track id (tracking off) share one neutral colour: a colour would claim an identity.
UNTRACKED_COLOR: Color = (235, 235, 235)

_SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn with 1/16 pixel precision
_ONE = 1 << _SHIFT
_FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX

#: Largest line_scale: 100x the size-based width is already a limb as wide as a 4K frame's 1/15
#: (line_width at 2160p is 9 px); beyond it the width overflows OpenCV's int thickness.
MAX_LINE_SCALE = 100.0


@dataclass(frozen=True)
class DrawStyle:
    """How tracked poses are drawn.

    Attributes:
        min_score: joints whose keypoint score is below this are hidden, and so is every
            limb touching one.
        boxes: draw each person's box.
        ids: write each person's track id next to their head.
        trails: length of the motion trails in frames (0: no trails).
        line_scale: multiplies the line width that :func:`line_width` derives from the frame size.
    """

    min_score: float = 0.3
    boxes: bool = False
    ids: bool = True
    trails: int = 0
    line_scale: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_score) and self.min_score >= 0):
            raise ConfigError(f"DrawStyle.min_score must be a number >= 0, got {self.min_score}", field="min_score")
        if self.trails < 0:
            raise ConfigError(f"DrawStyle.trails must be >= 0, got {self.trails}", field="trails")
        if not (0 < self.line_scale <= MAX_LINE_SCALE):
            raise ConfigError(f"DrawStyle.line_scale must be > 0 and <= {MAX_LINE_SCALE:g}, got {self.line_scale}",
                              field="line_scale")


# ---------------------------------------------------------------- colours and sizes

_GOLDEN = (math.sqrt(5) - 1) / 2


def track_color(track_id: int) -> Color:
    """The RGB colour of a track id, the same in every frame and every run.

    Hues step by the golden ratio (about 137.5 degrees per id), so consecutive ids sit far
    apart on the colour wheel and any run of ids spreads evenly around it. Ids whose hues
    do come close are Fibonacci numbers apart (8, 13, 21, 34: 20 degrees and less); they
    still differ in brightness (``id % 3``) or saturation (``id % 2``), which no Fibonacci
    difference below 144 leaves both unchanged.
    """
    tid = int(track_id)
    hue = (tid * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, (0.9, 0.65)[tid % 2], (1.0, 0.82, 0.66)[tid % 3])
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def _text_color(background: Color) -> Color:
    """Black on light colours, white on dark ones (ITU-R BT.601 luma)."""
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def line_width(height: int, width: int, scale: float = 1.0) -> int:
    """Limb width in pixels for a frame: 1 px per 240 px of the shorter side, at least 1.

    That is 1 px at 240p, 2 px at 480p, 3 px at 720p and 5 px at 1080p: thin enough not to
    hide the person, thick enough to survive video compression.
    """
    return max(1, int(scale * min(height, width) / 240 + 0.5))


# ---------------------------------------------------------------- geometry

def visible_keypoints(poses: Poses, min_score: float) -> np.ndarray:
    """Which keypoints to draw: score at least ``min_score`` and finite coordinates.

    Returns:
        (N, K) bool.
    """
    return (poses.keypoint_scores >= min_score) & np.isfinite(poses.keypoints).all(axis=2)


def foot_points(poses: Poses, min_score: float) -> np.ndarray:
    """Where each person stands: below the mean x of their visible keypoints, at the lowest
    one; the bottom centre of the box if no keypoint is visible.

    Trails follow this point: it traces the path on the ground, and a trail drawn there
    stays out of the way of the skeleton.

    Returns:
        (N, 2) float32 x, y in frame pixels.
    """
    vis = visible_keypoints(poses, min_score)
    any_vis = vis.any(axis=1, keepdims=True)
    x = np.where(vis, poses.keypoints[..., 0], 0.0).sum(axis=1) / np.maximum(vis.sum(axis=1), 1)
    y = np.where(vis, poses.keypoints[..., 1], -np.inf).max(axis=1)
    box_bottom = np.stack([(poses.boxes[:, 0] + poses.boxes[:, 2]) / 2, poses.boxes[:, 3]], axis=1)
    return np.where(any_vis, np.stack([x, y], axis=1), box_bottom).astype(np.float32)


def _fixed(x: float, y: float) -> Tuple[int, int]:
    """A point in OpenCV's fixed-point form (see _SHIFT), clamped far outside any frame."""
    return (int(round(min(max(x, -1e5), 1e5) * _ONE)), int(round(min(max(y, -1e5), 1e5) * _ONE)))


# ---------------------------------------------------------------- trails

class Trails:
    """Recent foot positions (:func:`foot_points`) of every track, for motion trails.

    Each :meth:`update` is one step (one rendered frame). A point older than ``length``
    steps is dropped, so a track that left the picture fades out within ``length`` frames.
    The object owns all of its state; :meth:`reset` clears it.

    Args:
        length: how many steps of history to keep, the current one included.
        min_score: keypoints below this score do not count towards a person's position.
    """

    def __init__(self, length: int, min_score: float = 0.3):
        if length < 1:
            raise ValueError(f"trail length must be at least 1, got {length}")
        self.length = int(length)
        self.min_score = float(min_score)
        self.reset()

    def reset(self) -> None:
        self._step = 0
        self._points: Dict[int, Deque[Tuple[int, np.ndarray]]] = {}

    def update(self, result: Optional[FrameResult]) -> None:
        """Advance one step and record the tracked people of ``result`` (None: nobody)."""
        self._step += 1
        if result is not None and result.track_ids is not None and len(result):
            feet = foot_points(result.poses, self.min_score)
            for tid, c in zip(result.track_ids.tolist(), feet):
                if np.isfinite(c).all():
                    self._points.setdefault(tid, deque()).append((self._step, c))
        oldest = self._step - self.length
        for tid in list(self._points):
            points = self._points[tid]
            while points and points[0][0] <= oldest:
                points.popleft()
            if not points:
                del self._points[tid]

    def paths(self) -> Dict[int, np.ndarray]:
        """Track id -> (M, 2) float32 foot positions, oldest first, M <= length."""
        return {tid: np.stack([p for _, p in pts]).astype(np.float32) for tid, pts in self._points.items()}


# ---------------------------------------------------------------- drawing

def _check_image(image: np.ndarray) -> None:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
        shape = getattr(image, "shape", None)
        raise ValueError(f"draw_frame expects an (H, W, 3) uint8 image, got {getattr(image, 'dtype', type(image))} "
                         f"{shape}")


def _draw_trail(out: np.ndarray, path: np.ndarray, color: Color, lw: int) -> None:
    import cv2

    m = len(path)
    for k in range(1, m):  # thicker towards the present
        thickness = max(1, int(round((lw + 1) * k / (m - 1))))
        cv2.line(out, _fixed(*path[k - 1]), _fixed(*path[k]), color, thickness, cv2.LINE_AA, _SHIFT)


def _draw_box(out: np.ndarray, box: np.ndarray, color: Color, lw: int) -> None:
    import cv2

    x1, y1, x2, y2 = box.tolist()
    cv2.rectangle(out, _fixed(x1, y1), _fixed(x2, y2), color, lw, cv2.LINE_AA, _SHIFT)


def _draw_skeleton(out: np.ndarray, kp: np.ndarray, vis: np.ndarray, skeleton: Sequence[Tuple[int, int]],
                   color: Color, lw: int) -> None:
    import cv2

    for i, j in skeleton:
        if vis[i] and vis[j]:
            cv2.line(out, _fixed(*kp[i]), _fixed(*kp[j]), color, lw, cv2.LINE_AA, _SHIFT)
    radius = (lw + 1) * _ONE
    for k in np.flatnonzero(vis):
        centre = _fixed(*kp[k])
        cv2.circle(out, centre, radius, color, -1, cv2.LINE_AA, _SHIFT)
        if lw >= 2:  # a dark rim keeps joints visible where they cross a limb of the same colour
            cv2.circle(out, centre, radius, (20, 20, 20), 1, cv2.LINE_AA, _SHIFT)


def _label_anchor(kp: np.ndarray, vis: np.ndarray, box: np.ndarray) -> Tuple[float, float]:
    """Where the id goes: centred just above the highest visible keypoint, else above the box."""
    if vis.any():
        pts = kp[vis]
        return float(pts[:, 0].mean()), float(pts[:, 1].min())
    return float((box[0] + box[2]) / 2), float(box[1])


def _draw_label(out: np.ndarray, text: str, anchor: Tuple[float, float], color: Color, lw: int) -> None:
    import cv2

    scale = 0.35 + 0.2 * lw
    thick = max(1, lw // 2)
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thick)
    pad = max(2, lw)
    w, h = tw + 2 * pad, th + base + 2 * pad
    height, width = out.shape[:2]
    x = int(round(anchor[0] - w / 2))
    y = int(round(anchor[1] - 2 * (lw + 1) - h))  # clear of the head joint
    x = min(max(x, 0), max(width - w, 0))
    y = min(max(y, 0), max(height - h, 0))
    cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), color, -1)
    cv2.putText(out, text, (x + pad, y + pad + th), _FONT, scale, _text_color(color), thick, cv2.LINE_AA)


def draw_frame(image: np.ndarray, result: Optional[FrameResult], layout: KeypointLayout,
               style: DrawStyle = DrawStyle(), trails: Optional[Trails] = None) -> np.ndarray:
    """Draw one frame's people; returns a new image and never changes ``image``.

    Args:
        image: (H, W, 3) uint8 RGB frame.
        result: the people of this frame; None or empty draws no one (trails still fade).
        layout: the keypoint layout of ``result`` (its skeleton is drawn).
        style: what to draw and how.
        trails: motion history to draw under the people (call ``trails.update`` first).

    Returns:
        (H, W, 3) uint8 RGB, a copy of ``image`` with the drawing.

    Raises:
        ValueError: not an (H, W, 3) uint8 image, or ``result`` has another number of
            keypoints than ``layout``.
    """
    _check_image(image)
    out = np.array(image, copy=True, order="C")
    lw = line_width(out.shape[0], out.shape[1], style.line_scale)
    if trails is not None:
        for tid, path in trails.paths().items():
            _draw_trail(out, path, track_color(tid), lw)
    if result is None or len(result) == 0:
        return out
    poses = result.poses
    if poses.num_keypoints != layout.num_keypoints:
        raise ValueError(f"frame {result.frame}: people have {poses.num_keypoints} keypoints but layout "
                         f"{layout.name!r} has {layout.num_keypoints}")
    vis = visible_keypoints(poses, style.min_score)
    ids = result.track_ids
    colors = [UNTRACKED_COLOR] * len(poses) if ids is None else [track_color(t) for t in ids.tolist()]
    for n in range(len(poses)):
        if style.boxes:
            _draw_box(out, poses.boxes[n], colors[n], lw)
        _draw_skeleton(out, poses.keypoints[n], vis[n], layout.skeleton, colors[n], lw)
    if style.ids and ids is not None:
        for n in range(len(poses)):
            if vis[n].any() or style.boxes:  # no label floating over someone who is not drawn
                _draw_label(out, str(int(ids[n])), _label_anchor(poses.keypoints[n], vis[n], poses.boxes[n]),
                            colors[n], lw)
    return out
