"""FlowTrack's box propagation: people the detector missed, recovered from the previous frame.

Xiao et al. 2018, Sec. 3.2: the joints of each person in frame k-1 are moved by the
optical flow F(k-1 -> k); the bounding box of the moved joints, "extended by some
extent (15% in experiments)", is a box proposal for frame k. The proposals are unified
with the detector's boxes by NMS *before* pose estimation, so a person the detector
missed in frame k still gets a pose.

Pipeline order for one frame::

    tracker.propagate(flow)                                   # queue -> frame k
    proposals = tracker.propose_boxes((width, height))        # the moved poses' boxes, in the frame
    kept = unify_boxes(detections, proposals,                 # indices into [detections; proposals]
                       iou=cfg.nms_iou, min_score=cfg.box_score)  # every detection; proposals where none is
    boxes = Detections.concat([detections, proposals]).select(kept)
    poses = estimator.estimate(image, boxes)                  # HRNet on the unified boxes
    result = tracker.update(k, poses, detected=...)           # which poses a detector box supports

Example:
    >>> import numpy as np
    >>> from posetrack.types import Detections
    >>> from posetrack.tracking.propagation import unify_boxes
    >>> dets = Detections(np.array([[0, 0, 10, 10]]), np.array([0.9]))
    >>> props = Detections(np.array([[1, 1, 11, 11], [50, 50, 60, 60]]), np.array([0.95, 0.8]))
    >>> unify_boxes(dets, props, iou=0.5).tolist()      # detection 0 and proposal 1 (index 1 + 1)
    [0, 2]
    >>> two = Detections(np.array([[0, 0, 10, 10], [3, 0, 13, 10]]), np.array([0.9, 0.8]))   # IoU 0.54
    >>> unify_boxes(two, Detections.empty(), iou=0.4).tolist()    # detections never suppress each other
    [0, 1]
"""
from __future__ import annotations

import numpy as np

from typing import Optional, Tuple

from posetrack.boxes import box_iou, clip_boxes
from posetrack.types import Detections

__all__ = ["joint_boxes", "pose_scores", "propose_boxes", "unify_boxes"]


