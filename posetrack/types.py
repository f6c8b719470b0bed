"""What flows between stages: frames, detections, poses and tracked frames.

All coordinates are in frame pixels (x to the right, y down, origin at the top-left
corner of the top-left pixel's centre, as OpenCV and the official HRNet code use).
Arrays are numpy; per-person data lives in arrays whose first axis is the person, so
every stage stays vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

__all__ = ["Frame", "Detections", "Poses", "FrameResult", "VideoInfo", "DEFAULT_FPS"]

#: Frames per second assumed where a source does not say: an image folder's playback rate, and the
#: rate a tracker converts its seconds (lost-track memory) with when given none.
DEFAULT_FPS = 25.0


def _as(a, dtype, shape_tail: Sequence[int], what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=dtype)
    if arr.size == 0:
        arr = arr.reshape((0, *shape_tail))
    if arr.ndim != 1 + len(shape_tail) or tuple(arr.shape[1:]) != tuple(shape_tail):
        raise ValueError(f"{what}: expected shape (N, {', '.join(map(str, shape_tail))}) got {arr.shape}")
    return arr


@dataclass(frozen=True)
class VideoInfo:
    """Where frames come from.

    Attributes:
        path: the file, folder, camera index ("0") or stream URL.
        fps: the stated (average) frame rate; frame times are in ``Frame.time``.
        width, height: frame size in pixels.
        frames: the number of frames the source holds (its container's count), or None
            when unknown: a live camera or stream.
        live: a camera or network stream: read once, front to back; it cannot be resumed.
    """

    path: str
    fps: float
    width: int
    height: int
    frames: Optional[int]
    live: bool = False


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: 0-based frame index in the source.
        image: (H, W, 3) uint8 RGB.
        time: presentation time in seconds from the start of the source (the container's
            timestamp), or None when the source does not say.
    """

    index: int
    image: np.ndarray
    time: Optional[float] = None

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True)
class Detections:
    """Person boxes of one frame.

    Attributes:
        boxes: (N, 4) float32, x1, y1, x2, y2 in frame pixels.
        scores: (N,) float32 detector confidences in [0, 1].
    """

    boxes: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "boxes", _as(self.boxes, np.float32, (4,), "Detections.boxes"))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float32).reshape(-1))
        if len(self.scores) != len(self.boxes):
            raise ValueError(f"Detections: {len(self.boxes)} boxes but {len(self.scores)} scores")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))

    def select(self, index) -> "Detections":
        """The detections at ``index`` (a boolean mask or integer indices), in that order."""
        return Detections(self.boxes[index], self.scores[index])

    @classmethod
    def concat(cls, parts: Sequence["Detections"]) -> "Detections":
        """All boxes of ``parts``, in order."""
        if not parts:
            return cls.empty()
        return cls(np.concatenate([d.boxes for d in parts]), np.concatenate([d.scores for d in parts]))


@dataclass(frozen=True)
class Poses:
    """Poses of the people in one frame.

    Attributes:
        boxes: (N, 4) float32 person boxes x1, y1, x2, y2 the poses were estimated in.
        box_scores: (N,) float32 box confidences.
        keypoints: (N, K, 2) float32 x, y in frame pixels.
        keypoint_scores: (N, K) float32 heatmap maxima (the official "maxvals").
    """

    boxes: np.ndarray
    box_scores: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "boxes", _as(self.boxes, np.float32, (4,), "Poses.boxes"))
        object.__setattr__(self, "box_scores", np.asarray(self.box_scores, dtype=np.float32).reshape(-1))
        kp = np.asarray(self.keypoints, dtype=np.float32)
        ks = np.asarray(self.keypoint_scores, dtype=np.float32)
        n = len(self.boxes)
        if kp.size == 0:
            k = ks.shape[1] if ks.ndim == 2 else 0
            kp = kp.reshape((n, k, 2))
            ks = ks.reshape((n, k))
        if kp.ndim != 3 or kp.shape[2] != 2 or kp.shape[0] != n or ks.shape != kp.shape[:2]:
            raise ValueError(
                f"Poses: boxes {self.boxes.shape}, keypoints {kp.shape}, keypoint_scores {ks.shape} do not agree")
        if len(self.box_scores) != n:
            raise ValueError(f"Poses: {n} boxes but {len(self.box_scores)} box scores")
        object.__setattr__(self, "keypoints", kp)
        object.__setattr__(self, "keypoint_scores", ks)

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def num_keypoints(self) -> int:
        return int(self.keypoints.shape[1])

    @classmethod
    def empty(cls, num_keypoints: int) -> "Poses":
        return cls(np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, num_keypoints, 2)), np.zeros((0, num_keypoints)))

    def select(self, index) -> "Poses":
        """The poses at ``index`` (a boolean mask or integer indices)."""
        return Poses(self.boxes[index], self.box_scores[index], self.keypoints[index], self.keypoint_scores[index])

    @classmethod
    def concat(cls, parts: Sequence["Poses"], num_keypoints: int) -> "Poses":
        """All poses of ``parts``, in order (``num_keypoints`` sizes the result when there are none)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty(num_keypoints)
        return cls(np.concatenate([p.boxes for p in parts]), np.concatenate([p.box_scores for p in parts]),
                   np.concatenate([p.keypoints for p in parts]), np.concatenate([p.keypoint_scores for p in parts]))

    def as_array(self) -> np.ndarray:
        """(N, K, 3) float32 x, y, score — the layout of the official code and of our JSON."""
        return np.concatenate([self.keypoints, self.keypoint_scores[..., None]], axis=2)

    @classmethod
    def from_array(cls, boxes, box_scores, keypoints_xys) -> "Poses":
        """Build from an (N, K, 3) x, y, score array."""
        kp = np.asarray(keypoints_xys, dtype=np.float32)
        return cls(boxes, box_scores, kp[..., :2], kp[..., 2])


@dataclass(frozen=True)
class FrameResult:
    """The tracked (or untracked) people of one frame.

    Attributes:
        frame: 0-based frame index in the source.
        poses: the people's poses.
        track_ids: (N,) int64 ids, or None when tracking is off.
        time: presentation time of the frame in seconds from the start of the source
            (the container's timestamp), or None when unknown.
        interpolated: (N,) bool, True for people filled in by offline refinement (not
            estimated in this frame), or None when nobody is.
        cut: a scene cut comes right before this frame: no track continues across it.
    """

    frame: int
    poses: Poses
    track_ids: Optional[np.ndarray] = field(default=None)
    time: Optional[float] = None
    interpolated: Optional[np.ndarray] = None
    cut: bool = False

    def __post_init__(self) -> None:
        if self.track_ids is not None:
            ids = np.asarray(self.track_ids, dtype=np.int64).reshape(-1)
            if len(ids) != len(self.poses):
                raise ValueError(f"frame {self.frame}: {len(self.poses)} poses but {len(ids)} track ids")
            object.__setattr__(self, "track_ids", ids)
        if self.interpolated is not None:
            mask = np.asarray(self.interpolated, dtype=bool).reshape(-1)
            if len(mask) != len(self.poses):
                raise ValueError(f"frame {self.frame}: {len(self.poses)} poses but {len(mask)} interpolated flags")
            object.__setattr__(self, "interpolated", mask if mask.any() else None)
        if self.time is not None:
            object.__setattr__(self, "time", float(self.time))

    def __len__(self) -> int:
        return len(self.poses)
