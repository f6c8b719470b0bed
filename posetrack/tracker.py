"""FlowTrack pose tracking (Xiao et al., "Simple Baselines for Human Pose Estimation and Tracking", ECCV 2018, Sec. 3).

Per frame k the tracker

1. **propagates** its queue — the poses of the live tracks seen in the last Q frames —
   into frame k with the optical flow F(k-1 -> k) (or a Kalman prediction, or not at all);
2. **proposes boxes** from the propagated poses of frame k-1, which the pipeline unifies
   with the detector's boxes before pose estimation (:mod:`posetrack.propagation`);
3. **associates** the new poses with the tracks: the similarity of a pose and a track is
   the largest OKS between the pose and the track's propagated poses in the queue
   (the paper's multi-frame flow-based pose similarity), and a matcher from
   :mod:`posetrack.matching` pairs them (greedy by default, as in the paper);
4. **spawns** a new id for every unmatched pose and **retires** tracks with no pose in
   the last Q frames.

Track ids start at 0 and count up per tracker; each :class:`PoseTracker` owns its
counter, ``reset()`` restarts it, and two trackers never share state.

Poses whose box score is below ``box_score`` or that have no joint above
``joint_score`` are not tracked: they are left out of the returned
:class:`~posetrack.structures.FrameResult`, neither matching a track nor starting one.

Example:
    >>> import numpy as np
    >>> from posetrack.keypoints import COCO
    >>> from posetrack.structures import Poses
    >>> from posetrack.tracker import PoseTracker, TrackerConfig
    >>> tracker = PoseTracker(COCO, TrackerConfig())
    >>> kp = np.random.default_rng(0).uniform(100, 200, (1, 17, 2))
    >>> poses = Poses(np.array([[90, 90, 210, 210]]), np.array([0.9]), kp, np.full((1, 17), 0.9))
    >>> tracker.update(0, poses).track_ids.tolist(), tracker.update(1, poses).track_ids.tolist()
    ([0], [0])
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .errors import ConfigError
from .boxes import box_areas
from .flow import FlowConfig
from .keypoints import KeypointLayout
from .matching import MATCHERS, Matches, match
from .motion import MOTIONS
from .oks import oks_matrix
from .propagation import joint_boxes, pose_scores
from .structures import Detections, FrameResult, Poses

__all__ = ["TrackerConfig", "PoseQueue", "PoseTracker", "load_tracking_config"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker settings (the ``tracker:`` section of ``configs/tracker.yaml``, which states each source).

    Attributes:
        box_score: poses (and detector boxes) scoring below this are not tracked.
        joint_score: joints scoring at or below this are ignored by similarity and boxes.
        box_expand: relative growth of a propagated joints' box (0.15 = 15%).
        nms_iou: NMS threshold unifying detector and propagated boxes.
        queue: Q, frames of past poses kept per track; a track unseen for Q frames is retired.
        min_similarity: a pose and a track with a lower flow-based OKS are never matched.
        matching: "greedy" (the paper) or "hungarian".
        motion: how queued poses reach the new frame: "flow" (the paper), "kalman" or "none".
    """

    box_score: float = 0.5
    joint_score: float = 0.4
    box_expand: float = 0.15
    nms_iou: float = 0.4
    queue: int = 5
    min_similarity: float = 0.3
    matching: str = "greedy"
    motion: str = "flow"

    def __post_init__(self) -> None:
        if self.matching not in MATCHERS:
            raise ConfigError(f"unknown matching {self.matching!r}; choose one of: {', '.join(MATCHERS)}")
        if self.motion not in MOTIONS:
            raise ConfigError(f"unknown motion {self.motion!r}; choose one of: {', '.join(MOTIONS)}")
        if self.queue < 1:
            raise ConfigError(f"queue must be at least 1 frame, got {self.queue}")
        for name in ("box_score", "joint_score", "nms_iou", "min_similarity"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.box_expand < 0:
            raise ConfigError(f"box_expand must be 0 or more, got {self.box_expand}")


@dataclass(frozen=True)
class _TrackingFile:
    """The sections of ``configs/tracker.yaml``; a missing section takes the defaults."""

    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)


def load_tracking_config(name: str = "tracker") -> Tuple[TrackerConfig, FlowConfig]:
    """Read the ``tracker:`` and ``flow:`` sections of a shipped config or a YAML path.

    Unknown sections or keys fail with a "did you mean" naming the file.
    """
    from .config import load_yaml

    sections = load_yaml(_TrackingFile, name)
    return sections.tracker, sections.flow


