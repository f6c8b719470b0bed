"""Results in the shapes other libraries use: Ultralytics-style accessors and Roboflow ``supervision`` objects.

Code written for Ultralytics pose results ports with few changes::

    for result in posetrack.track("video.mp4"):
        xy = result.keypoints.xy          # (N, 17, 2) float32 pixels   (Ultralytics: Keypoints.xy)
        conf = result.keypoints.conf      # (N, 17) float32              (Keypoints.conf)
        ids = result.boxes.id             # (N,) int64 track ids, or None (Boxes.id)
        boxes = result.boxes.xyxy         # (N, 4) float32 x1, y1, x2, y2 (Boxes.xyxy)

The differences: arrays are numpy (Ultralytics gives torch tensors; call ``.cpu().numpy()``
there to get the same), ``cls`` is always 0 (person), and the keypoints follow the result's
layout (COCO-17 for COCO weights, Ultralytics' pose models' order too).

``to_supervision`` returns ``supervision.KeyPoints`` and ``supervision.Detections`` (an
optional extra: ``pip install "posetrack[supervision]"``), the track ids as ``tracker_id`` on the
detections and as ``data["tracker_id"]`` on the keypoints.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from posetrack.errors import InputError, MissingDependencyError
from posetrack.types import Poses

__all__ = ["KeypointsView", "BoxesView", "to_supervision"]


def _normalise(values: np.ndarray, shape: Optional[Tuple[int, int]], what: str) -> np.ndarray:
    if shape is None:
        raise InputError(f"{what}: normalised coordinates need the frame size, and this result holds no image")
    h, w = shape
    scale = np.tile(np.float32([w, h]), values.shape[-1] // 2)
    return (values / scale).astype(np.float32)


@dataclass(frozen=True)
class KeypointsView:
    """One frame's keypoints, named as Ultralytics' ``Results.keypoints``.

    Attributes:
        poses: the frame's poses.
        orig_shape: (height, width) of the frame, or None when unknown (``xyn`` then raises).
    """

    poses: Poses
    orig_shape: Optional[Tuple[int, int]] = None

    @property
    def xy(self) -> np.ndarray:
        """(N, K, 2) float32 x, y in frame pixels."""
        return self.poses.keypoints

    @property
    def conf(self) -> np.ndarray:
        """(N, K) float32 keypoint scores."""
        return self.poses.keypoint_scores

    @property
    def xyn(self) -> np.ndarray:
        """(N, K, 2) float32 x / width, y / height."""
        return _normalise(self.xy, self.orig_shape, "keypoints.xyn")

    @property
    def data(self) -> np.ndarray:
        """(N, K, 3) float32 x, y, score."""
        return self.poses.as_array()

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self.data.shape)

    def __len__(self) -> int:
        return len(self.poses)


@dataclass(frozen=True)
class BoxesView:
    """One frame's person boxes, named as Ultralytics' ``Results.boxes``.

    Attributes:
        poses: the frame's poses (their boxes and box scores).
        track_ids: (N,) int64 ids, or None when untracked.
        orig_shape: (height, width) of the frame, or None when unknown.
    """

    poses: Poses
    track_ids: Optional[np.ndarray] = None
    orig_shape: Optional[Tuple[int, int]] = None

    @property
    def xyxy(self) -> np.ndarray:
        """(N, 4) float32 x1, y1, x2, y2 in pixels."""
        return self.poses.boxes

    @property
    def xywh(self) -> np.ndarray:
        """(N, 4) float32 centre x, centre y, width, height (Ultralytics' xywh)."""
        b = self.poses.boxes
        return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]],
                        axis=1).astype(np.float32)

    @property
    def xyxyn(self) -> np.ndarray:
        return _normalise(self.xyxy, self.orig_shape, "boxes.xyxyn")

    @property
    def xywhn(self) -> np.ndarray:
        return _normalise(self.xywh, self.orig_shape, "boxes.xywhn")

    @property
    def conf(self) -> np.ndarray:
        """(N,) float32 box scores."""
        return self.poses.box_scores

    @property
    def cls(self) -> np.ndarray:
        """(N,) float32 class indices: 0, person (Ultralytics' COCO class index)."""
        return np.zeros(len(self.poses), np.float32)

    @property
    def id(self) -> Optional[np.ndarray]:
        """(N,) int64 track ids, or None when tracking is off (as Ultralytics without ``track``)."""
        return self.track_ids

    @property
    def is_track(self) -> bool:
        return self.track_ids is not None

    @property
    def data(self) -> np.ndarray:
        """(N, 6 or 7) float32 x1, y1, x2, y2, [track id,] conf, cls, Ultralytics' column order."""
        cols = [self.xyxy] + ([self.track_ids[:, None].astype(np.float32)] if self.is_track else []) + \
            [self.conf[:, None], self.cls[:, None]]
        return np.concatenate(cols, axis=1)

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self.data.shape)

    def __len__(self) -> int:
        return len(self.poses)


def to_supervision(poses: Poses, track_ids: Optional[np.ndarray] = None):
    """``(supervision.KeyPoints, supervision.Detections)`` for one frame's poses.

    KeyPoints: ``xy`` (N, K, 2) float32, keypoint confidences (N, K), ``class_id`` zeros and
    ``data["tracker_id"]`` (N,) when tracked. Detections: ``xyxy`` (N, 4), ``confidence`` (N,),
    ``class_id`` zeros, ``tracker_id`` (N,) int or None.

    Raises:
        MissingDependencyError: supervision is not installed.
    """
    try:
        import supervision as sv
    except ImportError:
        raise MissingDependencyError("to_supervision needs supervision", "supervision") from None
    n = len(poses)
    class_id = np.zeros(n, dtype=int)
    ids = None if track_ids is None else np.asarray(track_ids, dtype=int)
    data = {} if ids is None else {"tracker_id": ids}
    params = inspect.signature(sv.KeyPoints.__init__).parameters
    conf_name = "keypoint_confidence" if "keypoint_confidence" in params else "confidence"
    keypoints = sv.KeyPoints(xy=poses.keypoints.astype(np.float32), class_id=class_id, data=data,
                             **{conf_name: poses.keypoint_scores.astype(np.float32)})
    detections = sv.Detections(xyxy=poses.boxes.astype(np.float32), confidence=poses.box_scores.astype(np.float32),
                               class_id=class_id, tracker_id=ids)
    return keypoints, detections
