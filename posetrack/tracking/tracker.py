"""Pose tracking: FlowTrack (Xiao et al., ECCV 2018, Sec. 3) and what we added to it.

Per frame the tracker cuts (at a scene cut), propagates its queue, proposes boxes, associates
the new poses with its tracks, spawns ids and retires tracks: the steps and the module that owns
each are listed in :mod:`posetrack.tracking`. This module holds the state and runs the steps.

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

from posetrack.boxes import box_iou
from posetrack.keypoints import KeypointLayout
from posetrack.tracking import appearance as looks
from posetrack.tracking.association import TrackView, build_terms, similarity as combined_similarity
from posetrack.tracking.config import (RefineConfig, TrackerConfig, default_preset, load_tracking_config,  # noqa: F401
                                       preset_names)
from posetrack.tracking.duplicates import best_of_duplicates, duplicate_pairs, tracked_duplicates, unique_poses
from posetrack.tracking.flow import propagate_points
from posetrack.tracking.identities import expired, reidentify, remember, reuse
from posetrack.tracking.matching import Matches, contested, extend_matches, match_in_stages
from posetrack.tracking.motion import STILL_CAMERA, TRACK_MOTIONS
from posetrack.tracking.prediction import held_shift, move_queue, track_view
from posetrack.tracking.propagation import propose_boxes
from posetrack.tracking.state import Table, TrackerState, check_state
from posetrack.tracking.tables import pose_boxes, record, table_specs
from posetrack.types import DEFAULT_FPS, Detections, FrameResult, Poses

__all__ = ["TrackerConfig", "RefineConfig", "PoseTracker", "load_tracking_config", "preset_names",
           "default_preset", "check_state", "table_specs"]

log = logging.getLogger(__name__)


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
            self._tracks, moved = move_queue(q, moved, self._tracks, self._motion, self.config, self._last_frame,
                                             flow, dt, image, backward_flow)
        self._queue = q.with_values(keypoints=moved)
        self._propagated = True

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
        boxes = self._motion.boxes(tracks, tracks.aspect) if self._max_lost is not None and len(tracks) else None
        old = expired(q, tracks, boxes, frame, self.config.queue, self._max_lost, self.config.min_hits, self.frame_size)
        if self._horizon is not None and len(self._gallery):
            self._gallery = self._gallery.select(frame - self._gallery.last_seen <= self._horizon)
        if not old.any():
            return
        self._queue = q.select(~old)
        keep = np.isin(tracks.ids, self._queue.track_ids)
        ended = ~keep & (tracks.hits >= max(self.config.min_hits, 1))
        if (self._horizon is not None or self.config.max_tracks is not None) and ended.any():
            # for re-identification, and, with max_tracks, as the identities a newcomer may take
            self._gallery = remember(self._gallery, tracks.select(ended), self._motion,
                                     needs_looks=self.config.max_tracks is None)
        self._tracks = tracks.select(keep)

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
        tracks = self._tracks
        look = looks.Appearance(tracks.look, tracks.look_weight) if self.uses_appearance else None
        if not self._uses_model:
            return track_view(tracks, self._queue, tracks.box, np.zeros(len(tracks)), None, look,
                              self._motion.position_covariance(tracks))
        now = self._frame_now if self._frame_now is not None else (self._last_frame or 0) + 1
        shift = held_shift(tracks, self._motion, self.config.lost_hold, self.fps, now)
        return track_view(tracks, self._queue, self._motion.boxes(tracks, tracks.aspect), self._lost_seconds(),
                          shift, look, self._motion.position_covariance(tracks))

    def similarity(self, poses: Poses, appearance: Optional[looks.Appearance] = None) -> np.ndarray:
        """Combined similarity, shape (N poses, T live tracks), columns as :attr:`active_ids`.

        The weighted cost terms of ``costs`` (:mod:`posetrack.tracking.association`); for
        FlowTrack the largest OKS between each pose and each track's propagated queued poses.
        An impossible pair (a gate) is -inf.
        """
        return combined_similarity(self._terms, self.view(), poses, appearance)

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
        return match_in_stages(sim, stages, cfg.matching)

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
        iou = box_iou(pose_boxes(poses.select(rows), self.config.box_expand), predicted)     # (R, C)
        iou = np.where(np.isfinite(sim[np.ix_(rows, cols)]), iou, 0.0)
        return extend_matches(matches, iou, rows, cols, self.config.fallback_iou, sim.shape)

    def spawn(self, count: int) -> np.ndarray:
        """``count`` new track ids, (count,) int64."""
        ids = np.arange(self._next_id, self._next_id + count, dtype=np.int64)
        self._next_id += count
        return ids

    # ------------------------------------------------------------ re-identify

    def _new_ids(self, poses: Poses, rows: np.ndarray, appearance: Optional[looks.Appearance],
                 taken: np.ndarray) -> np.ndarray:
        """Ids for the unmatched poses ``rows`` that start tracks: re-identified
        (:func:`~posetrack.tracking.identities.reidentify`; the ids taken leave the gallery), else
        new; with ``max_tracks`` ids handed out, free identities not ``taken`` in this frame
        (:func:`~posetrack.tracking.identities.reuse`).

        Returns (len(rows),) int64, -1 for a pose that gets none (``max_tracks`` reached and
        no free identity it could be).
        """
        ids = np.full(len(rows), -1, np.int64)
        look = None if appearance is None else appearance.select(rows)
        if look is not None and self._horizon is not None and len(self._gallery) and len(rows):
            ids, used = reidentify(poses.boxes[rows], look, self._gallery, self._frame_now, self.fps, self.config)
            if used.any():
                self._gallery = self._gallery.select(~used)
        fresh = np.flatnonzero(ids < 0)
        cap = self.config.max_tracks
        if cap is None:
            ids[fresh] = self.spawn(len(fresh))
            return ids
        room = max(0, cap - self._next_id)
        ids[fresh[:room]] = self.spawn(min(room, len(fresh)))
        rest = fresh[room:]
        if len(rest):
            free = np.setdiff1d(np.arange(self._next_id, dtype=np.int64), np.r_[taken, ids[ids >= 0]])
            ids[rest] = reuse(poses.boxes[rows[rest]], None if look is None else look.select(rest), self._tracks,
                              self._gallery, free)
            self._drop_reused(ids[rest][ids[rest] >= 0])
        return ids

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
        self._queue, self._tracks = record(self._queue, self._tracks, frame, poses, ids, detected, appearance,
                                           self._motion, self.config.box_expand, self.config.appearance_rate)
        self._last_frame = frame
        self._propagated = False

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
        detected = self._checked(frame, poses, detected, appearance)
        if not self._propagated:
            self.propagate(flow, frame, image)
        elif flow is not None:
            raise ValueError(f"frame {frame}: flow given to update() after propagate() already moved the queue")
        self._frame_now = frame
        self.retire(frame)
        keep = self._trackable_mask(poses)
        if len(keep) - keep.sum():
            log.debug("frame %d: %d of %d poses below the score thresholds are not tracked",
                      frame, len(poses) - keep.sum(), len(poses))
        look = appearance.select(keep) if appearance is not None and self.uses_appearance else None
        kept, detected, look, high, matches, dup = self._match_frame(poses.select(keep), detected[keep], look)
        ids = np.full(len(kept), -1, np.int64)
        ids[matches.pairs[:, 0]] = self._tracks.ids[matches.pairs[:, 1]]
        starts = self._may_start(kept, matches, high, detected, dup)
        ids[starts] = self._new_ids(kept, starts, look, ids[ids >= 0])
        out = ids >= 0
        self._record(frame, kept.select(out), ids[out], detected[out], look.select(out) if look is not None else None)
        return FrameResult(frame=frame, poses=kept.select(out), track_ids=ids[out])

    def _checked(self, frame: int, poses: Poses, detected: Optional[np.ndarray],
                 appearance: Optional[looks.Appearance]) -> np.ndarray:
        """(N,) bool ``detected`` (None: all), after checking that :meth:`update`'s inputs agree."""
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
        return detected

    def _match_frame(self, poses: Poses, detected: np.ndarray, look: Optional[looks.Appearance]):
        """Near-duplicates merged (:mod:`posetrack.tracking.duplicates`), then the poses matched to
        the tracks (:meth:`associate`, the IoU fallback) and each track given the best of its
        pose's duplicates.

        Returns:
            (poses, detected, look, high, matches, dup): the poses left after merging and their
            flags and descriptors, which of them may start tracks by score, the matches, and
            (N, P) bool, unmatched poses duplicating matched ones (None without duplicate merging).
        """
        cfg = self.config
        sim = self.similarity(poses, look)
        same = None
        if cfg.duplicate_oks is not None:
            same = duplicate_pairs(poses, self._sigmas, cfg.joint_score, cfg.duplicate_oks, cfg.duplicate_box_iou)
            unique = unique_poses(poses, sim, same, self._tracks.hits >= max(cfg.min_hits, 1), cfg.min_similarity)
            if len(unique) < len(poses):
                poses, detected, sim, same = poses.select(unique), detected[unique], sim[unique], same[np.ix_(unique, unique)]
                look = look.select(unique) if look is not None else None
        if cfg.lost_margin is not None:            # a pose two lost tracks could be is left to refinement
            sim = contested(sim, self._lost_seconds() >= (cfg.lost_hold or 0.0) + 0.5 / self.fps, cfg.lost_margin)
        high = poses.box_scores >= cfg.start_threshold
        matches = self.associate(poses, high, look, sim)
        if cfg.fallback_iou is not None:
            matches = self._fallback(poses, high, matches, sim)
        dup = None
        if same is not None and len(matches.pairs):
            dup = tracked_duplicates(poses, matches, sim, same, cfg.min_similarity, cfg.nms_iou)
            matches = best_of_duplicates(poses, matches, sim, dup, cfg.min_similarity)
            dup = tracked_duplicates(poses, matches, sim, same, cfg.min_similarity, cfg.nms_iou)
        return poses, detected, look, high, matches, dup

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

