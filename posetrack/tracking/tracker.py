"""Pose tracking: FlowTrack (Xiao et al., ECCV 2018, Sec. 3) and what we added to it.

Per frame k the tracker

1. **propagates** its queue — the poses of the live tracks seen in the last Q frames —
   into frame k: with the optical flow F(k-1 -> k) (the paper), or a Kalman prediction, or
   not at all (``motion``). Tracks that are *lost* (not seen in frame k-1) or *occluded*
   (their predicted box covered by a track nearer the camera, whose flow would drag them
   along) move with a track motion model instead (``lost_motion``, :mod:`posetrack.tracking.motion`:
   constant velocity of the box, compensated for the camera's pan and zoom);
2. **proposes boxes** from the propagated poses of frame k-1, at most one per live track,
   clipped to the frame (``propagation.propose_boxes``); the pipeline unifies them with the
   detector's boxes before pose estimation. A track continued by such boxes alone, with no
   detector box, stops proposing after ``max_propagated`` frames;
3. **associates** the new poses with the tracks: the similarity of a pose and a track is
   the largest OKS between the pose and the track's propagated poses in the queue (the
   paper's multi-frame flow-based pose similarity); a matcher from :mod:`posetrack.tracking.matching`
   pairs them (greedy, as in the paper). With ``cascade`` the tracks seen in frame k-1 first
   take the poses they clearly match, then every free track (lost ones included: their OKS
   tolerance grows with the time they were unseen, and they are gated by predicted
   position and scale) competes for the rest; poses scoring below ``start_score`` are
   matched last, to the tracks still free (ByteTrack's two thresholds);
4. **spawns** a new id for every unmatched pose that may start a track (box score at least
   ``start_score``, a detector box, not a duplicate of a tracked pose) and **retires**
   tracks: after Q frames unseen (the paper), or after ``max_lost`` seconds lost.

The ``flowtrack`` preset of ``configs/tracker.yaml`` (and ``TrackerConfig()``) is the paper;
the default preset adds the rest. Offline refinement of whole files is :mod:`posetrack.tracking.refine`.

Track ids start at 0 and count up per tracker; each :class:`PoseTracker` owns its
counter, ``reset()`` restarts it, and two trackers never share state. All state can be
saved and restored exactly (:meth:`PoseTracker.state_dict`).

Poses whose box score is below ``box_score`` or that have no joint above ``joint_score``
are not tracked: they are left out of the returned :class:`~posetrack.types.FrameResult`,
as are poses that may not start a track and matched none.

Example:
    >>> import numpy as np
    >>> from posetrack.keypoints import COCO
    >>> from posetrack.types import Poses
    >>> from posetrack.tracking.tracker import PoseTracker, load_tracking_config
    >>> tracker = PoseTracker(COCO, load_tracking_config()[0], fps=25.0, frame_size=(640, 360))
    >>> kp = np.random.default_rng(0).uniform(100, 200, (1, 17, 2))
    >>> poses = Poses(np.array([[90, 90, 210, 210]]), np.array([0.9]), kp, np.full((1, 17), 0.9))
    >>> tracker.update(0, poses).track_ids.tolist(), tracker.update(1, poses).track_ids.tolist()
    ([0], [0])
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from posetrack.boxes import box_areas, box_centres, box_iou, covered_fraction
from posetrack.keypoints import KeypointLayout
from posetrack.tracking.matching import Matches, match
from posetrack.tracking.motion import MOTIONS, STILL_CAMERA, TRACK_MOTIONS, camera_motion
from posetrack.oks import oks_matrix
from posetrack.tracking.propagation import propose_boxes
from posetrack.types import DEFAULT_FPS, Detections, FrameResult, Poses
from posetrack.tracking.config import (RefineConfig, TrackerConfig, default_preset, load_tracking_config,  # noqa: F401
                             preset_names)
from posetrack.tracking.state import check_state

__all__ = ["TrackerConfig", "RefineConfig", "PoseQueue", "PoseTracker", "load_tracking_config", "preset_names",
           "default_preset", "check_state"]

log = logging.getLogger(__name__)


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
    """Pose tracker over one video; feed frames in increasing order.

    Args:
        layout: the poses' keypoint layout (its OKS sigmas are used).
        config: thresholds and strategies (``TrackerConfig()`` is the paper's FlowTrack).
        fps: frames per second of the frame indices, to turn seconds (``max_lost``) into
            frames; None: 25.
        frame_size: (width, height) of the frames: proposals are clipped to it, and lost
            tracks predicted wholly outside it end. None: unknown.
    """

    def __init__(self, layout: KeypointLayout, config: TrackerConfig = TrackerConfig(),
                 fps: Optional[float] = None, frame_size: Optional[Tuple[int, int]] = None):
        self.layout = layout
        self.config = config
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else DEFAULT_FPS
        self.frame_size = None if frame_size is None else (int(frame_size[0]), int(frame_size[1]))
        self._sigmas = layout.sigma_array()
        self._max_lost = None if config.max_lost is None else max(1, int(round(config.max_lost * self.fps)))
        self._uses_model = config.max_lost is not None or config.occlusion is not None
        self.reset()

    def reset(self) -> None:
        """Forget every track and restart ids at 0 (call between videos)."""
        self._queue = PoseQueue.empty(self.layout.num_keypoints)
        self._motion = MOTIONS[self.config.motion]()
        self._next_id = 0
        self._last_frame: Optional[int] = None
        self._frame_now: Optional[int] = None
        self._propagated = False
        # The live tracks, one row each, ascending ids (the columns of similarity()).
        self._ids = np.zeros(0, np.int64)
        self._last_seen = np.zeros(0, np.int64)          # frame each track was last matched in
        self._unsupported = np.zeros(0, np.int64)        # consecutive frames continued by proposals alone
        self._hits = np.zeros(0, np.int64)               # frames it was matched in
        self._aspect = np.zeros(0)                       # width / height of its last box
        self._model = TRACK_MOTIONS[self.config.lost_motion]()

    # ------------------------------------------------------------ state

    def seed(self, results: Sequence[FrameResult]) -> None:
        """Continue from finished frames (a resumed run): their ids are kept, new ids follow them.

        The queue and the tracks are rebuilt from the frames as they were observed; the flow
        between those frames is not recomputed, so older poses are not propagated. For an
        exact resume use :meth:`state_dict` / :meth:`load_state_dict`.
        """
        self.reset()
        results = sorted(results, key=lambda r: r.frame)
        if not results:
            return
        untracked = [r.frame for r in results if len(r) and r.track_ids is None]
        if untracked:
            raise ValueError(f"frame {untracked[0]}: seed() needs tracked results (with track ids)")
        last = results[-1].frame
        window = self.config.queue if self._max_lost is None else max(self.config.queue, self._max_lost + 1)
        for r in results:
            if last - r.frame < window and len(r):
                if self._last_frame is not None and self._uses_model:
                    self._model.predict(r.frame - self._last_frame, STILL_CAMERA)
                self._record(r.frame, r.poses, r.track_ids, np.ones(len(r), bool))
        self._next_id = 1 + max((int(r.track_ids.max()) for r in results if len(r)), default=-1)
        self._last_frame = last

    def state_dict(self) -> Dict[str, Any]:
        """Everything the tracker knows, as JSON-ready data, for an exact resume.

        Floats are written as Python floats, which JSON round-trips exactly (float32
        values widen to float64 losslessly), so :meth:`load_state_dict` on a fresh
        tracker with the same layout, config, fps and frame size continues bit for bit as
        this one would.
        """
        q = self._queue
        return {
            "next_id": self._next_id,
            "last_frame": self._last_frame,
            "frame_now": self._frame_now,
            "propagated": self._propagated,
            "queue": {"keypoints": q.keypoints.tolist(), "keypoint_scores": q.keypoint_scores.tolist(),
                      "areas": q.areas.tolist(), "box_scores": q.box_scores.tolist(),
                      "track_ids": q.track_ids.tolist(), "frames": q.frames.tolist()},
            "motion": self._motion.state_dict(),
            "tracks": {"ids": self._ids.tolist(), "last_seen": self._last_seen.tolist(),
                       "unsupported": self._unsupported.tolist(), "hits": self._hits.tolist(),
                       "aspect": self._aspect.tolist(),
                       "model": self._model.state_dict()},
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (replaces all current tracks).

        Raises:
            FormatError: ``state`` is not a valid state for this tracker's layout
                (:func:`~posetrack.tracking.state.check_state`: structure, shapes, ranges);
                the tracker is left as it was.
        """
        check_state(state, self.layout.num_keypoints)
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
        self._frame_now = None if state.get("frame_now") is None else int(state["frame_now"])
        self._propagated = bool(state["propagated"])
        self._motion.load_state_dict(state["motion"])
        t = state["tracks"]
        self._ids = np.asarray(t["ids"], np.int64).reshape(-1)
        self._last_seen = np.asarray(t["last_seen"], np.int64).reshape(-1)
        self._unsupported = np.asarray(t["unsupported"], np.int64).reshape(-1)
        self._hits = np.asarray(t["hits"], np.int64).reshape(-1)
        self._aspect = np.asarray(t["aspect"], np.float64).reshape(-1)
        self._model.load_state_dict(t["model"])

    @property
    def active_ids(self) -> np.ndarray:
        """(T,) int64 ids of the live tracks (active and lost), ascending (the columns of :meth:`similarity`)."""
        return self._ids.copy()

    @property
    def lost_ids(self) -> np.ndarray:
        """(L,) int64 ids of the live tracks not seen in the latest frame."""
        return self._ids[self._last_seen != self._last_frame]

    @property
    def queue(self) -> PoseQueue:
        """The live tracks' recent poses, in the coordinates of the latest propagated frame."""
        return self._queue

    # ------------------------------------------------------------ predict

    def propagate(self, flow: Optional[np.ndarray] = None, frame: Optional[int] = None,
                  image: Optional[np.ndarray] = None) -> None:
        """Move the queue into the coming frame, once per frame, before :meth:`propose_boxes`.

        Args:
            flow: (H, W, 2) optical flow from the previous frame to the coming one, or None.
            frame: the coming frame's index (None: the previous one plus 1), for the motion
                model's time step.
            image: (H, W, 3) uint8, the previous frame (where the flow starts): the camera's
                motion is measured only where it has texture. None: everywhere.
        """
        if self._propagated:
            raise RuntimeError("propagate() was already called for this frame; call update() first")
        last = self._last_frame
        self._frame_now = frame if frame is not None else (0 if last is None else last + 1)
        q = self._queue
        moved = self._motion.predict(q.track_ids, q.keypoints, flow)
        if self._uses_model and len(self._ids):
            dt = max(1, self._frame_now - last) if last is not None else 1
            moved = self._move_with_model(q, moved, flow, dt, image)
        self._queue = q.moved(moved)
        self._propagated = True

    def _move_with_model(self, q: PoseQueue, moved: np.ndarray, flow: Optional[np.ndarray], dt: int,
                         image: Optional[np.ndarray]) -> np.ndarray:
        """Predict every track's box; lost and occluded tracks' queued poses follow it, not the flow."""
        seen = self._last_seen == self._last_frame
        camera = STILL_CAMERA
        if self.config.camera_motion and flow is not None:
            camera = camera_motion(flow, self._model.boxes(self._aspect)[seen], image=image)
            if camera is None:                                   # a flat background: ask the people
                camera = self._camera_from_people(q, moved, seen, dt)
        before = self._model.x[:, :3].copy()
        self._model.predict(dt, camera)
        after = self._model.x[:, :3]
        use = np.ones(len(self._ids), bool) if flow is None else ~seen | self._occluded(seen)
        if not use.any():
            return moved
        row = np.searchsorted(self._ids, q.track_ids)
        ratio = np.clip(after[:, 2] / np.maximum(before[:, 2], 1.0), 0.5, 2.0)
        by_model = after[row, None, :2] + (q.keypoints - before[row, None, :2]) * ratio[row, None, None]
        return np.where(use[row, None, None], by_model, moved).astype(np.float32)

    def _camera_from_people(self, q: PoseQueue, moved: np.ndarray, seen: np.ndarray, dt: int) -> np.ndarray:
        """The camera's pan where the background cannot show it: the median, over established
        tracks seen in the previous frame, of their flow displacement minus their own velocity.

        Each such person moves by the camera's pan plus their own motion (the filter's
        velocity, in camera-compensated coordinates); what they share is the camera's.
        """
        newest = q.frames == self._last_frame
        row = np.searchsorted(self._ids, q.track_ids[newest])
        sure = self._hits[row] >= max(self.config.min_hits, 2)
        if not sure.any():
            return STILL_CAMERA
        conf = q.keypoint_scores[newest][sure] > self.config.joint_score                  # (S, K)
        shift = np.where(conf[..., None], moved[newest][sure] - q.keypoints[newest][sure], np.nan)
        with np.errstate(all="ignore"):
            own = np.nanmedian(shift, axis=1) - dt * self._model.x[row[sure], 3:5]          # (S, 2)
        own = own[np.isfinite(own).all(1)]
        return STILL_CAMERA if not len(own) else np.r_[1.0, np.median(own, axis=0)]

    def _occluded(self, seen: np.ndarray) -> np.ndarray:
        """(T,) bool: tracks whose predicted box a track seen in the previous frame, nearer the
        camera (its box reaches lower in the frame), covers by at least ``occlusion``."""
        if self.config.occlusion is None or seen.sum() == 0:
            return np.zeros(len(self._ids), bool)
        boxes = self._model.boxes(self._aspect)
        cover = covered_fraction(boxes, boxes[seen])                          # (T, S)
        nearer = boxes[seen][None, :, 3] > boxes[:, None, 3]
        cover = np.where(nearer & (self._ids[:, None] != self._ids[seen][None]), cover, 0.0)
        return cover.max(1) >= self.config.occlusion

    def propose_boxes(self, frame_size: Optional[Tuple[int, int]] = None) -> Detections:
        """Boxes of the previous frame's poses, propagated and expanded (FlowTrack, Sec. 3.2).

        At most one box per live track: the tracks seen in the previous frame, except those
        continued by proposals alone for ``max_propagated`` frames. Boxes are clipped to
        ``frame_size`` (or the tracker's) and scored like their source pose is rescored by
        the official code (``propagation.pose_scores``, in [0, 1]). Unify them with the
        detector's boxes (``propagation.unify_boxes``) before pose estimation.
        """
        if not self._propagated:
            raise RuntimeError("call propagate(flow) for the coming frame before propose_boxes()")
        cfg = self.config
        last = self._queue.frames == self._last_frame
        if cfg.max_propagated is not None and len(self._ids):
            tired = self._ids[self._unsupported >= cfg.max_propagated]
            last &= ~np.isin(self._queue.track_ids, tired)
        q = self._queue.select(last)
        proposals, _ = propose_boxes(q.keypoints, q.keypoint_scores, q.box_scores, cfg.joint_score, cfg.box_expand,
                                     frame_size or self.frame_size)
        return proposals

    # ------------------------------------------------------------ retire

    def retire(self, frame: int) -> None:
        """Drop queued poses older than Q frames and end tracks.

        FlowTrack (``max_lost`` None): a track with no queued pose left ends. Otherwise a
        track keeps its newest pose while lost, and ends when unseen for more than
        ``max_lost`` seconds (Q frames while it has fewer than ``min_hits`` matches) or
        predicted wholly outside the frame.
        """
        q = self._queue
        old = frame - q.frames > self.config.queue
        if self._max_lost is not None and len(self._ids):
            row = np.searchsorted(self._ids, q.track_ids)
            old &= q.frames != self._last_seen[row]
            unseen = frame - self._last_seen
            gone = (unseen > self._max_lost) | ((self._hits < self.config.min_hits) & (unseen > self.config.queue))
            if self.frame_size is not None:
                gone |= self._outside(self._model.boxes(self._aspect))
            old |= gone[row]
        if not old.any():
            return
        before = self._ids
        self._queue = q.select(~old)
        keep = np.isin(self._ids, self._queue.track_ids)
        self._keep_tracks(keep)
        self._motion.forget(before[~keep])

    def _outside(self, boxes: np.ndarray) -> np.ndarray:
        w, h = self.frame_size
        return (boxes[:, 2] <= 0) | (boxes[:, 0] >= w) | (boxes[:, 3] <= 0) | (boxes[:, 1] >= h)

    def _keep_tracks(self, keep: np.ndarray) -> None:
        self._ids, self._last_seen = self._ids[keep], self._last_seen[keep]
        self._unsupported, self._aspect = self._unsupported[keep], self._aspect[keep]
        self._hits = self._hits[keep]
        self._model.select(keep)

    # ------------------------------------------------------------ associate

    def trackable(self, poses: Poses) -> Poses:
        """The poses the tracker follows: box score >= box_score and a joint above joint_score."""
        return poses.select(self._trackable_mask(poses))

    def _trackable_mask(self, poses: Poses) -> np.ndarray:
        cfg = self.config
        return (poses.box_scores >= cfg.box_score) & (poses.keypoint_scores > cfg.joint_score).any(axis=1)

    def _lost_seconds(self) -> np.ndarray:
        """(T,) seconds each track has been unseen, beyond the one frame every step spans."""
        now = self._frame_now if self._frame_now is not None else (self._last_frame or 0) + 1
        return np.maximum(now - self._last_seen - 1, 0) / self.fps

    def similarity(self, poses: Poses) -> np.ndarray:
        """Flow-based pose similarity, shape (N poses, T live tracks), columns as :attr:`active_ids`.

        OKS between each pose and each queued (propagated) pose, over the joints confident
        in both, then the maximum over each track's queued poses. A lost track's tolerance
        grows with the time it was unseen (``lost_growth``), and a pose outside its gate of
        predicted position and scale gets similarity 0.
        """
        q = self._queue
        n, t = len(poses), len(self._ids)
        if n == 0 or len(q) == 0:
            return np.zeros((n, t))
        column = np.searchsorted(self._ids, q.track_ids)
        thr = self.config.joint_score
        mask = (poses.keypoint_scores > thr)[:, None, :] & (q.keypoint_scores > thr)[None, :, :]   # (N, E, K)
        extra = None
        lost = self._lost_seconds() if self._uses_model else np.zeros(t)
        if self._uses_model and self.config.lost_growth > 0 and lost.any():
            extra = (self.config.lost_growth * lost * self._model.x[:, 2])[column] ** 2
        oks = oks_matrix(poses.keypoints, q.keypoints, box_areas(poses.boxes), q.areas, self._sigmas, mask, extra)
        order = np.argsort(column, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(column[order]) != 0])
        sim = np.zeros((n, t))
        sim[:, column[order][starts]] = np.maximum.reduceat(oks[:, order], starts, axis=1)
        if lost.any():
            sim = np.where(self._gate(poses, lost), sim, 0.0)
        return sim

    def _gate(self, poses: Poses, lost: np.ndarray) -> np.ndarray:
        """(N, T) bool: pose within a lost track's predicted position and scale (always True for others)."""
        cfg = self.config
        pred = self._model.x
        h = np.maximum(pred[:, 2], 1.0)
        dist = np.linalg.norm(box_centres(poses.boxes)[:, None] - pred[None, :, :2], axis=2)
        reach = (cfg.lost_gate + cfg.lost_growth * lost) * h
        ph = np.maximum(poses.boxes[:, 3] - poses.boxes[:, 1], 1.0)[:, None]
        ratio = np.maximum(ph / h[None], h[None] / ph)
        return (lost[None] == 0) | ((dist <= reach[None]) & (ratio <= cfg.lost_scale))

    def associate(self, poses: Poses, high: Optional[np.ndarray] = None) -> Matches:
        """Match poses (rows) to live tracks (columns of :meth:`similarity`).

        With ``cascade``, the tracks seen in the previous frame first take the poses they
        match with at least that similarity; then all free tracks (those, and the lost ones)
        and free poses are matched together; poses not ``high`` (below ``start_score``) are
        matched last, to the tracks still free.
        """
        cfg = self.config
        sim = self.similarity(poses)
        n, t = sim.shape
        high = np.ones(n, bool) if high is None else high
        everyone = np.ones(t, bool)
        stages = [(high, everyone, cfg.min_similarity)]
        if cfg.cascade is not None:
            stages.insert(0, (high, self._last_seen == self._last_frame, max(cfg.cascade, cfg.min_similarity)))
        if not high.all():
            stages.append((~high, everyone, cfg.min_similarity))
        pairs = []
        row_free, col_free = np.ones(n, bool), np.ones(t, bool)
        for rows, cols, threshold in stages:
            r, c = np.flatnonzero(rows & row_free), np.flatnonzero(cols & col_free)
            if not len(r) or not len(c):
                continue
            m = match(sim if len(r) == n and len(c) == t else sim[np.ix_(r, c)], threshold, cfg.matching)
            if len(m.pairs):
                pairs.append(np.stack([r[m.pairs[:, 0]], c[m.pairs[:, 1]]], 1))
                row_free[pairs[-1][:, 0]] = False
                col_free[pairs[-1][:, 1]] = False
        return Matches.from_pairs(np.concatenate(pairs) if pairs else np.zeros((0, 2)), n, t)

    def spawn(self, count: int) -> np.ndarray:
        """``count`` new track ids, (count,) int64."""
        ids = np.arange(self._next_id, self._next_id + count, dtype=np.int64)
        self._next_id += count
        return ids

    # ------------------------------------------------------------ update

    def _record(self, frame: int, poses: Poses, ids: np.ndarray, detected: np.ndarray) -> None:
        self._queue = self._queue.appended(frame, poses, ids)
        self._motion.observe(ids, poses.boxes)
        b = poses.boxes.astype(np.float64)
        h = np.maximum(b[:, 3] - b[:, 1], 1.0)
        z = np.c_[box_centres(b), h]
        aspect = (b[:, 2] - b[:, 0]) / h
        row = np.searchsorted(self._ids, ids)
        old = (row < len(self._ids)) & (self._ids[np.minimum(row, max(len(self._ids) - 1, 0))] == ids) \
            if len(self._ids) else np.zeros(len(ids), bool)
        r = row[old]
        self._last_seen[r] = frame
        self._hits[r] += 1
        self._unsupported[r] = np.where(detected[old], 0, self._unsupported[r] + 1)
        self._aspect[r] = aspect[old]
        self._model.update(r, z[old])
        new = np.flatnonzero(~old)
        new = new[np.argsort(ids[new], kind="stable")]
        self._ids = np.r_[self._ids, ids[new]]
        self._last_seen = np.r_[self._last_seen, np.full(len(new), frame, np.int64)]
        self._hits = np.r_[self._hits, np.ones(len(new), np.int64)]
        self._unsupported = np.r_[self._unsupported, (~detected[new]).astype(np.int64)]
        self._aspect = np.r_[self._aspect, aspect[new]]
        self._model.add(z[new])
        if len(new) and len(self._ids) > len(new) and self._ids[-len(new) - 1] > self._ids[-len(new)]:
            self._keep_tracks(np.argsort(self._ids, kind="stable"))      # seeded ids out of order
        self._last_frame = frame
        self._propagated = False

    def update(self, frame: int, poses: Poses, flow: Optional[np.ndarray] = None,
               detected: Optional[np.ndarray] = None, image: Optional[np.ndarray] = None) -> FrameResult:
        """Track one frame.

        Args:
            frame: frame index, greater than the previous call's.
            poses: the frame's poses (any scores; untrackable ones are left out).
            flow: (H, W, 2) flow from the previous frame, unless :meth:`propagate` was
                already called for this frame.
            detected: (N,) bool, False for poses estimated in propagated boxes (no detector
                box): they never start a track unless ``proposals_start_tracks``. None: all
                detected.
            image: the previous frame, as for :meth:`propagate` (with ``flow``).

        Returns:
            The tracked poses with their ids, in input order.
        """
        if self._last_frame is not None and frame <= self._last_frame:
            raise ValueError(f"frame {frame}: frames must come in increasing order (the last was {self._last_frame})")
        if poses.num_keypoints != self.layout.num_keypoints:
            raise ValueError(f"frame {frame}: poses have {poses.num_keypoints} keypoints, layout "
                             f"{self.layout.name!r} has {self.layout.num_keypoints}")
        detected = np.ones(len(poses), bool) if detected is None else np.asarray(detected, bool).reshape(-1)
        if len(detected) != len(poses):
            raise ValueError(f"frame {frame}: {len(poses)} poses but {len(detected)} detected flags")
        if not self._propagated:
            self.propagate(flow, frame, image)
        elif flow is not None:
            raise ValueError(f"frame {frame}: flow given to update() after propagate() already moved the queue")
        self._frame_now = frame
        self.retire(frame)
        keep = self._trackable_mask(poses)
        kept, detected = poses.select(keep), detected[keep]
        if len(kept) < len(poses):
            log.debug("frame %d: %d of %d poses below the score thresholds are not tracked",
                      frame, len(poses) - len(kept), len(poses))
        high = kept.box_scores >= self.config.start_threshold
        matches = self.associate(kept, high)
        ids = np.full(len(kept), -1, np.int64)
        ids[matches.pairs[:, 0]] = self._ids[matches.pairs[:, 1]]
        starts = self._may_start(kept, matches, high, detected)
        ids[starts] = self.spawn(len(starts))
        out = ids >= 0
        self._record(frame, kept.select(out), ids[out], detected[out])
        return FrameResult(frame=frame, poses=kept.select(out), track_ids=ids[out])

    def _may_start(self, poses: Poses, matches: Matches, high: np.ndarray, detected: np.ndarray) -> np.ndarray:
        """Indices of unmatched poses that start tracks (score, detector box, not a duplicate)."""
        cfg = self.config
        rows = matches.unmatched_rows
        rows = rows[high[rows] & (detected[rows] | cfg.proposals_start_tracks)]
        if cfg.duplicate_iou is not None and len(rows) and len(matches.pairs):
            overlap = box_iou(poses.boxes[rows], poses.boxes[matches.pairs[:, 0]]).max(1)
            rows = rows[overlap <= cfg.duplicate_iou]
        return rows
