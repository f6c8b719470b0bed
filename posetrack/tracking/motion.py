"""Motion: where a track is expected in the coming frame, and how far the optical flow can be trusted.

The tracker moves its queued poses into the coming frame (:meth:`PoseTracker.propagate`)
in one of three ways, chosen by name (:data:`MOTIONS`):

* ``"flow"``: FlowTrack (Xiao et al. 2018, Sec. 3.3): each keypoint moves by the optical
  flow sampled where it is;
* ``"kalman"``: each track's poses move with its box's motion model (below), flow unused;
* ``"none"``: queued poses stay where they were seen (pose-only similarity).

Every track also has a **box motion model**, a small strategy object chosen by name from
:data:`TRACK_MOTIONS` and called only through its methods. Its per-track state lives in
columns of the tracker's track table (:mod:`posetrack.tracking.state`), so the model itself
holds nothing; it moves tracks the flow cannot: lost ones (unseen), hidden ones (covered by
a nearer person, whose flow would drag them along) and, in part, those the flow cannot
follow (:func:`flow_weights`: people too small for the flow, or whose forward and backward
flow disagree):

* ``"kalman"``: :class:`BoxKalman`, a constant-velocity Kalman filter of each track's box
  centre and height, in coordinates compensated for the camera's pan and zoom
  (:func:`camera_motion`, fitted to the flow of the background). It is the only Kalman
  filter in posetrack; its noise constants are :data:`POSITION_NOISE` and
  :data:`VELOCITY_NOISE`.
* ``"still"``: :class:`StillBoxes`, the box stays where the background it was seen on goes.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.motion import BoxKalman
    >>> from posetrack.tracking.state import Table
    >>> model = BoxKalman()
    >>> tracks = Table(model.columns, **model.start(np.array([[100.0, 200.0, 80.0]])))
    >>> for k in range(1, 40):
    ...     tracks = model.correct(model.predict(tracks, 1, STILL_CAMERA), np.array([0]), np.array([[100 + 4.0 * k, 200, 80]]))
    >>> model.velocities(tracks).round(1).tolist()
    [[4.0, 0.0]]
"""
from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np

from posetrack.tracking.state import Column, Table

__all__ = ["MOTIONS", "textured", "STILL_CAMERA", "camera_motion", "BoxKalman", "StillBoxes", "TRACK_MOTIONS",
           "POSITION_NOISE", "VELOCITY_NOISE", "flow_weights"]

MOTIONS = ("flow", "kalman", "none")
"""How queued poses reach the coming frame (``TrackerConfig.motion``)."""


# ---------------------------------------------------------------- camera motion

