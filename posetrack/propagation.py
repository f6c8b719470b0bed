"""FlowTrack's box propagation: people the detector missed, recovered from the previous frame.

Xiao et al. 2018, Sec. 3.2: the joints of each person in frame k-1 are moved by the
optical flow F(k-1 -> k); the bounding box of the moved joints, "extended by some
extent (15% in experiments)", is a box proposal for frame k. The proposals are unified
with the detector's boxes by NMS *before* pose estimation, so a person the detector
missed in frame k still gets a pose.

Pipeline order for one frame::

    tracker.propagate(flow)                                   # queue -> frame k
    proposals = tracker.propose_boxes()                       # the moved poses' boxes
    kept = unify_boxes(detections, proposals,                 # indices into [detections; proposals]
                       iou=cfg.nms_iou, min_score=cfg.box_score)
    boxes = Detections.concat([detections, proposals]).select(kept)
    poses = estimator.estimate(image, boxes)                  # HRNet on the unified boxes
    result = tracker.update(k, poses)

Example:
    >>> import numpy as np
    >>> from posetrack.structures import Detections
    >>> from posetrack.propagation import unify_boxes
    >>> dets = Detections(np.array([[0, 0, 10, 10]]), np.array([0.9]))
    >>> props = Detections(np.array([[1, 1, 11, 11], [50, 50, 60, 60]]), np.array([0.95, 0.8]))
    >>> unify_boxes(dets, props, iou=0.5).tolist()      # detection 0 and proposal 1 (index 1 + 1)
    [0, 2]
"""
from __future__ import annotations

import numpy as np

from .boxes import nms
from .flow import propagate_points
from .structures import Detections, Poses

__all__ = ["joint_boxes", "pose_scores", "propagate_boxes", "unify_boxes"]


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
    """
    ks = np.asarray(keypoint_scores, dtype=np.float64)
    conf = ks > joint_score
    mean = np.divide(np.where(conf, ks, 0).sum(1), conf.sum(1), out=np.zeros(len(ks)), where=conf.any(1))
    return (np.asarray(box_scores, np.float64) * mean).astype(np.float32)


def propagate_boxes(poses: Poses, flow: np.ndarray, joint_score: float = 0.4, expand: float = 0.15) -> Detections:
    """FlowTrack box proposals: frame k-1's poses moved by F(k-1 -> k), boxed and expanded.

    Args:
        poses: the people of frame k-1.
        flow: (H, W, 2) flow from frame k-1 to frame k.
        joint_score: joints at or below this score are not moved or boxed.
        expand: relative growth of the joints' box.

    Returns:
        Boxes for frame k scored by :func:`pose_scores` of their source poses; poses
        without two confident joints give no box.
    """
    moved = propagate_points(flow, poses.keypoints)
    boxes, valid = joint_boxes(moved, poses.keypoint_scores, joint_score, expand)
    return Detections(boxes[valid], pose_scores(poses.box_scores, poses.keypoint_scores, joint_score)[valid])


def unify_boxes(detections: Detections, propagated: Detections, iou: float, min_score: float = 0.0) -> np.ndarray:
    """Which of the detector and propagated boxes survive NMS, as indices (like ``torchvision.ops.nms``).

    Boxes scoring below ``min_score`` are dropped first (FlowTrack keeps detections with
    score 0.5 and up). NMS then ranks every detector box above every propagated box,
    each group by score: where both cover a person the detector's box, measured in this
    frame, is kept, and a propagated box survives only where no kept box overlaps it by
    more than ``iou`` — the detector miss it exists for. (The paper says only "unified
    by NMS"; this order is our choice.)

    Args:
        detections: the detector's boxes of frame k (D boxes).
        propagated: box proposals of frame k (P boxes), from ``PoseTracker.propose_boxes``.
        iou: NMS overlap threshold.
        min_score: minimum box score.

    Returns:
        (U,) int64 indices into the concatenation ``[detections; propagated]`` of the kept
        boxes: detector boxes first, each group by descending score. An index ``>= D``
        is the propagated box ``index - D``.
    """
    boxes = np.concatenate([detections.boxes, propagated.boxes])
    scores = np.concatenate([detections.scores, propagated.scores])
    source = np.r_[np.zeros(len(detections)), np.ones(len(propagated))]       # 0 = detector
    candidates = np.flatnonzero(scores >= min_score)
    order = candidates[np.lexsort((-scores[candidates], source[candidates]))]
    return order[nms(boxes[order], iou)].astype(np.int64)
