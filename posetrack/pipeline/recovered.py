"""Poses of the propagated boxes of a frame batch, estimated ahead in a few batched calls.

FlowTrack recovers people the detector missed in frame k from the poses of frame k-1
(Xiao et al. 2018, Sec. 3.2), so the boxes of frame k are known only once frame k-1 is
tracked: estimated naively, that is one small pose call per frame. Instead the pipeline
*foresees*: it runs a copy of the tracker through the whole batch on the poses known so far
(the same calls the real tracking makes), collects every recovered box that has no pose
yet, and estimates them all in one call; a frame whose poses were unknown (a recovered
person recovers the next frame's) is settled in the next round, one call for all frames.
While tracking, each real recovered box takes the pose estimated for the identical box
(same float32 coordinates, same image) — a pose depends on nothing else — and only a box
no round foresaw gets a small call of its own. The result is that of a strictly
sequential loop; only the calls are fewer.

Example:
    >>> cache = RecoveredPoses(num_frames=8, num_keypoints=17)
    >>> cache.add(0, poses)                       # Poses estimated in (N, 4) float32 boxes
    >>> cache.missing(0, poses.boxes).any()
    False
"""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from posetrack.boxes import box_iou
from posetrack.tracking.propagation import joint_boxes
from posetrack.types import Detections, Poses

__all__ = ["RecoveredPoses", "carry_scores", "Estimate"]

# (images, per-image boxes) -> per-image Poses in those boxes (PoseEstimator.estimate_batch)
Estimate = Callable[[Sequence[np.ndarray], Sequence[Detections]], List[Poses]]


def _key(box: np.ndarray) -> bytes:
    return np.ascontiguousarray(box, dtype=np.float32).tobytes()


class RecoveredPoses:
    """Estimated poses of boxes, per frame of a batch, looked up by the box's exact coordinates.

    Args:
        num_frames: frames in the batch.
        num_keypoints: K.
    """

    def __init__(self, num_frames: int, num_keypoints: int):
        self.num_keypoints = num_keypoints
        self._rows: List[Dict[bytes, Tuple[np.ndarray, np.ndarray]]] = [{} for _ in range(num_frames)]

    def add(self, frame: int, poses: Poses) -> None:
        """Remember ``poses`` (each estimated in its own box) for batch frame ``frame``."""
        for box, kp, ks in zip(np.asarray(poses.boxes, np.float32), poses.keypoints, poses.keypoint_scores):
            self._rows[frame][_key(box)] = (kp, ks)

    def missing(self, frame: int, boxes: np.ndarray) -> np.ndarray:
        """(N,) bool: which of the (N, 4) ``boxes`` have no pose yet."""
        known = self._rows[frame]
        return np.array([_key(b) not in known for b in np.asarray(boxes, np.float32)], bool)

    def poses(self, frame: int, boxes: Detections) -> Poses:
        """The poses of ``boxes`` (all known), with the boxes' own scores."""
        rows = [self._rows[frame][_key(b)] for b in boxes.boxes]
        k = self.num_keypoints
        kp = np.stack([r[0] for r in rows]) if rows else np.zeros((0, k, 2), np.float32)
        ks = np.stack([r[1] for r in rows]) if rows else np.zeros((0, k), np.float32)
        return Poses(boxes.boxes, boxes.scores, kp, ks)

    def estimate(self, estimate: Estimate, images: Sequence[np.ndarray], wanted: Dict[int, Detections]) -> None:
        """Estimate the poses in ``wanted`` (batch frame -> boxes) in one call and remember them."""
        frames = sorted(f for f, b in wanted.items() if len(b))
        if not frames:
            return
        for f, poses in zip(frames, estimate([images[f] for f in frames], [wanted[f] for f in frames])):
            self.add(f, poses)


def carry_scores(proposals: Detections, sources: Poses, joint_score: float, expand: float) -> Detections:
    """``proposals`` scored with the box scores of the (already moved) poses they were made from.

    For frames the detector does not look at (``detect_every`` > 1): FlowTrack scores a
    proposal by its source pose's box score times its mean confident-joint score, which
    fades a person below the box threshold within two frames of the last detection — right
    for a detector's miss, wrong for a frame no detector ran on. There the person keeps the
    score of their last pose instead; a box with nobody in it still ends its chain, as its
    pose has fewer than two confident joints and proposes nothing.

    ``sources`` are the poses the tracker proposed from, moved into this frame. Each
    proposal takes the score of the source whose joints' box it is (or, for a tracker that
    also clips or otherwise adjusts its boxes, the source box it overlaps most, IoU >= 0.5);
    a proposal matching no source keeps its own score.
    """
    if not len(proposals) or not len(sources):
        return proposals
    boxes, valid = joint_boxes(sources.keypoints, sources.keypoint_scores, joint_score, expand)
    boxes, scores = boxes[valid], sources.box_scores[valid]
    if len(boxes) == len(proposals) and np.array_equal(boxes, proposals.boxes):
        return Detections(proposals.boxes, scores)
    if not len(boxes):
        return proposals
    iou = box_iou(proposals.boxes, boxes)                               # (P, S)
    best = iou.argmax(1)
    hit = iou[np.arange(len(proposals)), best] >= 0.5
    return Detections(proposals.boxes, np.where(hit, scores[best], proposals.scores))
