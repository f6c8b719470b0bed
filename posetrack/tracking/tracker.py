"""Pose tracking: FlowTrack (Xiao et al., ECCV 2018, Sec. 3) and what we added to it.

Per frame k the tracker

1. **cuts** (optional): at a scene cut (:mod:`posetrack.tracking.cuts`, decided by the
   caller from the frames) every track ends and nothing carries over;
2. **propagates** its queue — the poses of the live tracks seen in the last Q frames —
   into frame k: with the optical flow F(k-1 -> k) (the paper), or its box motion model, or
   not at all (``motion``). Tracks that are *lost* (not seen in frame k-1) or *occluded*
   (their predicted box covered by a track nearer the camera, whose flow would drag them
   along) move with their box motion model instead (:mod:`posetrack.tracking.motion`:
   constant velocity, compensated for the camera's pan and zoom), and so, in part, do tracks
   the flow cannot follow (too small, or forward and backward flow disagreeing:
   :func:`~posetrack.tracking.motion.flow_weights`);
3. **proposes boxes** from the propagated poses of frame k-1, at most one per live track,
   clipped to the frame (``propagation.propose_boxes``); the pipeline unifies them with the
   detector's boxes before pose estimation (:mod:`posetrack.tracking.step`);
4. **associates** the new poses with the tracks: cost terms (:mod:`posetrack.tracking.association`:
   FlowTrack's flow-based OKS, box IoU, appearance, gates) combined by the weights of
   ``costs`` into one similarity; near-duplicate poses are merged first (``duplicate_oks``);
   a matcher from :mod:`posetrack.tracking.matching` pairs them (greedy, as in the paper).
   Poses scoring below ``start_score`` are matched last, to the tracks still free (ByteTrack's
   two thresholds);
5. **spawns** an id for every unmatched pose that may start a track (box score at least
   ``start_score``, a detector box, not a duplicate of a tracked pose): the id of an ended
   track it looks like (re-identification, within ``reid_horizon`` seconds), else a new one
   (never more than ``max_tracks`` ids) — and **retires** tracks: after Q frames unseen (the
   paper), or after ``max_lost`` seconds lost, when they move to the gallery of ended tracks
   that re-identification searches.

The ``flowtrack`` preset of ``configs/tracker.yaml`` (and ``TrackerConfig()``) is the paper;
the default preset adds the rest. Offline refinement of whole files is :mod:`posetrack.tracking.refine`.

Every per-track field lives in one :class:`~posetrack.tracking.state.Table` (the tracks),
as do the queued poses and the gallery; track ids start at 0 and count up per tracker; each
:class:`PoseTracker` owns its counter, ``reset()`` restarts it, and two trackers never share
state. All state can be saved and restored exactly (:meth:`PoseTracker.state_dict`).

Poses whose box score is below ``box_score`` or that have no joint above ``joint_score``
are not tracked: they are left out of the returned :class:`~posetrack.types.FrameResult`,
as are merged duplicates and poses that may not start a track and matched none.

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
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from posetrack.boxes import box_areas, box_centres, box_iou, covered_fraction
from posetrack.keypoints import KeypointLayout
from posetrack.oks import oks_matrix
from posetrack.tracking import appearance as looks
from posetrack.tracking.association import TrackView, build_terms, similarity as combined_similarity
from posetrack.tracking.config import (RefineConfig, TrackerConfig, default_preset, load_tracking_config,  # noqa: F401
                                       preset_names)
from posetrack.tracking.flow import propagate_points, sample_flow
from posetrack.tracking.matching import Matches, match
from posetrack.tracking.motion import STILL_CAMERA, TRACK_MOTIONS, camera_motion, flow_weights
from posetrack.tracking.propagation import joint_boxes, propose_boxes
from posetrack.tracking.state import Column, Table, TrackerState, check_state
from posetrack.types import Detections, FrameResult, Poses

__all__ = ["TrackerConfig", "RefineConfig", "PoseTracker", "load_tracking_config", "preset_names",
           "default_preset", "check_state", "table_specs"]

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0


def table_specs(num_keypoints: int, motion: str = "kalman") -> Dict[str, Dict[str, Column]]:
    """The columns of a tracker's tables: "queue" (recent poses), "tracks" (live), "gallery" (ended).

    Args:
        num_keypoints: K of the layout.
        motion: the box motion model (its state columns are part of each track's row).
    """
    k, parts, ch = num_keypoints, len(looks.PARTS), looks.CHANNELS
    look = {"look": Column("float32", (parts, ch)), "look_weight": Column("float32", (parts,), 0.0)}
    queue = {"keypoints": Column("float32", (k, 2)), "keypoint_scores": Column("float32", (k,)),
             "areas": Column("float64", (), 0.0), "box_scores": Column("float32"),
             "track_ids": Column("int64", (), 0), "frames": Column("int64", (), 0)}
    tracks = {"ids": Column("int64", (), 0), "first_seen": Column("int64", (), 0),
              "last_seen": Column("int64", (), 0), "unsupported": Column("int64", (), 0),
              "hits": Column("int64", (), 0), "aspect": Column("float64", (), 0.0),
              "box": Column("float64", (4,)), **TRACK_MOTIONS[motion].columns, **look}
    gallery = {"ids": Column("int64", (), 0), "last_seen": Column("int64", (), 0), "hits": Column("int64", (), 0),
               "box": Column("float64", (4,)), "velocity": Column("float64", (2,)), **look}
    return {"queue": queue, "tracks": tracks, "gallery": gallery}


# ---------------------------------------------------------------- the tracker

class PoseTracker:
    """Pose tracker over one video; feed frames in increasing order.

    Args:
        layout: the poses' keypoint layout (its OKS sigmas are used).
        config: thresholds and strategies (``TrackerConfig()`` is the paper's FlowTrack).
        fps: frames per second of the frame indices, to turn seconds (``max_lost``,
            ``reid_horizon``) into frames; None: 25.
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
        self._specs = table_specs(layout.num_keypoints, config.lost_motion)
        self._max_lost = None if config.max_lost is None else max(1, int(round(config.max_lost * self.fps)))
        self._horizon = None if config.reid_horizon is None else max(1, int(round(config.reid_horizon * self.fps)))
        self._uses_model = config.max_lost is not None or config.occlusion is not None or config.motion == "kalman"
        self._terms = build_terms(config, layout)
        self._motion = TRACK_MOTIONS[config.lost_motion]()
        self.reset()

    @property
    def uses_appearance(self) -> bool:
        """Whether :meth:`update` wants colour descriptors of the poses (``appearance=``)."""
        c = self.config
        return c.costs.get("appearance", 0) > 0 or c.reid_horizon is not None or c.max_tracks is not None

    def reset(self) -> None:
        """Forget every track and restart ids at 0 (call between videos)."""
        self._queue = Table.empty(self._specs["queue"])
        self._tracks = Table.empty(self._specs["tracks"])
        self._gallery = Table.empty(self._specs["gallery"])
        self._next_id = 0
        self._last_frame: Optional[int] = None
        self._frame_now: Optional[int] = None
        self._propagated = False
        self._cuts: List[int] = []

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
                    self._tracks = self._motion.predict(self._tracks, r.frame - self._last_frame, STILL_CAMERA)
                self._record(r.frame, r.poses, r.track_ids, np.ones(len(r), bool), None)
        self._next_id = 1 + max((int(r.track_ids.max()) for r in results if len(r)), default=-1)
        self._last_frame = last

    def state_dict(self) -> Dict[str, Any]:
        """Everything the tracker knows, as JSON-ready data, for an exact resume.

        Floats are written as Python floats, which JSON round-trips exactly (float32
        values widen to float64 losslessly), so :meth:`load_state_dict` on a fresh
        tracker with the same layout, config, fps and frame size continues bit for bit as
        this one would. The format is :class:`~posetrack.tracking.state.TrackerState`.
        """
        return TrackerState(self._next_id, self._last_frame, self._frame_now, self._propagated, self._queue,
                            self._tracks, self._gallery, tuple(self._cuts)).encode()

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (replaces all current tracks).

        Raises:
            FormatError: ``state`` is not a valid state for this tracker
                (:meth:`~posetrack.tracking.state.TrackerState.decode`: structure, shapes, ranges);
                the tracker is left as it was.
        """
        s = TrackerState.decode(state, self._specs)
        self._queue, self._tracks, self._gallery = s.queue, s.tracks, s.gallery
        self._next_id, self._last_frame, self._frame_now = s.next_id, s.last_frame, s.frame_now
        self._propagated, self._cuts = s.propagated, list(s.cuts)

    @property
    def active_ids(self) -> np.ndarray:
        """(T,) int64 ids of the live tracks (active and lost), ascending."""
        return self._tracks.ids.copy()

    @property
    def lost_ids(self) -> np.ndarray:
        """(L,) int64 ids of the live tracks not seen in the latest frame."""
        return self._tracks.ids[self._tracks.last_seen != self._last_frame]

    @property
    def queue(self) -> Table:
        """The live tracks' recent poses (columns keypoints, keypoint_scores, areas, box_scores,
        track_ids, frames), in the coordinates of the latest propagated frame."""
        return self._queue

    @property
    def cuts(self) -> Tuple[int, ...]:
        """Frames at which :meth:`cut` ended every track, ascending."""
        return tuple(self._cuts)

    # ------------------------------------------------------------ cut

    def cut(self, frame: int) -> None:
        """A scene cut before ``frame``: every track ends, nothing carries over (ids keep counting).

        The gallery of ended tracks is emptied too: people of another shot are not re-identified
        across a cut.
        """
        if self._last_frame is not None and frame <= self._last_frame:
            raise ValueError(f"frame {frame}: a cut must come after the last tracked frame ({self._last_frame})")
        if self._propagated:
            raise RuntimeError("cut() must come before propagate() for the frame")
        next_id, cuts = self._next_id, self._cuts + [int(frame)]
        last = self._last_frame
        self.reset()
        self._next_id, self._cuts, self._last_frame = next_id, cuts, last

    # ------------------------------------------------------------ predict

    def propagate(self, flow: Optional[np.ndarray] = None, frame: Optional[int] = None,
                  image: Optional[np.ndarray] = None, backward_flow: Optional[np.ndarray] = None) -> None:
        """Move the queue into the coming frame, once per frame, before :meth:`propose_boxes`.

        Args:
            flow: (H, W, 2) optical flow from the previous frame to the coming one, or None.
            frame: the coming frame's index (None: the previous one plus 1), for the motion
                model's time step.
            image: (H, W, 3) uint8, the previous frame (where the flow starts): the camera's
                motion is measured only where it has texture. None: everywhere.
            backward_flow: (H, W, 2) flow from the coming frame back to the previous one, or
                None: where the two disagree at a track's joints, the track trusts its motion
                model more (``flow_check``).
        """
        if self._propagated:
            raise RuntimeError("propagate() was already called for this frame; call update() first")
        last = self._last_frame
        self._frame_now = frame if frame is not None else (0 if last is None else last + 1)
        q = self._queue
        moved = q.keypoints if flow is None or self.config.motion != "flow" else propagate_points(flow, q.keypoints)
        if self._uses_model and len(self._tracks):
            dt = max(1, self._frame_now - last) if last is not None else 1
            moved = self._move_with_model(q, moved, flow, dt, image, backward_flow)
        self._queue = q.with_values(keypoints=moved)
        self._propagated = True

    def _move_with_model(self, q: Table, moved: np.ndarray, flow: Optional[np.ndarray], dt: int,
                         image: Optional[np.ndarray], backward: Optional[np.ndarray]) -> np.ndarray:
        """Predict every track's box; lost, occluded and (in part) badly-flowed tracks' queued poses follow it."""
        cfg = self.config
        tracks = self._tracks
        seen = tracks.last_seen == self._last_frame
        camera = STILL_CAMERA
        if cfg.camera_motion and flow is not None:
            camera = camera_motion(flow, self._motion.boxes(tracks, tracks.aspect)[seen], image=image)
            if camera is None:                                   # a flat background: ask the people
                camera = self._camera_from_people(q, moved, seen, dt)
        before = np.c_[self._motion.centres(tracks), self._motion.heights(tracks)]
        self._tracks = tracks = self._motion.predict(tracks, dt, camera)
        after = np.c_[self._motion.centres(tracks), self._motion.heights(tracks)]
        weight = self._flow_weight(q, seen, flow, backward)          # (T,) 1: flow, 0: model
        row = np.searchsorted(tracks.ids, q.track_ids)
        ratio = np.clip(after[:, 2] / np.maximum(before[:, 2], 1.0), 0.5, 2.0)
        by_model = after[row, None, :2] + (q.keypoints - before[row, None, :2]) * ratio[row, None, None]
        w = weight[row, None, None]
        return (w * moved + (1 - w) * by_model).astype(np.float32)

    def _flow_weight(self, q: Table, seen: np.ndarray, flow: Optional[np.ndarray],
                     backward: Optional[np.ndarray]) -> np.ndarray:
        """(T,) how far each track follows the flow (1) rather than its motion model (0)."""
        cfg = self.config
        tracks = self._tracks
        if flow is None or cfg.motion != "flow":
            return np.zeros(len(tracks))
        weight = (seen & ~self._occluded(seen)).astype(np.float64)
        if cfg.flow_min_height is None or not weight.any():
            return weight
        errors = self._fb_errors(q, flow, backward) if backward is not None and cfg.flow_check else None
        return weight * flow_weights(tracks.box[:, 3] - tracks.box[:, 1], errors, cfg.flow_min_height,
                                     cfg.flow_full_height, cfg.flow_fb_tolerance)

    def _fb_errors(self, q: Table, flow: np.ndarray, backward: np.ndarray) -> np.ndarray:
        """(T,) median forward-backward flow error (pixels) at each track's newest confident joints."""
        tracks = self._tracks
        newest = q.frames == self._last_frame
        if not newest.any():
            return np.full(len(tracks), np.nan)
        kp = q.keypoints[newest]
        there = kp + sample_flow(flow, kp)
        back = there + sample_flow(backward, there)
        err = np.linalg.norm(back - kp, axis=-1)                                          # (S, K)
        err = np.where(q.keypoint_scores[newest] > self.config.joint_score, err, np.nan)
        out = np.full(len(tracks), np.nan)
        with np.errstate(all="ignore"):
            per_pose = np.nanmedian(err, axis=1)
        out[np.searchsorted(tracks.ids, q.track_ids[newest])] = per_pose
        return out

    def _camera_from_people(self, q: Table, moved: np.ndarray, seen: np.ndarray, dt: int) -> np.ndarray:
        """The camera's pan where the background cannot show it: the median, over established
        tracks seen in the previous frame and not hidden, of their flow displacement minus their
        own velocity.

        Each such person moves by the camera's pan plus their own motion (the filter's
        velocity, in camera-compensated coordinates); what they share is the camera's. A
        hidden person's flow is their occluder's, so they are left out; and where the people
        disagree by more than a tenth of their height the pan is unknown (taken as still).
        """
        newest = q.frames == self._last_frame
        row = np.searchsorted(self._tracks.ids, q.track_ids[newest])
        usable = (self._tracks.hits >= max(self.config.min_hits, 2)) & ~self._occluded(seen)
        sure = usable[row]
        if not sure.any():
            return STILL_CAMERA
        conf = q.keypoint_scores[newest][sure] > self.config.joint_score                  # (S, K)
        shift = np.where(conf[..., None], moved[newest][sure] - q.keypoints[newest][sure], np.nan)
        with np.errstate(all="ignore"):
            own = np.nanmedian(shift, axis=1) - dt * self._motion.velocities(self._tracks)[row[sure]]   # (S, 2)
        finite = np.isfinite(own).all(1)
        own = own[finite]
        if not len(own):
            return STILL_CAMERA
        spread = np.ptp(own, axis=0).max() if len(own) > 1 else 0.0
        if spread > 0.1 * np.median(self._motion.heights(self._tracks)[row[sure]][finite]):
            return STILL_CAMERA
        return np.r_[1.0, np.median(own, axis=0)]

    def _occluded(self, seen: np.ndarray) -> np.ndarray:
        """(T,) bool: tracks whose predicted box a track seen in the previous frame, nearer the
        camera (its box reaches lower in the frame), covers by at least ``occlusion``."""
        if self.config.occlusion is None or seen.sum() == 0:
            return np.zeros(len(self._tracks), bool)
        tracks = self._tracks
        boxes = self._motion.boxes(tracks, tracks.aspect)
        cover = covered_fraction(boxes, boxes[seen])                          # (T, S)
        nearer = boxes[seen][None, :, 3] > boxes[:, None, 3]
        cover = np.where(nearer & (tracks.ids[:, None] != tracks.ids[seen][None]), cover, 0.0)
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
        if cfg.max_propagated is not None and len(self._tracks):
            tired = self._tracks.ids[self._tracks.unsupported >= cfg.max_propagated]
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
        predicted wholly outside the frame. An ended track seen in at least ``min_hits``
        frames joins the gallery (with ``reid_horizon``), where it stays that many seconds.
        """
        q, tracks = self._queue, self._tracks
        old = frame - q.frames > self.config.queue
        gone = np.zeros(len(tracks), bool)
        if self._max_lost is not None and len(tracks):
            row = np.searchsorted(tracks.ids, q.track_ids)
            old &= q.frames != tracks.last_seen[row]
            unseen = frame - tracks.last_seen
            gone = (unseen > self._max_lost) | ((tracks.hits < self.config.min_hits) & (unseen > self.config.queue))
            if self.frame_size is not None:
                gone |= self._outside(self._motion.boxes(tracks, tracks.aspect))
            old |= gone[row]
        self._expire_gallery(frame)
        if not old.any():
            return
        self._queue = q.select(~old)
        keep = np.isin(tracks.ids, self._queue.track_ids)
        self._remember(~keep & (tracks.hits >= max(self.config.min_hits, 1)))
        self._tracks = tracks.select(keep)

    def _remember(self, ended: np.ndarray) -> None:
        """Ended tracks (a mask over the tracks) join the gallery: for re-identification
        (``reid_horizon``), and, with ``max_tracks``, as the identities a newcomer may take."""
        if (self._horizon is None and self.config.max_tracks is None) or not ended.any():
            return
        t = self._tracks.select(ended)
        if self.config.max_tracks is None:
            t = t.select(t.look_weight.sum(1) > 0)                       # re-identification needs colours
        if not len(t):
            return
        gallery = self._gallery.append(ids=t.ids, last_seen=t.last_seen, hits=t.hits, box=t.box,
                                       velocity=self._motion.velocities(t), look=t.look, look_weight=t.look_weight)
        self._gallery = gallery.select(np.argsort(gallery.ids, kind="stable"))

    def _expire_gallery(self, frame: int) -> None:
        if self._horizon is not None and len(self._gallery):
            self._gallery = self._gallery.select(frame - self._gallery.last_seen <= self._horizon)

    def _outside(self, boxes: np.ndarray) -> np.ndarray:
        w, h = self.frame_size
        return (boxes[:, 2] <= 0) | (boxes[:, 0] >= w) | (boxes[:, 3] <= 0) | (boxes[:, 1] >= h)

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
        return np.maximum(now - self._tracks.last_seen - 1, 0) / self.fps

    def view(self) -> TrackView:
        """What the cost terms see of the live tracks (in this frame, after :meth:`propagate`)."""
        tracks, q = self._tracks, self._queue
        lost = self._lost_seconds() if self._uses_model else np.zeros(len(tracks))
        boxes = self._motion.boxes(tracks, tracks.aspect) if self._uses_model else tracks.box
        look = looks.Appearance(tracks.look, tracks.look_weight) if self.uses_appearance else None
        return TrackView(tracks.ids, q.keypoints, q.keypoint_scores, q.areas, np.searchsorted(tracks.ids, q.track_ids),
                         boxes, np.maximum(boxes[:, 3] - boxes[:, 1], 1.0), lost,
                         self._motion.position_covariance(tracks), look)

    def similarity(self, poses: Poses, appearance: Optional[looks.Appearance] = None) -> np.ndarray:
        """Combined similarity, shape (N poses, T live tracks), columns as :attr:`active_ids`.

        The weighted cost terms of ``costs`` (:mod:`posetrack.tracking.association`); for
        FlowTrack the largest OKS between each pose and each track's propagated queued poses.
        An impossible pair (a gate) is -inf.
        """
        return combined_similarity(self._terms, self.view(), poses, appearance)

    def _duplicates(self, poses: Poses) -> np.ndarray:
        """(N, N) bool: which poses of one frame are near-duplicates of each other: OKS (over the
        joints confident in both) of at least ``duplicate_oks``, or boxes overlapping by IoU of at
        least ``duplicate_box_iou``. Two people standing close overlap by IoU 0.4-0.7 and their
        poses differ; one person's two poses agree to a few pixels."""
        cfg = self.config
        conf = poses.keypoint_scores > cfg.joint_score
        areas = box_areas(poses.boxes)
        oks = oks_matrix(poses.keypoints, poses.keypoints, areas, areas, self._sigmas, conf[:, None] & conf[None])
        same = (oks >= cfg.duplicate_oks) | (box_iou(poses.boxes, poses.boxes) >= cfg.duplicate_box_iou)
        np.fill_diagonal(same, False)
        return same

    def _unique(self, poses: Poses, sim: np.ndarray, same: np.ndarray) -> np.ndarray:
        """Indices (ascending) of the poses left after merging near-duplicates, before association.

        Near-duplicates (:meth:`_duplicates`) form groups; a group keeps its best-scored poses,
        as many as the established tracks (seen ``min_hits`` times) that match any of its poses,
        and at least one: two people walking into each other keep both their poses, one
        person's two poses keep the better one.
        """
        n = len(poses)
        cfg = self.config
        if cfg.duplicate_oks is None or n < 2:
            return np.arange(n)
        linked = same.copy()
        np.fill_diagonal(linked, True)
        if linked.sum() == n:
            return np.arange(n)
        cluster = _components(linked)
        established = self._tracks.hits >= max(cfg.min_hits, 1)
        wanted = (sim >= cfg.min_similarity) & established[None] if sim.size else np.zeros((n, 0), bool)
        keep = np.zeros(n, bool)
        for c in np.unique(cluster):
            members = np.flatnonzero(cluster == c)
            people = int(wanted[members].any(0).sum()) if wanted.size else 0
            order = members[np.lexsort((members, -poses.box_scores[members]))]
            keep[order[:max(1, min(len(members), people))]] = True
        return np.flatnonzero(keep)

    def _tracked_duplicates(self, poses: Poses, matches: Matches, sim: np.ndarray, same: np.ndarray) -> np.ndarray:
        """(N, P) bool: unmatched pose i is a near-duplicate of the pose of match k: by
        :meth:`_duplicates`, or because the matched track wants it too (similarity at least
        ``min_similarity``) and its box overlaps the matched pose's by more than ``nms_iou``
        (FlowTrack's "same person" overlap). Matched rows are all False."""
        r, c = matches.pairs[:, 0], matches.pairs[:, 1]
        overlap = box_iou(poses.boxes, poses.boxes[r]) > self.config.nms_iou
        dup = same[:, r] | ((sim[:, c] >= self.config.min_similarity) & overlap)
        dup[r] = False
        return dup

    def _best_of_duplicates(self, poses: Poses, matches: Matches, sim: np.ndarray, dup: np.ndarray) -> Matches:
        """A track whose pose has an unmatched near-duplicate with a higher box score takes that
        one instead (keeping the best one of a person's poses)."""
        if not len(matches.pairs) or not dup.any():
            return matches
        pairs = matches.pairs.copy()
        taken = set(pairs[:, 0].tolist())
        for k, (r, c) in enumerate(matches.pairs):
            better = [u for u in np.flatnonzero(dup[:, k]) if u not in taken and poses.box_scores[u] > poses.box_scores[r]
                      and sim[u, c] >= self.config.min_similarity]
            if better:
                u = max(better, key=lambda i: (poses.box_scores[i], -i))
                taken.discard(int(r))
                taken.add(int(u))
                pairs[k, 0] = u
        return Matches.from_pairs(pairs, *sim.shape)

    def associate(self, poses: Poses, high: Optional[np.ndarray] = None,
                  appearance: Optional[looks.Appearance] = None, sim: Optional[np.ndarray] = None) -> Matches:
        """Match poses (rows) to live tracks (columns of :meth:`similarity`).

        With ``cascade``, the tracks seen in the previous frame first take the poses they
        match with at least that similarity; then all free tracks (those, and the lost ones)
        and free poses are matched together; poses not ``high`` (below ``start_score``) are
        matched last, to the tracks still free.
        """
        cfg = self.config
        sim = self.similarity(poses, appearance) if sim is None else sim
        n, t = sim.shape
        high = np.ones(n, bool) if high is None else high
        everyone = np.ones(t, bool)
        stages = [(high, everyone, cfg.min_similarity)]
        if cfg.cascade is not None:
            stages.insert(0, (high, self._tracks.last_seen == self._last_frame, max(cfg.cascade, cfg.min_similarity)))
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

    def _fallback(self, poses: Poses, high: np.ndarray, matches: Matches, sim: np.ndarray) -> Matches:
        """Second chance for poses no track matched by pose (ByteTrack's IoU stage): a free track
        seen within the last Q frames takes a free pose whose joints' box overlaps its predicted
        box by IoU >= ``fallback_iou`` (an estimator's odd pose of someone turning or half hidden
        is still where that person is). Never a pair any cost term forbids."""
        rows = matches.unmatched_rows[high[matches.unmatched_rows]]
        tracks = self._tracks
        recent = (self._frame_now - tracks.last_seen) <= self.config.queue
        cols = matches.unmatched_cols[recent[matches.unmatched_cols]]
        if not len(rows) or not len(cols):
            return matches
        predicted = self._motion.boxes(tracks, tracks.aspect)[cols] if self._uses_model else tracks.box[cols]
        iou = box_iou(self._pose_boxes(poses.select(rows)), predicted)                     # (R, C)
        iou = np.where(np.isfinite(sim[np.ix_(rows, cols)]), iou, 0.0)
        extra = match(iou, self.config.fallback_iou, "greedy")
        if not len(extra.pairs):
            return matches
        pairs = np.stack([rows[extra.pairs[:, 0]], cols[extra.pairs[:, 1]]], 1)
        return Matches.from_pairs(np.concatenate([matches.pairs, pairs]), *sim.shape)

    def spawn(self, count: int) -> np.ndarray:
        """``count`` new track ids, (count,) int64."""
        ids = np.arange(self._next_id, self._next_id + count, dtype=np.int64)
        self._next_id += count
        return ids

    # ------------------------------------------------------------ re-identify

    def _new_ids(self, poses: Poses, rows: np.ndarray, appearance: Optional[looks.Appearance],
                 taken: np.ndarray) -> np.ndarray:
        """Ids for the unmatched poses ``rows`` that start tracks: re-identified, else new.

        Returns (len(rows),) int64, -1 for a pose that gets none (``max_tracks`` reached and
        no free identity it could be).
        """
        ids = np.full(len(rows), -1, np.int64)
        if appearance is not None and self._horizon is not None and len(self._gallery) and len(rows):
            ids = self._reidentify(poses, rows, appearance)
        fresh = np.flatnonzero(ids < 0)
        cap = self.config.max_tracks
        if cap is None:
            ids[fresh] = self.spawn(len(fresh))
            return ids
        room = max(0, cap - self._next_id)
        ids[fresh[:room]] = self.spawn(min(room, len(fresh)))
        rest = fresh[room:]
        if len(rest):
            ids[rest] = self._reuse(poses, rows[rest], appearance, np.r_[taken, ids[ids >= 0]])
        return ids

    def _reidentify(self, poses: Poses, rows: np.ndarray, appearance: looks.Appearance) -> np.ndarray:
        """Gallery ids for the poses ``rows`` that clearly look like an ended track, else -1.

        A pose takes an ended track's id when their colours are at least ``reid_similarity``
        alike, the next most alike ended track is at least ``reid_margin`` less so, and the
        track could have walked there since it was last seen (``reid_speed`` body heights per
        second); pairs are taken most alike first, each id once.
        """
        cfg = self.config
        g = self._gallery
        sim = looks.similarity(appearance.select(rows), looks.Appearance(g.look, g.look_weight))   # (R, G)
        sim = np.nan_to_num(sim, nan=0.0)
        h = np.maximum(g.box[:, 3] - g.box[:, 1], 1.0)
        gap = (self._frame_now - g.last_seen) / self.fps
        dist = np.linalg.norm(box_centres(poses.boxes[rows])[:, None] - box_centres(g.box)[None], axis=2) / h
        sim = np.where(dist <= 1.0 + cfg.reid_speed * gap[None], sim, 0.0)
        best = sim.argmax(1)
        top = np.sort(sim, axis=1)
        first, second = top[:, -1], (top[:, -2] if sim.shape[1] > 1 else np.zeros(len(rows)))
        ids = np.full(len(rows), -1, np.int64)
        used = np.zeros(len(g), bool)
        for flat in np.argsort(-sim, axis=None, kind="stable"):
            r, c = divmod(int(flat), sim.shape[1])
            if sim[r, c] < cfg.reid_similarity:
                break
            rival = second[r] if c == best[r] else first[r]          # the most alike other ended track
            if ids[r] < 0 and not used[c] and sim[r, c] - rival >= cfg.reid_margin:
                ids[r], used[c] = g.ids[c], True
        if used.any():
            self._gallery = g.select(~used)
        return ids

    def _reuse(self, poses: Poses, rows: np.ndarray, appearance: Optional[looks.Appearance],
               taken: np.ndarray) -> np.ndarray:
        """With ``max_tracks`` ids handed out: for the poses ``rows``, the ids of free identities
        (not matched in this frame), -1 for none left. A lost or ended track the pose looks like
        (colours, else nearness to where it was last seen) is preferred; otherwise the lowest free
        id (after a scene cut every id is free)."""
        tracks, g = self._tracks, self._gallery
        out = np.full(len(rows), -1, np.int64)
        free = np.setdiff1d(np.arange(self._next_id, dtype=np.int64), taken)
        if not len(free) or not len(rows):
            return out
        known_ids = np.r_[tracks.ids, g.ids]
        known = np.isin(known_ids, free)
        score = np.full((len(rows), len(free)), -1e9)                        # unknown identities: last resort
        if known.any():
            boxes = np.r_[tracks.box.reshape(-1, 4), g.box.reshape(-1, 4)][known]
            h = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
            near = -np.linalg.norm(box_centres(poses.boxes[rows])[:, None] - box_centres(boxes)[None], axis=2) / h
            if appearance is not None:
                pool = looks.Appearance(np.r_[tracks.look, g.look][known], np.r_[tracks.look_weight, g.look_weight][known])
                sim = looks.similarity(appearance.select(rows), pool)
                near = np.where(np.isfinite(sim), 10.0 * sim + near, near)
            score[:, np.searchsorted(free, known_ids[known])] = near
        score -= 1e-6 * np.arange(len(free))[None]                          # ties: the lowest id
        used = np.zeros(len(free), bool)
        for flat in np.argsort(-score, axis=None, kind="stable"):
            r, c = divmod(int(flat), len(free))
            if out[r] < 0 and not used[c]:
                out[r], used[c] = free[c], True
        self._drop_reused(out[out >= 0])
        return out

    def _drop_reused(self, ids: np.ndarray) -> None:
        """Identities handed to new poses leave the gallery, and a lost track with one ends (its row is reused)."""
        if not len(ids):
            return
        self._gallery = self._gallery.select(~np.isin(self._gallery.ids, ids))
        lost = np.isin(self._tracks.ids, ids)
        if lost.any():
            self._queue = self._queue.select(~np.isin(self._queue.track_ids, ids))
            self._tracks = self._tracks.select(~lost)

    # ------------------------------------------------------------ update

    def _record(self, frame: int, poses: Poses, ids: np.ndarray, detected: np.ndarray,
                appearance: Optional[looks.Appearance]) -> None:
        """Append the frame's tracked poses to the queue and update (or add) their tracks' rows."""
        self._queue = self._queue.append(keypoints=poses.keypoints, keypoint_scores=poses.keypoint_scores,
                                         areas=box_areas(poses.boxes), box_scores=poses.box_scores,
                                         track_ids=np.asarray(ids, np.int64), frames=np.full(len(ids), frame, np.int64))
        b = self._pose_boxes(poses)
        h = np.maximum(b[:, 3] - b[:, 1], 1.0)
        z = np.c_[box_centres(b), h]
        aspect = (b[:, 2] - b[:, 0]) / h
        look = appearance if appearance is not None else looks.Appearance.empty(len(ids))
        tracks = self._tracks
        row = np.searchsorted(tracks.ids, ids)
        old = (row < len(tracks)) & (tracks.ids[np.minimum(row, max(len(tracks) - 1, 0))] == ids) \
            if len(tracks) else np.zeros(len(ids), bool)
        r = row[old]
        if len(r):
            mixed = looks.blend(looks.Appearance(tracks.look[r], tracks.look_weight[r]), look.select(old),
                                self.config.appearance_rate)
            tracks = tracks.with_values(r, last_seen=frame, hits=tracks.hits[r] + 1, aspect=aspect[old], box=b[old],
                                        unsupported=np.where(detected[old], 0, tracks.unsupported[r] + 1),
                                        look=mixed.features, look_weight=mixed.weights)
            tracks = self._motion.correct(tracks, r, z[old])
        new = np.flatnonzero(~old)
        new = new[np.argsort(ids[new], kind="stable")]
        if len(new):
            tracks = tracks.append(ids=ids[new], first_seen=np.full(len(new), frame), last_seen=np.full(len(new), frame),
                                   unsupported=(~detected[new]).astype(np.int64), hits=np.ones(len(new), np.int64),
                                   aspect=aspect[new], box=b[new], look=look.features[new],
                                   look_weight=look.weights[new], **self._motion.start(z[new]))
            if len(tracks) > len(new) and tracks.ids[-len(new) - 1] > tracks.ids[-len(new)]:
                tracks = tracks.select(np.argsort(tracks.ids, kind="stable"))        # reused ids out of order
        self._tracks = tracks
        self._last_frame = frame
        self._propagated = False

    def _pose_boxes(self, poses: Poses) -> np.ndarray:
        """(N, 4) float64 the boxes the motion model measures: the box of each pose's joints (all of
        them, sure or not: a half-hidden person's box should not shrink to its visible part), grown
        by ``box_expand`` as FlowTrack boxes them, or the pose's own box where fewer than two joints
        are located. A detector's box moves with whatever else it caught (a neighbour, a shadow):
        measured on the real video, ID-F1 0.690 with detector boxes, 0.884 with the joints' box."""
        located = np.isfinite(poses.keypoints).all(-1).astype(np.float32)
        joints, valid = joint_boxes(poses.keypoints, located, 0.5, self.config.box_expand)
        return np.where(valid[:, None], joints, poses.boxes).astype(np.float64)

    def update(self, frame: int, poses: Poses, flow: Optional[np.ndarray] = None,
               detected: Optional[np.ndarray] = None, image: Optional[np.ndarray] = None,
               appearance: Optional[looks.Appearance] = None) -> FrameResult:
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
            appearance: colour descriptors of the N poses (:func:`posetrack.tracking.appearance.describe`
                on this frame), used when :attr:`uses_appearance`; None: no appearance cue.

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
        if appearance is not None and len(appearance) != len(poses):
            raise ValueError(f"frame {frame}: {len(poses)} poses but {len(appearance)} appearance descriptors")
        if not self._propagated:
            self.propagate(flow, frame, image)
        elif flow is not None:
            raise ValueError(f"frame {frame}: flow given to update() after propagate() already moved the queue")
        self._frame_now = frame
        self.retire(frame)
        keep = self._trackable_mask(poses)
        if not self.uses_appearance:
            appearance = None
        kept, detected = poses.select(keep), detected[keep]
        look = appearance.select(keep) if appearance is not None else None
        if len(kept) < len(poses):
            log.debug("frame %d: %d of %d poses below the score thresholds are not tracked",
                      frame, len(poses) - len(kept), len(poses))
        sim = self.similarity(kept, look)
        same = self._duplicates(kept) if self.config.duplicate_oks is not None else None
        unique = self._unique(kept, sim, same)
        if len(unique) < len(kept):
            kept, detected, sim, same = kept.select(unique), detected[unique], sim[unique], same[np.ix_(unique, unique)]
            look = look.select(unique) if look is not None else None
        high = kept.box_scores >= self.config.start_threshold
        matches = self.associate(kept, high, look, sim)
        if self.config.fallback_iou is not None:
            matches = self._fallback(kept, high, matches, sim)
        dup = None
        if same is not None and len(matches.pairs):
            dup = self._tracked_duplicates(kept, matches, sim, same)
            matches = self._best_of_duplicates(kept, matches, sim, dup)
            dup = self._tracked_duplicates(kept, matches, sim, same)
        ids = np.full(len(kept), -1, np.int64)
        ids[matches.pairs[:, 0]] = self._tracks.ids[matches.pairs[:, 1]]
        starts = self._may_start(kept, matches, high, detected, dup)
        ids[starts] = self._new_ids(kept, starts, look, ids[ids >= 0])
        out = ids >= 0
        self._record(frame, kept.select(out), ids[out], detected[out], look.select(out) if look is not None else None)
        return FrameResult(frame=frame, poses=kept.select(out), track_ids=ids[out])

    def _may_start(self, poses: Poses, matches: Matches, high: np.ndarray, detected: np.ndarray,
                   dup: Optional[np.ndarray] = None) -> np.ndarray:
        """Indices of unmatched poses that start tracks (score, detector box, not a duplicate of a
        tracked pose: :meth:`_tracked_duplicates`, or by box overlap with ``duplicate_iou``)."""
        cfg = self.config
        rows = matches.unmatched_rows
        rows = rows[high[rows] & (detected[rows] | cfg.proposals_start_tracks)]
        if dup is not None and len(rows):
            rows = rows[~dup[rows].any(1)]
        if cfg.duplicate_iou is not None and len(rows) and len(matches.pairs):
            overlap = box_iou(poses.boxes[rows], poses.boxes[matches.pairs[:, 0]]).max(1)
            rows = rows[overlap <= cfg.duplicate_iou]
        return rows


def _components(linked: np.ndarray) -> np.ndarray:
    """(N,) label of each node's connected component in a symmetric (N, N) bool adjacency."""
    n = len(linked)
    label = np.arange(n)
    for _ in range(n):
        new = np.where(linked, label[None, :], n).min(1)
        if np.array_equal(new, label):
            break
        label = new
    return label
