"""poseval's per-frame matching: PCKh distances (how similar) and its prediction-to-GT assignment (who gets whom).

Vectorised over frames, persons and joints (``../shared/eval-parity/SPEC.md`` section 4):

* distance d[p, g, j] = |GT_gj - P_pj| / (0.6 * head-box diagonal of g), +inf where g does not
  annotate j or p does not predict j; a joint is correct when d <= 0.5;
* pck[p, g] = correct joints / joints g annotates;
* each prediction keeps its best GT (ties: lowest g), then each GT takes the prediction with
  the highest pck among those that chose it (ties: lowest p) if that pck is above 0. This is
  neither a global assignment nor greedy by score.

Example:
    >>> import numpy as np
    >>> from posetrack.eval.matching import assign
    >>> pck = np.array([[[1.0, 0.5], [1.0, 0.0], [0.0, 0.8]]])     # 1 frame, 3 predictions, 2 GT
    >>> assign(pck, np.ones((1, 3), bool), np.ones((1, 2), bool)).tolist()
    [[0, -1, 1]]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetrack.eval.frames import EvalPersons

__all__ = ["PCKH_THRESHOLD", "HEAD_SIZE_FACTOR", "FrameMatches", "head_sizes", "pckh_distances", "assign",
           "match_frames"]

PCKH_THRESHOLD = 0.5
HEAD_SIZE_FACTOR = 0.6
UNASSIGNED = -1


@dataclass(frozen=True)
class FrameMatches:
    """poseval's matching of the F evaluated frames of one sequence (P prediction, G GT slots).

    Attributes:
        distance: (F, P, G, 15) float64 PCKh-normalised distances; +inf where the GT does not
            annotate or the prediction does not predict the joint (NaN for a zero-size head box
            and an exactly matching point, as in poseval).
        correct: (F, P, G, 15) bool, distance <= 0.5.
        assigned: (F, P) int64 GT slot each prediction is assigned to, or -1 (``UNASSIGNED``).
    """

    distance: np.ndarray
    correct: np.ndarray
    assigned: np.ndarray

    def labels(self) -> np.ndarray:
        """(F, P, 15) bool AP label of each predicted joint: correct w.r.t. its assigned GT."""
        n_f, n_p, n_g, n_j = self.correct.shape
        if n_g == 0:
            return np.zeros((n_f, n_p, n_j), dtype=bool)
        g = np.maximum(self.assigned, 0)
        f_idx, p_idx = np.indices(self.assigned.shape)
        return self.correct[f_idx, p_idx, g] & (self.assigned >= 0)[..., None]


def head_sizes(head_box: np.ndarray) -> np.ndarray:
    """0.6 x head-box diagonal (poseval's PCKh normaliser).

    Args:
        head_box: (..., 4) x1, y1, x2, y2.

    Returns:
        (...) float64.
    """
    w = head_box[..., 2] - head_box[..., 0]
    h = head_box[..., 3] - head_box[..., 1]
    return HEAD_SIZE_FACTOR * np.sqrt(w * w + h * h)


def pckh_distances(gt_xy: np.ndarray, gt_has: np.ndarray, head_size: np.ndarray,
                   pr_xy: np.ndarray, pr_has: np.ndarray) -> np.ndarray:
    """Head-normalised distances of every prediction/GT/joint triple of each frame.

    Args:
        gt_xy: (F, G, J, 2) GT joints; gt_has: (F, G, J) bool annotated.
        head_size: (F, G) float64.
        pr_xy: (F, P, J, 2) predicted joints; pr_has: (F, P, J) bool predicted.

    Returns:
        (F, P, G, J) float64, +inf where the joint is missing on either side.
    """
    dx = pr_xy[:, :, None, :, 0] - gt_xy[:, None, :, :, 0]          # (F, P, G, J)
    dy = pr_xy[:, :, None, :, 1] - gt_xy[:, None, :, :, 1]
    norm = np.sqrt(dx * dx + dy * dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = norm / head_size[:, None, :, None]
    both = pr_has[:, :, None] & gt_has[:, None]
    return np.where(both, dist, np.inf)


def assign(pck: np.ndarray, pr_valid: np.ndarray, gt_valid: np.ndarray) -> np.ndarray:
    """poseval's assignment of predictions to GT persons, per frame.

    Args:
        pck: (F, P, G) float64 fraction of GT g's annotated joints that prediction p got right.
        pr_valid: (F, P) bool, gt_valid: (F, G) bool slot masks.

    Returns:
        (F, P) int64 assigned GT slot, or -1.
    """
    n_f, n_p, n_g = pck.shape
    if n_p == 0 or n_g == 0:
        return np.full((n_f, n_p), UNASSIGNED, dtype=np.int64)
    score = np.where(gt_valid[:, None, :], pck, -np.inf)
    best_gt = np.argmax(score, axis=2)                              # (F, P), ties -> lowest g
    chose = (best_gt[:, :, None] == np.arange(n_g)) & pr_valid[:, :, None]
    offer = np.where(chose, score, -np.inf)                         # (F, P, G)
    best_pr = np.argmax(offer, axis=1)                              # (F, G), ties -> lowest p
    best_val = np.max(offer, axis=1)
    winner = np.take_along_axis(best_pr, best_gt, axis=1)           # (F, P): who won my GT
    won = (winner == np.arange(n_p)) & (np.take_along_axis(best_val, best_gt, axis=1) > 0) & pr_valid
    return np.where(won, best_gt, UNASSIGNED)


def match_frames(gt: EvalPersons, pred: EvalPersons) -> FrameMatches:
    """Distances, correct joints and poseval's assignment for the frames of one sequence.

    Both arguments must cover the same evaluated frames. GT persons in frames with predictions
    need a head box (checked by the caller, which knows the file names).
    """
    hs = head_sizes(gt.head_box)
    dist = pckh_distances(gt.xy, gt.has_joint, hs, pred.xy, pred.has_joint)
    correct = dist <= PCKH_THRESHOLD
    n_annotated = gt.has_joint.sum(axis=2)                          # (F, G)
    with np.errstate(divide="ignore", invalid="ignore"):
        pck = correct.sum(axis=3) / np.maximum(n_annotated, 1)[:, None, :]
    return FrameMatches(distance=dist, correct=correct, assigned=assign(pck, pred.valid, gt.valid))
