"""Motion models: where a track's queued poses are expected in the coming frame.

A motion model is a small strategy object chosen by name from :data:`MOTIONS`. The
tracker hands it the queued poses (the recent poses of its live tracks) and, when
there is one, the optical flow to the coming frame; the model returns the queued
keypoints moved into that frame. It learns from the boxes the tracker assigns each
frame (:meth:`NoMotion.observe`) and forgets retired tracks.

* ``"flow"``: FlowTrack (Xiao et al. 2018, Sec. 3.3): each keypoint moves by the optical
  flow sampled where it is.
* ``"kalman"``: a constant-velocity Kalman filter per track on its box (DeepSORT's
  noise model); ignores flow.
* ``"none"``: queued poses stay where they were seen (pose-only similarity).

Tracks that are lost (unseen) or hidden behind a nearer track must not follow the flow
where they were, which belongs to whoever covers them now. They move with a *track motion
model* chosen by name from :data:`TRACK_MOTIONS`, vectorised over all tracks:

* ``"kalman"``: :class:`BoxKalman`, a constant-velocity Kalman filter of each track's box
  centre and height, in coordinates compensated for the camera's pan and zoom
  (:func:`camera_motion`, fitted to the flow of the background);
* ``"still"``: :class:`StillBoxes`, the box stays where the background it was seen on goes.

Every model can save and restore its state exactly (``state_dict``), so a resumed run
continues as if it had never stopped.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.motion import MOTIONS
    >>> model = MOTIONS["flow"]()
    >>> flow = np.zeros((4, 4, 2), np.float32); flow[..., 0] = 1.5
    >>> model.predict(np.array([7]), np.array([[[1.0, 2.0]]]), flow).tolist()
    [[[2.5, 2.0]]]
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np

from posetrack.tracking.flow import propagate_points

__all__ = ["NoMotion", "FlowMotion", "KalmanMotion", "MOTIONS", "textured", "STILL_CAMERA", "camera_motion", "BoxKalman",
           "StillBoxes", "TRACK_MOTIONS"]


class NoMotion:
    """Queued poses stay where they were seen: similarity is pose-only."""

    def predict(self, track_ids: np.ndarray, keypoints: np.ndarray, flow: Optional[np.ndarray]) -> np.ndarray:
        """Positions in the coming frame of queued keypoints.

        Args:
            track_ids: (E,) int64 track of each queued pose.
            keypoints: (E, K, 2) float32 x, y in the current frame, pixels.
            flow: (H, W, 2) optical flow to the coming frame, or None.

        Returns:
            (E, K, 2) float32 x, y in the coming frame.
        """
        return keypoints

    def observe(self, track_ids: np.ndarray, boxes: np.ndarray) -> None:
        """Learn from the boxes (P, 4) matched or spawned for ``track_ids`` (P,) in this frame."""

    def forget(self, track_ids: np.ndarray) -> None:
        """Drop whatever is kept for retired tracks."""

    def state_dict(self) -> Dict[str, Any]:
        """The model's state as JSON-ready data (lossless: floats are exact)."""
        return {}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""


class FlowMotion(NoMotion):
    """FlowTrack: every queued keypoint moves by the flow sampled where it is (zero without flow)."""

    def predict(self, track_ids: np.ndarray, keypoints: np.ndarray, flow: Optional[np.ndarray]) -> np.ndarray:
        if flow is None:
            return keypoints
        return propagate_points(flow, keypoints)


