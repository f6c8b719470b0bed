"""Where the live tracks' queued poses go in the coming frame: the flow, the motion model, or a blend.

FlowTrack (Xiao et al. 2018, Sec. 3.2) moves every queued pose with the optical flow. The
``robust`` preset keeps that for tracks it can trust the flow with and moves the rest with
their box motion model (:mod:`posetrack.tracking.motion`), compensated for the camera:

* a *lost* track (not seen in the previous frame) has no flow of its own to follow;
* an *occluded* track (its predicted box covered by a track nearer the camera,
  :func:`occluded`) would be dragged along by its occluder's flow;
* a track too small for the flow, or whose forward and backward flow disagree, follows it
  only in part (:func:`~posetrack.tracking.motion.flow_weights`).

The camera's pan and zoom come from the background's flow
(:func:`~posetrack.tracking.motion.camera_motion`), or, where the background is flat, from
the people themselves (:func:`camera_from_people`).

Every function takes the tracker's tables and returns new arrays or tables: the state stays
with :class:`~posetrack.tracking.tracker.PoseTracker`.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.prediction import occluded
    >>> boxes = np.array([[0, 0, 10, 20], [2, 0, 12, 30.0]])        # the second reaches lower: nearer
    >>> occluded(boxes, np.array([0, 1]), np.array([True, True]), 0.3).tolist()
    [True, False]
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from posetrack.boxes import covered_fraction
from posetrack.tracking.association import TrackView
from posetrack.tracking.config import TrackerConfig
from posetrack.tracking.flow import sample_flow
from posetrack.tracking.motion import STILL_CAMERA, camera_motion, flow_weights
from posetrack.tracking.state import Table

__all__ = ["move_queue", "flow_share", "forward_backward_errors", "camera_from_people", "occluded"]


def move_queue(q: Table, moved: np.ndarray, tracks: Table, motion, cfg: TrackerConfig, last_frame: Optional[int],
               flow: Optional[np.ndarray], dt: int, image: Optional[np.ndarray],
               backward: Optional[np.ndarray]) -> Tuple[Table, np.ndarray]:
    """Predict every track's box ``dt`` frames ahead; the queued poses of tracks that cannot
    trust the flow follow their box (in part, by :func:`flow_share`).

    Args:
        q: the queue table (keypoints (S, K, 2) float32 in the previous frame, track_ids, frames).
        moved: (S, K, 2) the queued keypoints moved by the flow (or unmoved without one).
        tracks: the live tracks' table, with the motion model's columns.
        motion: the box motion model (:data:`~posetrack.tracking.motion.TRACK_MOTIONS`).
        cfg: the tracker's configuration.
        last_frame: the previous frame's index.
        flow, image, backward: as :meth:`PoseTracker.propagate <posetrack.tracking.tracker.PoseTracker.propagate>`.

    Returns:
        The predicted tracks table and (S, K, 2) float32 keypoints in the coming frame.
    """
    seen = tracks.last_seen == last_frame
    camera = STILL_CAMERA
    if cfg.camera_motion and flow is not None:
        camera = camera_motion(flow, motion.boxes(tracks, tracks.aspect)[seen], image=image)
        if camera is None:                                   # a flat background: ask the people
            usable = (tracks.hits >= max(cfg.min_hits, 2)) & ~occluded(motion.boxes(tracks, tracks.aspect),
                                                                      tracks.ids, seen, cfg.occlusion)
            camera = camera_from_people(q, moved, tracks, motion, usable, last_frame, dt, cfg.joint_score)
    before = np.c_[motion.centres(tracks), motion.heights(tracks)]
    tracks = motion.predict(tracks, dt, camera)
    after = np.c_[motion.centres(tracks), motion.heights(tracks)]
    weight = flow_share(q, tracks, motion, cfg, seen, last_frame, flow, backward)     # (T,) 1: flow, 0: model
    row = np.searchsorted(tracks.ids, q.track_ids)
    ratio = np.clip(after[:, 2] / np.maximum(before[:, 2], 1.0), 0.5, 2.0)
    by_model = after[row, None, :2] + (q.keypoints - before[row, None, :2]) * ratio[row, None, None]
    w = weight[row, None, None]
    return tracks, (w * moved + (1 - w) * by_model).astype(np.float32)


def flow_share(q: Table, tracks: Table, motion, cfg: TrackerConfig, seen: np.ndarray, last_frame: Optional[int],
               flow: Optional[np.ndarray], backward: Optional[np.ndarray]) -> np.ndarray:
    """(T,) how far each track follows the flow (1) rather than its motion model (0).

    Zero without flow, for lost tracks and for occluded ones; for the others
    :func:`~posetrack.tracking.motion.flow_weights` of their height (``flow_min_height``,
    ``flow_full_height``) and, with ``flow_check`` and a backward flow, of their
    forward-backward error. ``tracks`` are the predicted ones (their boxes are the previous
    frame's measurements).
    """
    if flow is None or cfg.motion != "flow":
        return np.zeros(len(tracks))
    weight = (seen & ~occluded(motion.boxes(tracks, tracks.aspect), tracks.ids, seen, cfg.occlusion)).astype(np.float64)
    if cfg.flow_min_height is None or not weight.any():
        return weight
    errors = None
    if backward is not None and cfg.flow_check:
        errors = forward_backward_errors(q, tracks.ids, last_frame, flow, backward, cfg.joint_score)
    return weight * flow_weights(tracks.box[:, 3] - tracks.box[:, 1], errors, cfg.flow_min_height,
                                 cfg.flow_full_height, cfg.flow_fb_tolerance)


def forward_backward_errors(q: Table, ids: np.ndarray, last_frame: Optional[int], flow: np.ndarray,
                            backward: np.ndarray, joint_score: float) -> np.ndarray:
    """(T,) median forward-backward flow error (pixels) at each track's newest confident joints
    (NaN for a track with none). ``ids``: (T,) ascending ids of the tracks."""
    newest = q.frames == last_frame
    if not newest.any():
        return np.full(len(ids), np.nan)
    kp = q.keypoints[newest]
    there = kp + sample_flow(flow, kp)
    back = there + sample_flow(backward, there)
    err = np.linalg.norm(back - kp, axis=-1)                                          # (S, K)
    err = np.where(q.keypoint_scores[newest] > joint_score, err, np.nan)
    out = np.full(len(ids), np.nan)
    with np.errstate(all="ignore"):
        per_pose = np.nanmedian(err, axis=1)
    out[np.searchsorted(ids, q.track_ids[newest])] = per_pose
    return out


def camera_from_people(q: Table, moved: np.ndarray, tracks: Table, motion, usable: np.ndarray,
                       last_frame: Optional[int], dt: int, joint_score: float) -> np.ndarray:
    """The camera's pan where the background cannot show it: the median, over the ``usable``
    tracks ((T,) bool: established, not hidden) seen in the previous frame, of their flow
    displacement minus their own velocity.

    Each such person moves by the camera's pan plus their own motion (the filter's
    velocity, in camera-compensated coordinates); what they share is the camera's. A
    hidden person's flow is their occluder's, so they are left out; and where the people
    disagree by more than a tenth of their height the pan is unknown (taken as still).

    Returns:
        (3,) float64 ``(scale, tx, ty)`` with scale 1.
    """
    newest = q.frames == last_frame
    row = np.searchsorted(tracks.ids, q.track_ids[newest])
    sure = usable[row]
    if not sure.any():
        return STILL_CAMERA
    conf = q.keypoint_scores[newest][sure] > joint_score                              # (S, K)
    shift = np.where(conf[..., None], moved[newest][sure] - q.keypoints[newest][sure], np.nan)
    with np.errstate(all="ignore"):
        own = np.nanmedian(shift, axis=1) - dt * motion.velocities(tracks)[row[sure]]   # (S, 2)
    finite = np.isfinite(own).all(1)
    own = own[finite]
    if not len(own):
        return STILL_CAMERA
    spread = np.ptp(own, axis=0).max() if len(own) > 1 else 0.0
    if spread > 0.1 * np.median(motion.heights(tracks)[row[sure]][finite]):
        return STILL_CAMERA
    return np.r_[1.0, np.median(own, axis=0)]


def occluded(boxes: np.ndarray, ids: np.ndarray, seen: np.ndarray, occlusion: Optional[float]) -> np.ndarray:
    """(T,) bool: tracks whose box a track seen in the previous frame (``seen``), nearer the
    camera (its box reaches lower in the frame), covers by at least ``occlusion`` (None: never).

    Args:
        boxes: (T, 4) the tracks' predicted boxes x1, y1, x2, y2.
        ids: (T,) their ids (a track never hides itself).
        seen: (T,) bool.
    """
    if occlusion is None or seen.sum() == 0:
        return np.zeros(len(boxes), bool)
    cover = covered_fraction(boxes, boxes[seen])                          # (T, S)
    nearer = boxes[seen][None, :, 3] > boxes[:, None, 3]
    cover = np.where(nearer & (ids[:, None] != ids[seen][None]), cover, 0.0)
    return cover.max(1) >= occlusion


def held_shift(tracks: Table, motion, lost_hold: Optional[float], fps: float, now: int) -> Optional[np.ndarray]:
    """(T, 2) pixels from each track's prediction back to where it would be had its motion
    stopped ``lost_hold`` seconds after it was last seen (zero for tracks lost no longer, and
    for those seen in the previous frame); None where there is none (``lost_hold`` None, a
    motion model that does not move, no track lost so long).

    The constant-velocity prediction of a track unseen for seconds assumes the person walked on
    behind what hid them; a person hidden behind a sign or a passer-by as often stood still
    there. Both are kept as hypotheses (the cost terms take the better; ``lost_hold`` in
    configs/tracker.yaml has the measurement).
    """
    if lost_hold is None or not motion.moves or not len(tracks):
        return None
    beyond = np.maximum(now - tracks.last_seen - max(1, int(round(lost_hold * fps))), 0)
    if not beyond.any():
        return None
    return -motion.velocities(tracks) * beyond[:, None]


def track_view(tracks: Table, queue: Table, boxes: np.ndarray, lost: np.ndarray, shift: Optional[np.ndarray],
               look, position_covariance: np.ndarray) -> TrackView:
    """The live tracks as the cost terms see them: their queued poses (moved into this frame),
    predicted ``boxes`` (T, 4), seconds ``lost`` (T,), and, where ``shift`` (T, 2, from
    :func:`held_shift`) moves a lost track, a copy of its queued poses and box held there too."""
    column = np.searchsorted(tracks.ids, queue.track_ids)
    keypoints, scores, areas = queue.keypoints, queue.keypoint_scores, queue.areas
    held_boxes = None
    if shift is not None:
        held_boxes = boxes + np.tile(shift, 2)
        extra = np.flatnonzero(np.any(shift[column] != 0, axis=1))
        keypoints = np.concatenate([keypoints, keypoints[extra] + shift[column[extra], None].astype(np.float32)])
        scores, areas = np.concatenate([scores, scores[extra]]), np.concatenate([areas, areas[extra]])
        column = np.concatenate([column, column[extra]])
    return TrackView(tracks.ids, keypoints, scores, areas, column, boxes, np.maximum(boxes[:, 3] - boxes[:, 1], 1.0),
                     lost, position_covariance, look, held_boxes)