def textured(image: np.ndarray, step: int = 16, min_gradient: float = 2.0) -> np.ndarray:
    """Which cells of a ``step``-pixel grid have texture for optical flow to follow.

    Flow in a flat region is not measured but filled in from its surroundings (DIS
    spreads the motion of whatever moves nearby), so it says nothing about the camera.
    A cell counts when the mean absolute grey-level gradient of the image, sampled every
    ``step // 4`` pixels, exceeds ``min_gradient`` grey levels per sample.

    Args:
        image: (H, W, 3) or (H, W) uint8 frame the flow starts from.

    Returns:
        (ceil((H - step // 2) / step), ceil((W - step // 2) / step)) bool, the cells whose
        centres are the samples of :func:`camera_motion`.
    """
    sub = max(1, step // 4)
    small = np.asarray(image)[::sub, ::sub]
    grey = small.astype(np.float32).mean(-1) if small.ndim == 3 else small.astype(np.float32)
    grad = np.zeros_like(grey)
    grad[:, :-1] += np.abs(np.diff(grey, axis=1))
    grad[:-1] += np.abs(np.diff(grey, axis=0))
    h, w = image.shape[:2]
    cells = (len(range(step // 2, h, step)), len(range(step // 2, w, step)))
    r = step // sub
    padded = np.zeros((cells[0] * r, cells[1] * r), np.float32)
    rows, cols = min(padded.shape[0], grad.shape[0]), min(padded.shape[1], grad.shape[1])
    padded[:rows, :cols] = grad[:rows, :cols]
    return padded.reshape(cells[0], r, cells[1], r).mean((1, 3)) > min_gradient


STILL_CAMERA = np.array([1.0, 0.0, 0.0])
"""``(scale, tx, ty)`` of a camera that does not move."""


def camera_motion(flow: Optional[np.ndarray], exclude: Optional[np.ndarray] = None, step: int = 16,
                  image: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """The camera's zoom and pan between two frames, fitted to the background's flow.

    A point (x, y) of the first frame moves to ``scale * (x, y) + (tx, ty)``. The fit is
    least squares on a grid of flow samples every ``step`` pixels outside the ``exclude``
    boxes (the people, who move on their own) and, given the ``image``, only where it has
    texture (:func:`textured`); it is refitted twice without the samples whose residual
    exceeds three times the median (moving things we do not track). With fewer than a
    tenth of the grid left the motion is unknown: a flat background does not show it.

    Args:
        flow: (H, W, 2) optical flow, or None (no motion).
        exclude: (N, 4) boxes x1, y1, x2, y2 whose samples are left out.
        step: grid spacing, pixels.
        image: the (H, W, 3) uint8 frame the flow starts from, or None (every sample counts).

    Returns:
        (3,) float64 ``(scale, tx, ty)``: :data:`STILL_CAMERA` without flow; None where too
        few samples are left to tell.
    """
    if flow is None:
        return STILL_CAMERA.copy()
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[step // 2:h:step, step // 2:w:step]
    p = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    d = flow[step // 2::step, step // 2::step].reshape(-1, 2).astype(np.float64)
    keep = np.isfinite(d).all(1)
    if image is not None:
        keep &= textured(image, step).ravel()
    if exclude is not None and len(exclude):
        b = np.asarray(exclude, np.float64).reshape(-1, 4)
        inside = ((p[:, None, 0] >= b[None, :, 0]) & (p[:, None, 0] <= b[None, :, 2]) &
                  (p[:, None, 1] >= b[None, :, 1]) & (p[:, None, 1] <= b[None, :, 3])).any(1)
        keep &= ~inside
    fit = STILL_CAMERA.copy()
    for _ in range(3):
        if keep.sum() < max(8, len(keep) // 10):
            return None
        src, dst = p[keep], p[keep] + d[keep]
        cs, cd = src.mean(0), dst.mean(0)
        a, b = src - cs, dst - cd
        spread = float(np.einsum("ij,ij->", a, a))
        scale = float(np.einsum("ij,ij->", a, b)) / spread if spread > 0 else 1.0
        fit = np.r_[scale, cd - scale * cs]
        r = fit[0] * p + fit[1:] - p - d
        residual = np.sqrt(np.einsum("ij,ij->i", r, r))
        keep &= residual <= max(3 * np.median(residual[keep]), 0.5)
    return fit


# ---------------------------------------------------------------- box motion models

POSITION_NOISE = 1.0 / 20
"""Standard deviation of a box's position (and of a measurement of it), per frame, as a fraction
of the box height: DeepSORT's weight (Wojke et al. 2017, ``kalman_filter.py``)."""
VELOCITY_NOISE = 1.0 / 160
"""Standard deviation of a box's velocity change per frame, as a fraction of its height (DeepSORT)."""


class BoxKalman:
    """Constant-velocity Kalman filters of many tracks' boxes, vectorised over tracks.

    State per track, in the track table's columns ``motion_x`` (cx, cy, h, vx, vy, vh: box
    centre and height in pixels and their change per frame) and ``motion_P`` (its 6x6
    covariance). Noise grows with the height (:data:`POSITION_NOISE`,
    :data:`VELOCITY_NOISE`). A prediction first moves the state with the camera
    (:func:`camera_motion`: positions and velocities scale with the zoom, positions shift
    with the pan), so the velocity is the person's own motion; then it adds ``dt`` times the
    velocity. Every method takes the table and returns a new one (or arrays): the model keeps
    no state of its own.
    """

    columns = {"motion_x": Column("float64", (6,)), "motion_P": Column("float64", (6, 6))}
    moves = True

    def start(self, z: np.ndarray) -> Dict[str, np.ndarray]:
        """The columns of new tracks measured at ``z`` (n, 3) cx, cy, h, with zero velocity."""
        z = np.asarray(z, np.float64).reshape(-1, 3)
        h = np.maximum(z[:, 2], 1.0)
        std = np.concatenate([np.repeat(2 * POSITION_NOISE * h[:, None], 3, 1),
                              np.repeat(10 * VELOCITY_NOISE * h[:, None], 3, 1)], 1)
        P = np.zeros((len(z), 6, 6))
        P[:, np.arange(6), np.arange(6)] = std ** 2
        return {"motion_x": np.c_[z, np.zeros((len(z), 3))], "motion_P": P}

    def predict(self, tracks: Table, dt: float, camera: np.ndarray) -> Table:
        """Every track ``dt`` frames ahead, after the camera motion ``(scale, tx, ty)``."""
        if not len(tracks):
            return tracks
        s = float(camera[0])
        x = tracks.motion_x * s
        x[:, :2] += camera[1:]
        x[:, :3] += dt * x[:, 3:]
        x[:, 2] = np.maximum(x[:, 2], 4.0)                                  # a shrinking box stops at 4 px
        F = np.eye(6) * s
        F[:3, 3:] = dt * s * np.eye(3)
        h = np.maximum(x[:, 2], 1.0)
        q = np.concatenate([np.repeat((POSITION_NOISE * h)[:, None], 3, 1),
                            np.repeat((VELOCITY_NOISE * h)[:, None], 3, 1)], 1)
        P = F @ tracks.motion_P @ F.T
        P[:, np.arange(6), np.arange(6)] += dt * q ** 2
        return tracks.with_values(motion_x=x, motion_P=P)

    def correct(self, tracks: Table, rows: np.ndarray, z: np.ndarray) -> Table:
        """The filters of ``rows`` corrected with measurements ``z`` (n, 3) cx, cy, h."""
        rows = np.asarray(rows, np.int64)
        if not len(rows):
            return tracks
        z = np.asarray(z, np.float64).reshape(-1, 3)
        x, P = tracks.motion_x[rows], tracks.motion_P[rows]
        r = (POSITION_NOISE * np.maximum(x[:, 2], 1.0)) ** 2
        S = P[:, :3, :3] + r[:, None, None] * np.eye(3)
        gain = np.linalg.solve(S, P[:, :3, :]).transpose(0, 2, 1)          # (n, 6, 3) = P H^T S^-1
        return tracks.with_values(rows, motion_x=x + (gain @ (z - x[:, :3])[..., None])[..., 0],
                                  motion_P=P - gain @ P[:, :3, :])

    def centres(self, tracks: Table) -> np.ndarray:
        """(T, 2) predicted box centres, pixels."""
        return tracks.motion_x[:, :2]

    def heights(self, tracks: Table) -> np.ndarray:
        """(T,) predicted box heights, pixels (at least 1)."""
        return np.maximum(tracks.motion_x[:, 2], 1.0)

    def position_covariance(self, tracks: Table) -> np.ndarray:
        """(T, 2, 2) covariance of a measured box centre around the prediction: the state's
        position covariance plus the measurement noise, pixels²."""
        r = (POSITION_NOISE * self.heights(tracks)) ** 2
        return tracks.motion_P[:, :2, :2] + r[:, None, None] * np.eye(2)

    def velocities(self, tracks: Table) -> np.ndarray:
        """(T, 2) the people's own velocities (the camera's motion removed), pixels per frame."""
        return tracks.motion_x[:, 3:5]

    def boxes(self, tracks: Table, aspect: np.ndarray) -> np.ndarray:
        """(T, 4) predicted boxes from the state and each track's width-to-height ratio (T,)."""
        c, h = tracks.motion_x[:, :2], tracks.motion_x[:, 2]
        half = np.stack([np.asarray(aspect) * h, h], 1) / 2
        return np.concatenate([c - half, c + half], 1)


class StillBoxes(BoxKalman):
    """Boxes that only follow the camera: a lost track stays where the background it was seen on goes."""

    moves = False

    def predict(self, tracks: Table, dt: float, camera: np.ndarray) -> Table:
        out = super().predict(tracks, 0.0, camera)
        x = out.motion_x.copy()
        x[:, 3:] = 0.0
        return out.with_values(motion_x=x)


TRACK_MOTIONS: Dict[str, Callable[[], BoxKalman]] = {"kalman": BoxKalman, "still": StillBoxes}


def flow_weights(heights: np.ndarray, fb_errors: Optional[np.ndarray], min_height: float, full_height: float,
                 fb_tolerance: float) -> np.ndarray:
    """How far each track may follow the optical flow rather than its box motion model, in [0, 1].

    Two things make the flow at a person untrustworthy: the person is too small for it (DIS
    works on 8-12 px patches, so a 12 px walker's own motion is averaged with the background's
    and comes out far too slow), and the forward and backward flow disagree at the person's
    joints (an occlusion, a motion blur, a texture the flow cannot lock onto). The weight is
    the product of a size term, 0 at ``min_height`` rising linearly to 1 at ``full_height``,
    and an agreement term ``exp(-(e / fb_tolerance)^2 / 2)`` of the median forward-backward
    error ``e`` (pixels) over the track's confident joints.

    Args:
        heights: (T,) box heights, pixels.
        fb_errors: (T,) median forward-backward errors, pixels (NaN: not measured), or None.
        min_height, full_height: pixels; ``full_height`` above ``min_height``.
        fb_tolerance: pixels.

    Returns:
        (T,) float64 weights: 1 follows the flow alone, 0 the motion model alone.
    """
    span = max(full_height - min_height, 1e-6)
    w = np.clip((np.asarray(heights, np.float64) - min_height) / span, 0.0, 1.0)
    if fb_errors is not None:
        e = np.nan_to_num(np.asarray(fb_errors, np.float64), nan=0.0)
        w = w * np.exp(-0.5 * (e / max(fb_tolerance, 1e-6)) ** 2)
    return w