@dataclass(frozen=True)
class PoseQueue:
    """The recent poses of the live tracks, moved into the coordinates of the newest frame.

    Attributes:
        keypoints: (E, K, 2) float32 x, y, propagated to the current frame.
        keypoint_scores: (E, K) float32 scores when observed.
        areas: (E,) float64 areas of the boxes the poses were estimated in (OKS scale).
        box_scores: (E,) float32.
        track_ids: (E,) int64.
        frames: (E,) int64 frame each pose was observed in.
    """

    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    areas: np.ndarray
    box_scores: np.ndarray
    track_ids: np.ndarray
    frames: np.ndarray

    @classmethod
    def empty(cls, num_keypoints: int) -> "PoseQueue":
        return cls(np.zeros((0, num_keypoints, 2), np.float32), np.zeros((0, num_keypoints), np.float32),
                   np.zeros(0), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.track_ids)

    def select(self, mask: np.ndarray) -> "PoseQueue":
        return PoseQueue(self.keypoints[mask], self.keypoint_scores[mask], self.areas[mask],
                         self.box_scores[mask], self.track_ids[mask], self.frames[mask])

    def moved(self, keypoints: np.ndarray) -> "PoseQueue":
        return PoseQueue(np.asarray(keypoints, np.float32), self.keypoint_scores, self.areas, self.box_scores,
                         self.track_ids, self.frames)

    def appended(self, frame: int, poses: Poses, track_ids: np.ndarray) -> "PoseQueue":
        n = len(poses)
        return PoseQueue(np.concatenate([self.keypoints, poses.keypoints]),
                         np.concatenate([self.keypoint_scores, poses.keypoint_scores]),
                         np.concatenate([self.areas, box_areas(poses.boxes)]),
                         np.concatenate([self.box_scores, poses.box_scores]),
                         np.concatenate([self.track_ids, np.asarray(track_ids, np.int64)]),
                         np.concatenate([self.frames, np.full(n, frame, np.int64)]))


# ---------------------------------------------------------------- the tracker

