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

Every model can save and restore its state exactly (:meth:`NoMotion.state_dict`), so a
resumed run continues as if it had never stopped.

Example:
    >>> import numpy as np
    >>> from posetrack.motion import MOTIONS
    >>> model = MOTIONS["flow"]()
    >>> flow = np.zeros((4, 4, 2), np.float32); flow[..., 0] = 1.5
    >>> model.predict(np.array([7]), np.array([[[1.0, 2.0]]]), flow).tolist()
    [[[2.5, 2.0]]]
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import numpy as np

from .flow import propagate_points

__all__ = ["NoMotion", "FlowMotion", "KalmanMotion", "MOTIONS"]


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
