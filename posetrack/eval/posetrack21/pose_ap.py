"""Pose-estimation mAP as the PoseTrack21 kit computes it (its ``PosemAP``), vectorised.

On the same frames and persons as keypoint HOTA (SPEC.md section 6 of the project's reference data):

* a GT and a predicted joint match when their head-normalised distance is ``<= 0.5``;
  ``pck[g, p]`` = matching joints / valid joints of g (the raw count, 0, when g has none);
* each prediction keeps only its best GT (the first maximum in GT order), then each GT takes the
  prediction with the highest remaining pck (the first maximum in prediction order), if above 0;
* every valid predicted joint is one (score, label) item: labelled with the joint's match to its
  GT if the prediction was taken, else a false positive; items of all frames of all sequences (in
  sorted sequence order) are ranked per joint by score, reversing numpy's default argsort as the
  kit does (ties keep numpy's order);
* recall divides by ``max(GT joints, 1)``, AP is the VOC all-points area, precision and recall are
  the last values, all x100; a joint without items gets 0; Total is the mean of the 15 joints.

Choice where the kit crashes: a labeled frame with no GT person makes every prediction's joints
false positives (the kit's branch for it holds a NameError).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np

from posetrack.eval.ap import voc_ap
from posetrack.eval.posetrack21.frames import NUM_JOINTS, KitFrames

__all__ = ["PCKH_THRESHOLD", "PARTS", "ApItems", "ap_items", "concat_items", "pose_ap", "ApScores"]

PCKH_THRESHOLD = 0.5
#: The kit's printed groups (joint indexes in :data:`posetrack.eval.posetrack21.frames.JOINTS`), in its order
#: of summation (Head = head_top, head_bottom, nose; Ankl = right, left).
PARTS: Tuple[Tuple[str, Tuple[int, ...]], ...] = (
    ("Head", (2, 1, 0)), ("Shou", (3, 4)), ("Elb", (5, 6)), ("Wri", (7, 8)), ("Hip", (9, 10)), ("Knee", (11, 12)),
    ("Ankl", (14, 13)))


@dataclass(frozen=True)
class ApItems:
    """The (score, label) items of some frames, in the kit's order (frame, then prediction, then joint).

    Attributes:
        score: (R,) float64; label: (R,) bool; joint: (R,) int64 joint index 0..14.
        num_gt: (15,) int64 valid GT joints in the same frames.
    """

    score: np.ndarray
    label: np.ndarray
    joint: np.ndarray
    num_gt: np.ndarray


@dataclass(frozen=True)
class ApScores:
    """The kit's mAP figures, x100.

    Attributes:
        ap, precision, recall: (16,) float64: the 15 joints, then Total (their mean).
    """

    ap: np.ndarray
    precision: np.ndarray
    recall: np.ndarray

    def parts(self, metric: str = "ap") -> Dict[str, float]:
        """The kit's printed row: Head, Shou, Elb, Wri, Hip, Knee, Ankl, Total."""
        values = getattr(self, metric)
        return {**{name: float(values[list(ids)].mean()) for name, ids in PARTS}, "Total": float(values[-1])}


def _assigned(pck: np.ndarray, gt_valid: np.ndarray, pr_valid: np.ndarray) -> np.ndarray:
    """(F, P) GT slot each prediction is taken by, or -1: the kit's two first-maximum steps.

    Args:
        pck: (F, G, P) float64; gt_valid: (F, G), pr_valid: (F, P) bool.
    """
    n_f, n_g, n_p = pck.shape
    if n_g == 0 or n_p == 0:
        return np.full((n_f, n_p), -1, dtype=np.int64)
    scores = np.where(gt_valid[:, :, None] & pr_valid[:, None, :], pck, -1.0)       # padding never wins
    best_g = scores.argmax(axis=1)                                                 # (F, P) first maximum
    kept = np.where(np.arange(n_g)[None, :, None] == best_g[:, None, :], scores, 0.0)
    kept = np.where(pr_valid[:, None, :], kept, -1.0)
    best_p = kept.argmax(axis=2)                                                   # (F, G) first maximum
    taken = (kept.max(axis=2) > 0) & gt_valid
    out = np.full((n_f, n_p), -1, dtype=np.int64)
    f, g = np.nonzero(taken)
    out[f, best_p[f, g]] = g
    return out


def ap_items(kf: KitFrames, distance: np.ndarray) -> ApItems:
    """The items and GT counts of one sequence.

    Args:
        kf: its labeled frames; distance: (F, G, P, 15) head-normalised distances (+inf where invalid).
    """
    gt, pr = kf.gt, kf.pred
    match = distance <= PCKH_THRESHOLD                                             # (F, G, P, J)
    n_ann = gt.joint_valid.sum(axis=2)                                             # (F, G)
    count = match.sum(axis=3).astype(np.float64)
    pck = np.where(n_ann[:, :, None] > 0, count / np.maximum(n_ann, 1)[:, :, None], count)
    taken = _assigned(pck, gt.valid, pr.valid)
    f, p = np.nonzero(pr.valid)
    g = taken[f, p]
    label = np.zeros((len(f), NUM_JOINTS), dtype=bool)
    if match.shape[1]:
        label = match[f, np.maximum(g, 0), p] & (g >= 0)[:, None]                  # (R', J)
    has = pr.joint_valid[f, p]
    _, joint = np.nonzero(has)
    return ApItems(score=pr.score[f, p][has], label=label[has], joint=joint.astype(np.int64),
                   num_gt=gt.joint_valid.sum(axis=(0, 1)).astype(np.int64))


def concat_items(parts: Sequence[ApItems]) -> ApItems:
    """Items of several sequences pooled in the given order."""
    return ApItems(score=np.concatenate([p.score for p in parts]), label=np.concatenate([p.label for p in parts]),
                   joint=np.concatenate([p.joint for p in parts]),
                   num_gt=np.sum([p.num_gt for p in parts], axis=0).astype(np.int64))


def _joint_ap(score: np.ndarray, label: np.ndarray, num_gt: int) -> Tuple[float, float, float]:
    if len(score) == 0:
        return 0.0, 0.0, 0.0
    order = np.argsort(score)[::-1]                # the kit's ranking, ties in numpy's order
    tp = np.cumsum(label[order])
    recall = tp / max(num_gt, 1)
    precision = tp / np.arange(1, len(score) + 1)
    return voc_ap(recall, precision) * 100, float(precision[-1]) * 100, float(recall[-1]) * 100


def pose_ap(items: ApItems) -> ApScores:
    """Per-joint AP, precision and recall of the items, with Total (their mean)."""
    out = np.zeros((3, NUM_JOINTS + 1))
    for j in range(NUM_JOINTS):
        mine = items.joint == j
        out[:, j] = _joint_ap(items.score[mine], items.label[mine], int(items.num_gt[j]))
    out[:, -1] = out[:, :-1].mean(axis=1)
    return ApScores(ap=out[0], precision=out[1], recall=out[2])