class KalmanMotion(NoMotion):
    """A constant-velocity Kalman filter per track on its box centre and size; ignores flow.

    State (cx, cy, w, h, vx, vy, vw, vh); each prediction moves a track's queued poses by
    the predicted centre shift and scales them about the centre by the size change.
    Noise grows with the box height, with DeepSORT's weights (Wojke et al. 2017,
    ``kalman_filter.py``: position 1/20, velocity 1/160 of the height).
    """

    _POS, _VEL = 1.0 / 20, 1.0 / 160

    def __init__(self) -> None:
        self._filters: Dict[int, object] = {}

    def _new_filter(self, z: np.ndarray):
        from filterpy.kalman import KalmanFilter

        kf = KalmanFilter(dim_x=8, dim_z=4)
        kf.F = np.eye(8) + np.eye(8, k=4)
        kf.H = np.eye(4, 8)
        kf.x = np.r_[z, np.zeros(4)][:, None]
        h = max(z[3], 1.0)
        kf.P = np.diag(np.r_[np.full(4, 2 * self._POS * h), np.full(4, 10 * self._VEL * h)] ** 2)
        return kf

    def _noise(self, kf) -> None:
        h = max(float(kf.x[3, 0]), 1.0)
        kf.Q = np.diag(np.r_[np.full(4, self._POS * h), np.full(4, self._VEL * h)] ** 2)
        kf.R = np.diag(np.full(4, self._POS * h) ** 2)

    def predict(self, track_ids: np.ndarray, keypoints: np.ndarray, flow: Optional[np.ndarray]) -> np.ndarray:
        ids, inverse = np.unique(track_ids, return_inverse=True)
        before, after = np.zeros((len(ids), 4)), np.zeros((len(ids), 4))
        for i, tid in enumerate(ids.tolist()):
            kf = self._filters[tid]
            before[i] = kf.x[:4, 0]
            self._noise(kf)
            kf.predict()
            after[i] = kf.x[:4, 0]
        scale = np.clip(after[:, 2:] / np.maximum(before[:, 2:], 1e-6), 0.5, 2.0)        # (T, 2)
        moved = after[inverse, None, :2] + (keypoints - before[inverse, None, :2]) * scale[inverse, None]
        return moved.astype(np.float32)

    def observe(self, track_ids: np.ndarray, boxes: np.ndarray) -> None:
        b = np.asarray(boxes, np.float64)
        z = np.concatenate([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]], axis=1)      # (P, 4) cx, cy, w, h
        for tid, zi in zip(np.asarray(track_ids).tolist(), z):
            kf = self._filters.get(tid)
            if kf is None:
                self._filters[tid] = self._new_filter(zi)
            else:
                self._noise(kf)
                kf.update(zi[:, None])

    def forget(self, track_ids: np.ndarray) -> None:
        for tid in np.asarray(track_ids).tolist():
            self._filters.pop(tid, None)

    def state_dict(self) -> Dict[str, Any]:
        return {"filters": {str(tid): {"x": kf.x[:, 0].tolist(), "P": kf.P.tolist()}
                            for tid, kf in sorted(self._filters.items())}}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self._filters = {}
        for tid, f in state.get("filters", {}).items():
            x = np.asarray(f["x"], np.float64)
            kf = self._new_filter(x[:4])
            kf.x = x[:, None].copy()
            kf.P = np.asarray(f["P"], np.float64)
            self._filters[int(tid)] = kf


MOTIONS: Dict[str, Callable[[], NoMotion]] = {"flow": FlowMotion, "kalman": KalmanMotion, "none": NoMotion}


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


# ---------------------------------------------------------------- track motion models