def joint_boxes(keypoints: np.ndarray, keypoint_scores: np.ndarray, joint_score: float, expand: float):
    """Boxes around each pose's confident joints, width and height grown by ``expand``.

    The box keeps its centre; ``expand=0.15`` makes it 15% wider and 15% taller
    (7.5% on each side), our reading of FlowTrack's "extended by 15%".

    Args:
        keypoints: (N, K, 2) x, y.
        keypoint_scores: (N, K).
        joint_score: only joints scoring above this count.
        expand: relative growth of width and height.

    Returns:
        boxes (N, 4) float32 and valid (N,) bool — False where fewer than two confident
        joints span a box of positive area (its box row is zeros).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    conf = (np.asarray(keypoint_scores) > joint_score) & np.isfinite(kp).all(-1)      # (N, K)
    lo = np.where(conf[..., None], kp, np.inf).min(axis=1)                              # (N, 2)
    hi = np.where(conf[..., None], kp, -np.inf).max(axis=1)
    valid = (conf.sum(1) >= 2) & np.all(hi - lo > 0, axis=1)
    centre, half = (lo + hi) / 2, (hi - lo) * (1 + expand) / 2
    boxes = np.where(valid[:, None], np.concatenate([centre - half, centre + half], axis=1), 0.0)
    return boxes.astype(np.float32).reshape(-1, 4), valid


def pose_scores(box_scores: np.ndarray, keypoint_scores: np.ndarray, joint_score: float) -> np.ndarray:
    """Box score times the mean score of the joints above ``joint_score`` (0 without any), shape (N,).

    The official HRNet / Simple Baselines test code rescores its poses this way (box
    score x mean of the maxvals above a visibility threshold). A propagated box carries
    its source pose's rescored value, so a chain of proposals with nobody in them fades
    below the box threshold within a frame or two instead of living on as a phantom.
    Both factors are clipped to [0, 1] first (heatmap maxima of a bad model can exceed 1,
    and a product of such values grows without bound along a chain of proposals), so the
    result always lies in [0, 1]; NaN scores count as 0.
    """
    ks = np.clip(np.nan_to_num(np.asarray(keypoint_scores, dtype=np.float64)), 0.0, 1.0)
    conf = ks > joint_score
    mean = np.divide(np.where(conf, ks, 0).sum(1), conf.sum(1), out=np.zeros(len(ks)), where=conf.any(1))
    box = np.clip(np.nan_to_num(np.asarray(box_scores, np.float64)), 0.0, 1.0)
    return (box * mean).astype(np.float32)


def propose_boxes(keypoints: np.ndarray, keypoint_scores: np.ndarray, box_scores: np.ndarray, joint_score: float,
                  expand: float, frame_size: Optional[Tuple[int, int]] = None) -> Tuple[Detections, np.ndarray]:
    """FlowTrack box proposals (Sec. 3.2): boxes of poses already moved into frame k.

    The one implementation of box proposals; :meth:`posetrack.tracking.tracker.PoseTracker.propose_boxes`
    calls it with the previous frame's poses after moving them.

    Args:
        keypoints: (P, K, 2) the poses' joints, moved into frame k (by flow or a motion model).
        keypoint_scores: (P, K) their scores when observed.
        box_scores: (P,) their box scores.
        joint_score: joints at or below this score are not boxed.
        expand: relative growth of the joints' box.
        frame_size: (width, height): boxes are clipped to the frame and boxes left with no
            area are dropped; None: not clipped.

    Returns:
        The proposals (at most one per pose), scored by :func:`pose_scores` (in [0, 1]), and
        (B,) int64 indices of the poses they come from.
    """
    boxes, valid = joint_boxes(keypoints, keypoint_scores, joint_score, expand)
    if frame_size is not None:
        boxes = clip_boxes(boxes, *frame_size)
        valid &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    source = np.flatnonzero(valid).astype(np.int64)
    scores = pose_scores(box_scores, keypoint_scores, joint_score)
    return Detections(boxes[source], scores[source]), source


def unify_boxes(detections: Detections, propagated: Detections, iou: float, min_score: float = 0.0) -> np.ndarray:
    """Which of the detector and propagated boxes survive, as indices (like ``torchvision.ops.nms``).

    Boxes scoring below ``min_score`` are dropped first (FlowTrack keeps detections with
    score 0.5 and up). Every remaining detector box is kept: the detector has already
    suppressed its own duplicates (torchvision's Faster R-CNN runs NMS at IoU 0.5), and two
    people standing close overlap by IoU 0.4-0.7 — suppressing either would leave a person
    never posed (near-duplicate *poses* are merged later, by the tracker, knowing the poses).
    A propagated box is kept only where no kept box — a detection, or a better-scored
    proposal — overlaps it by more than ``iou``: the detector miss it exists for. (The paper
    says only "unified by NMS"; keeping the detector's boxes is our choice.)

    Args:
        detections: the detector's boxes of frame k (D boxes).
        propagated: box proposals of frame k (P boxes), from ``PoseTracker.propose_boxes``.
        iou: NMS overlap threshold for proposals.
        min_score: minimum box score.

    Returns:
        (U,) int64 indices into the concatenation ``[detections; propagated]`` of the kept
        boxes: detector boxes first, each group by descending score. An index ``>= D``
        is the propagated box ``index - D``.
    """
    d = len(detections)
    dets = np.flatnonzero(detections.scores >= min_score)
    dets = dets[np.argsort(-detections.scores[dets], kind="stable")]
    props = np.flatnonzero(propagated.scores >= min_score)
    props = props[np.argsort(-propagated.scores[props], kind="stable")]
    if not len(props):
        return dets.astype(np.int64)
    boxes = np.concatenate([detections.boxes[dets], propagated.boxes[props]])
    overlap = box_iou(boxes[len(dets):], boxes)                                   # (P, D + P)
    kept = np.ones(len(boxes), bool)
    for i in range(len(props)):
        row = len(dets) + i
        if (overlap[i, :row][kept[:row]] > iou).any():
            kept[row] = False
    return np.r_[dets, d + props[kept[len(dets):]]].astype(np.int64)
