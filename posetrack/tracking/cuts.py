"""Scene cuts: frames that the previous frame, moved by its own motion, cannot explain.

A hard cut replaces the whole picture; a pan, a zoom or a shake moves it, a change of light
brightens or darkens it, and people moving change only the part they cover. So both frames
are shrunk to :attr:`CutConfig.width` pixels wide and turned grey, the optical flow between
them is computed there (OpenCV DIS, "ultrafast": about a millisecond), the new frame is
warped back onto the old one by that flow, its brightness and contrast are matched to the
old one's (a global gain and offset: lighting), and two numbers are measured over the
pixels both frames see:

* the **changed fraction**: the share of pixels that still differ by more than
  :data:`CHANGED_LEVELS` grey levels;
* the **correlation** of the two pictures (normalised cross-correlation).

A frame is a cut when the changed fraction is at least ``min_changed`` *and* the
correlation at most ``max_correlation``. The thresholds were measured
(``benchmarks/tracking_benchmark.py --cuts`` and ``benchmarks/real_video.py``; the figures are
in ``configs/tracker.yaml``): a cut between two shots scores a changed fraction of 0.6 and a
correlation near 0; panning, zooming and shaking cameras (the benchmark's scenes, on
textured and flat backgrounds), people crossing and the real street video stay below a
changed fraction of 0.2 and, but for flat backgrounds, above a correlation of 0.8.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.cuts import CutConfig, CutDetector
    >>> rng = np.random.default_rng(0)
    >>> a, b = (rng.integers(0, 255, (120, 160, 3), dtype=np.uint8) for _ in range(2))
    >>> detect = CutDetector(CutConfig())
    >>> detect(a, np.roll(a, 3, axis=1)), detect(a, b)
    (False, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from posetrack.errors import ConfigError

__all__ = ["CutConfig", "CutDetector", "cut_signals", "CHANGED_LEVELS"]

CHANGED_LEVELS = 20.0
"""Grey levels (of 255) by which a warped pixel must still differ to count as changed."""


@dataclass(frozen=True)
class CutConfig:
    """Scene-cut detection (the ``cuts:`` section of a tracker preset).

    Attributes:
        enabled: detect cuts at all (needs the video's frames).
        min_changed: a cut changes at least this fraction of the picture.
        max_correlation: and leaves a correlation of at most this between the frames.
        width: the frames are compared this many pixels wide.
    """

    enabled: bool = False
    min_changed: float = 0.35
    max_correlation: float = 0.5
    width: int = 160

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_changed <= 1.0:
            raise ConfigError(f"cuts.min_changed must be in [0, 1], got {self.min_changed}")
        if not -1.0 <= self.max_correlation <= 1.0:
            raise ConfigError(f"cuts.max_correlation must be in [-1, 1], got {self.max_correlation}")
        if not 32 <= self.width <= 4096:
            raise ConfigError(f"cuts.width must be 32 to 4096 pixels, got {self.width}")


def _small_grey(image: np.ndarray, width: int) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    h, w = grey.shape[:2]
    size = (width, max(16, round(h * width / max(w, 1))))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def cut_signals(previous: np.ndarray, image: np.ndarray, width: int = 160, dis=None) -> Tuple[float, float]:
    """The changed fraction and the correlation of two consecutive frames (see the module docstring).

    Args:
        previous, image: (H, W, 3) uint8 RGB frames of one size.
        width: the width they are compared at, pixels.
        dis: an OpenCV DIS optical-flow object to reuse (None: a new "ultrafast" one).

    Returns:
        (changed fraction in [0, 1], correlation in [-1, 1]); a frame with no texture at all
        correlates 1 with itself.
    """
    import cv2

    a, b = _small_grey(previous, width), _small_grey(image, width)
    if dis is None:
        dis = cv2.DISOpticalFlow_create(cv2.DISOpticalFlow_PRESET_ULTRAFAST)
    flow = dis.calc(a, b, None)
    h, w = a.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    warped = cv2.remap(b.astype(np.float32), mx, my, cv2.INTER_LINEAR)
    seen = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    if seen.sum() < 0.1 * seen.size:
        return 1.0, 0.0
    x, y = a.astype(np.float32)[seen], warped[seen]
    x0, y0 = x - x.mean(), y - y.mean()
    sx, sy = float(np.sqrt((x0 * x0).mean())), float(np.sqrt((y0 * y0).mean()))
    if sx < 1e-3 and sy < 1e-3:
        return 0.0, 1.0
    correlation = float((x0 * y0).mean() / max(sx * sy, 1e-6))
    matched = y0 / max(sy, 1e-3) * sx + x.mean()                       # the new frame's gain and offset matched
    changed = float((np.abs(x - matched) > CHANGED_LEVELS).mean())
    return changed, correlation


class CutDetector:
    """``detector(previous, image) -> bool``: whether ``image`` starts a new shot (see the module docstring)."""

    def __init__(self, config: CutConfig):
        import cv2

        self.config = config
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOpticalFlow_PRESET_ULTRAFAST)

    def __call__(self, previous: np.ndarray, image: np.ndarray) -> bool:
        if previous.shape != image.shape:
            return True                                   # a new frame size is a new shot
        changed, correlation = cut_signals(previous, image, self.config.width, self._dis)
        return changed >= self.config.min_changed and correlation <= self.config.max_correlation