class BoxKalman:
    """Constant-velocity Kalman filters of many tracks' boxes, vectorised over tracks.

    State per track (cx, cy, h, vx, vy, vh): box centre and height in pixels and their
    change per frame. Noise grows with the height, with DeepSORT's weights (Wojke et al.
    2017, ``kalman_filter.py``: position 1/20, velocity 1/160 of the height per frame). A
    prediction first moves the state with the camera (:func:`camera_motion`: positions and
    velocities scale with the zoom, positions shift with the pan), so the velocity is the
    person's own motion; then it adds ``dt`` times the velocity.

    Rows are tracks, in the order the caller keeps them (:meth:`add`, :meth:`select`).
    """

    _POS, _VEL = 1.0 / 20, 1.0 / 160
    moves = True

    def __init__(self) -> None:
        self.x = np.zeros((0, 6))
        self.P = np.zeros((0, 6, 6))

    def __len__(self) -> int:
        return len(self.x)

    def add(self, z: np.ndarray) -> None:
        """Start filters at measurements ``z`` (n, 3) cx, cy, h, with zero velocity."""
        z = np.asarray(z, np.float64).reshape(-1, 3)
        h = np.maximum(z[:, 2], 1.0)
        std = np.concatenate([np.repeat(2 * self._POS * h[:, None], 3, 1), np.repeat(10 * self._VEL * h[:, None], 3, 1)], 1)
        P = np.zeros((len(z), 6, 6))
        P[:, np.arange(6), np.arange(6)] = std ** 2
        self.x = np.concatenate([self.x, np.c_[z, np.zeros((len(z), 3))]])
        self.P = np.concatenate([self.P, P])

    def select(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` (indices or a mask), in that order."""
        self.x, self.P = self.x[rows], self.P[rows]

    def predict(self, dt: float, camera: np.ndarray) -> None:
        """Move every filter ``dt`` frames ahead, after the camera motion ``(scale, tx, ty)``."""
        if not len(self.x):
            return
        s = float(camera[0])
        x = self.x * s
        x[:, :2] += camera[1:]
        x[:, :3] += dt * x[:, 3:]
        x[:, 2] = np.maximum(x[:, 2], 4.0)                                  # a shrinking box stops at 4 px
        F = np.eye(6) * s
        F[:3, 3:] = dt * s * np.eye(3)
        h = np.maximum(x[:, 2], 1.0)
        q = np.concatenate([np.repeat((self._POS * h)[:, None], 3, 1), np.repeat((self._VEL * h)[:, None], 3, 1)], 1)
        P = F @ self.P @ F.T
        P[:, np.arange(6), np.arange(6)] += dt * q ** 2
        self.x, self.P = x, P

    def update(self, rows: np.ndarray, z: np.ndarray) -> None:
        """Correct the filters of ``rows`` with measurements ``z`` (n, 3)."""
        rows = np.asarray(rows, np.int64)
        if not len(rows):
            return
        z = np.asarray(z, np.float64).reshape(-1, 3)
        x, P = self.x[rows], self.P[rows]
        r = (self._POS * np.maximum(x[:, 2], 1.0)) ** 2
        S = P[:, :3, :3] + r[:, None, None] * np.eye(3)
        gain = np.linalg.solve(S, P[:, :3, :]).transpose(0, 2, 1)          # (n, 6, 3) = P H^T S^-1
        self.x[rows] = x + (gain @ (z - x[:, :3])[..., None])[..., 0]
        self.P[rows] = P - gain @ P[:, :3, :]

    def boxes(self, widths: np.ndarray) -> np.ndarray:
        """Predicted boxes (T, 4) from the state and each track's width-to-height ratio (T,)."""
        c, h = self.x[:, :2], self.x[:, 2]
        half = np.stack([np.asarray(widths) * h, h], 1) / 2
        return np.concatenate([c - half, c + half], 1)

    def state_dict(self) -> Dict[str, Any]:
        return {"x": self.x.tolist(), "P": self.P.tolist()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.x = np.asarray(state["x"], np.float64).reshape(-1, 6)
        self.P = np.asarray(state["P"], np.float64).reshape(-1, 6, 6)


class StillBoxes(BoxKalman):
    """Boxes that only follow the camera: a lost track stays where the background it was seen on goes."""

    moves = False

    def predict(self, dt: float, camera: np.ndarray) -> None:
        super().predict(0.0, camera)
        self.x[:, 3:] = 0.0


TRACK_MOTIONS: Dict[str, Callable[[], BoxKalman]] = {"kalman": BoxKalman, "still": StillBoxes}