class PoseTracker:
    """FlowTrack tracker over one video; feed frames in increasing order.

    Args:
        layout: the poses' keypoint layout (its OKS sigmas are used).
        config: thresholds and strategies.
    """

    def __init__(self, layout: KeypointLayout, config: TrackerConfig = TrackerConfig()):
        self.layout = layout
        self.config = config
        self._sigmas = layout.sigma_array()
        self.reset()

    def reset(self) -> None:
        """Forget every track and restart ids at 0 (call between videos)."""
        self._queue = PoseQueue.empty(self.layout.num_keypoints)
        self._motion = MOTIONS[self.config.motion]()
        self._next_id = 0
        self._last_frame: Optional[int] = None
        self._propagated = False

    def seed(self, results: Sequence[FrameResult]) -> None:
        """Continue from finished frames (a resumed run): their ids are kept, new ids follow them.

        The queue is rebuilt from the last Q frames as they were observed; the flow
        between those frames is not recomputed, so older poses are not propagated.
        """
        self.reset()
        results = sorted(results, key=lambda r: r.frame)
        if not results:
            return
        untracked = [r.frame for r in results if len(r) and r.track_ids is None]
        if untracked:
            raise ValueError(f"frame {untracked[0]}: seed() needs tracked results (with track ids)")
        last = results[-1].frame
        for r in results:
            if last - r.frame < self.config.queue and len(r):
                self._record(r.frame, r.poses, r.track_ids)
        self._next_id = 1 + max((int(r.track_ids.max()) for r in results if len(r)), default=-1)
        self._last_frame = last

    def state_dict(self) -> Dict[str, Any]:
        """Everything the tracker knows, as JSON-ready data, for an exact resume.

        Floats are written as Python floats, which JSON round-trips exactly (float32
        values widen to float64 losslessly), so :meth:`load_state_dict` on a fresh
        tracker with the same layout and config continues bit for bit as this one would.
        """
        q = self._queue
        return {
            "next_id": self._next_id,
            "last_frame": self._last_frame,
            "propagated": self._propagated,
            "queue": {"keypoints": q.keypoints.tolist(), "keypoint_scores": q.keypoint_scores.tolist(),
                      "areas": q.areas.tolist(), "box_scores": q.box_scores.tolist(),
                      "track_ids": q.track_ids.tolist(), "frames": q.frames.tolist()},
            "motion": self._motion.state_dict(),
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (replaces all current tracks)."""
        self.reset()
        q = state["queue"]
        k = self.layout.num_keypoints
        self._queue = PoseQueue(np.asarray(q["keypoints"], np.float32).reshape(-1, k, 2),
                                np.asarray(q["keypoint_scores"], np.float32).reshape(-1, k),
                                np.asarray(q["areas"], np.float64).reshape(-1),
                                np.asarray(q["box_scores"], np.float32).reshape(-1),
                                np.asarray(q["track_ids"], np.int64).reshape(-1),
                                np.asarray(q["frames"], np.int64).reshape(-1))
        self._next_id = int(state["next_id"])
        self._last_frame = None if state["last_frame"] is None else int(state["last_frame"])
        self._propagated = bool(state["propagated"])
        self._motion.load_state_dict(state["motion"])

    @property
    def active_ids(self) -> np.ndarray:
        """(T,) int64 ids of the live tracks, ascending (the columns of :meth:`similarity`)."""
        return np.unique(self._queue.track_ids)

    @property
    def queue(self) -> PoseQueue:
        """The live tracks' recent poses, in the coordinates of the latest propagated frame."""
        return self._queue

    def propagate(self, flow: Optional[np.ndarray] = None) -> None:
        """Move the queue into the coming frame, once per frame, before :meth:`propose_boxes`.

        Args:
            flow: (H, W, 2) optical flow from the previous frame to the coming one, or None.
        """
        if self._propagated:
            raise RuntimeError("propagate() was already called for this frame; call update() first")
        q = self._queue
        self._queue = q.moved(self._motion.predict(q.track_ids, q.keypoints, flow))
        self._propagated = True

    def propose_boxes(self) -> Detections:
        """Boxes of the previous frame's poses, propagated and expanded (FlowTrack, Sec. 3.2).

        Unify them with the detector's boxes (``propagation.unify_boxes``) before pose
        estimation. Each box is scored like its source pose is rescored by the official
        code (``propagation.pose_scores``: box score x mean confident-joint score).
        """
        if not self._propagated:
            raise RuntimeError("call propagate(flow) for the coming frame before propose_boxes()")
        cfg = self.config
        last = self._queue.select(self._queue.frames == self._last_frame)
        boxes, valid = joint_boxes(last.keypoints, last.keypoint_scores, cfg.joint_score, cfg.box_expand)
        scores = pose_scores(last.box_scores, last.keypoint_scores, cfg.joint_score)
        return Detections(boxes[valid], scores[valid])

    def trackable(self, poses: Poses) -> Poses:
        """The poses the tracker follows: box score >= box_score and a joint above joint_score."""
        cfg = self.config
        keep = (poses.box_scores >= cfg.box_score) & (poses.keypoint_scores > cfg.joint_score).any(axis=1)
        return poses.select(keep)

    def retire(self, frame: int) -> None:
        """Drop queued poses older than Q frames; a track with none left ends."""
        old = frame - self._queue.frames > self.config.queue
        if old.any():
            before = self.active_ids
            self._queue = self._queue.select(~old)
            self._motion.forget(np.setdiff1d(before, self.active_ids))

    def similarity(self, poses: Poses) -> np.ndarray:
        """Flow-based pose similarity, shape (N poses, T live tracks), columns as :attr:`active_ids`.

        OKS between each pose and each queued (propagated) pose, over the joints confident
        in both, then the maximum over each track's queued poses.
        """
        q = self._queue
        ids, column = np.unique(q.track_ids, return_inverse=True)
        if len(poses) == 0 or len(q) == 0:
            return np.zeros((len(poses), len(ids)))
        t = self.config.joint_score
        mask = (poses.keypoint_scores > t)[:, None, :] & (q.keypoint_scores > t)[None, :, :]   # (N, E, K)
        oks = oks_matrix(poses.keypoints, q.keypoints, box_areas(poses.boxes), q.areas, self._sigmas, mask)
        order = np.argsort(column, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(column[order]) != 0])
        return np.maximum.reduceat(oks[:, order], starts, axis=1)

    def associate(self, poses: Poses) -> Matches:
        """Match poses (rows) to live tracks (columns of :meth:`similarity`)."""
        return match(self.similarity(poses), self.config.min_similarity, self.config.matching)

    def spawn(self, count: int) -> np.ndarray:
        """``count`` new track ids, (count,) int64."""
        ids = np.arange(self._next_id, self._next_id + count, dtype=np.int64)
        self._next_id += count
        return ids

    def _record(self, frame: int, poses: Poses, ids: np.ndarray) -> None:
        self._queue = self._queue.appended(frame, poses, ids)
        self._motion.observe(ids, poses.boxes)
        self._last_frame = frame
        self._propagated = False

    def update(self, frame: int, poses: Poses, flow: Optional[np.ndarray] = None) -> FrameResult:
        """Track one frame.

        Args:
            frame: frame index, greater than the previous call's.
            poses: the frame's poses (any scores; untrackable ones are left out).
            flow: (H, W, 2) flow from the previous frame, unless :meth:`propagate` was
                already called for this frame.

        Returns:
            The trackable poses with their track ids.
        """
        if self._last_frame is not None and frame <= self._last_frame:
            raise ValueError(f"frame {frame}: frames must come in increasing order (the last was {self._last_frame})")
        if poses.num_keypoints != self.layout.num_keypoints:
            raise ValueError(f"frame {frame}: poses have {poses.num_keypoints} keypoints, layout "
                             f"{self.layout.name!r} has {self.layout.num_keypoints}")
        if not self._propagated:
            self.propagate(flow)
        elif flow is not None:
            raise ValueError(f"frame {frame}: flow given to update() after propagate() already moved the queue")
        self.retire(frame)
        kept = self.trackable(poses)
        if len(kept) < len(poses):
            log.debug("frame %d: %d of %d poses below the score thresholds are not tracked",
                      frame, len(poses) - len(kept), len(poses))
        columns = self.active_ids
        matches = self.associate(kept)
        ids = np.empty(len(kept), np.int64)
        ids[matches.pairs[:, 0]] = columns[matches.pairs[:, 1]]
        ids[matches.unmatched_rows] = self.spawn(len(matches.unmatched_rows))
        self._record(frame, kept, ids)
        return FrameResult(frame=frame, poses=kept, track_ids=ids)
