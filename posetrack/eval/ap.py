"""Multi-person pose estimation AP per joint, as poseval computes it (PCKh@0.5, VOC-style AP).

Every predicted joint becomes one (score, label) entry: labelled correct when its person is
assigned to a GT person (:func:`posetrack.eval.matching.assign`) whose same joint lies within
0.5 head sizes. Entries of all frames are ranked by score per joint; AP is the area under the
monotone precision/recall curve (``../shared/eval-parity/SPEC.md`` section 5):

* a point without a score ranks with score -9999 (:data:`MIN_SCORE`);
* a joint without any prediction gets AP = precision = recall = 0 (even with no GT);
* a joint with predictions but no GT gets NaN (0/0 recall), as in poseval;
* precision and recall are reported at the lowest score; all values are x100.

Example:
    >>> import numpy as np
    >>> from posetrack.eval.ap import joint_ap
    >>> joint_ap(np.array([0.9, 0.8, 0.3]), np.array([True, False, True]), num_gt=4)
    (41.666666666666664, 66.66666666666666, 50.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

from posetrack.eval.frames import EvalPersons
from posetrack.eval.matching import FrameMatches
from posetrack.eval.formats import NUM_JOINTS
from posetrack.keypoints import POSEVAL_MISSING_SCORE

__all__ = ["MIN_SCORE", "ApEntries", "ap_entries", "concat_entries", "joint_ap", "voc_ap", "average_precision"]

#: poseval's score for a predicted point that has none.
MIN_SCORE = POSEVAL_MISSING_SCORE


@dataclass(frozen=True)
class ApEntries:
    """AP inputs of some frames: one row per prediction, in frame then file order (poseval's order).

    Attributes:
        scores: (R, 15) float64 point scores (MIN_SCORE where the point has none).
        labels: (R, 15) bool, the joint is correct w.r.t. the assigned GT person.
        predicted: (R, 15) bool, the prediction has the joint (only these rows are entries).
        num_gt: (15,) int64 annotated GT joints in the same frames.
    """

    scores: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    num_gt: np.ndarray


def ap_entries(gt: EvalPersons, pred: EvalPersons, matches: FrameMatches) -> ApEntries:
    """The (score, label) entries and GT counts of the evaluated frames of one sequence."""
    keep = pred.valid.reshape(-1)
    n_j = NUM_JOINTS
    scores = np.where(pred.has_score, pred.score, MIN_SCORE).reshape(-1, n_j)[keep]
    labels = matches.labels().reshape(-1, n_j)[keep]
    predicted = pred.has_joint.reshape(-1, n_j)[keep]
    num_gt = (gt.has_joint & gt.valid[..., None]).sum(axis=(0, 1)).astype(np.int64)
    return ApEntries(scores=scores, labels=labels & predicted, predicted=predicted, num_gt=num_gt)


def concat_entries(parts: Sequence[ApEntries]) -> ApEntries:
    """Entries of several sequences, in the given order."""
    if not parts:
        empty = np.zeros((0, NUM_JOINTS))
        return ApEntries(empty, empty.astype(bool), empty.astype(bool), np.zeros(NUM_JOINTS, dtype=np.int64))
    return ApEntries(scores=np.concatenate([p.scores for p in parts]),
                     labels=np.concatenate([p.labels for p in parts]),
                     predicted=np.concatenate([p.predicted for p in parts]),
                     num_gt=np.sum([p.num_gt for p in parts], axis=0))


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope (VOC style), recall and precision in [0, 1], shape (n,)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1                # NaN recall counts as a step
    return float(np.sum((mrec[step] - mrec[step - 1]) * mpre[step]))


def joint_ap(scores: np.ndarray, labels: np.ndarray, num_gt: int) -> Tuple[float, float, float]:
    """AP, precision and recall (x100) of one joint's entries.

    Args:
        scores: (n,) float64; labels: (n,) bool; num_gt: annotated GT joints.

    Returns:
        (ap, precision, recall), NaN where poseval gives NaN (predictions without GT).
    """
    n = len(scores)
    if n == 0:
        return 0.0, 0.0, 0.0
    # poseval reverses numpy's default (unstable) ascending argsort; we do the same.
    order = np.argsort(scores)[::-1]
    tp = np.cumsum(labels[order])
    precision = tp / np.arange(1, n + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp / np.float64(num_gt)
    return voc_ap(recall, precision) * 100, float(precision[-1]) * 100, float(recall[-1]) * 100


def average_precision(entries: ApEntries) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-joint AP, precision and recall, each (15,) float64 x100."""
    out = np.zeros((3, NUM_JOINTS))
    for j in range(NUM_JOINTS):
        mask = entries.predicted[:, j]
        out[:, j] = joint_ap(entries.scores[mask, j], entries.labels[mask, j], int(entries.num_gt[j]))
    return out[0], out[1], out[2]
