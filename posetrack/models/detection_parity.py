"""Compare two runs of one detector (PyTorch and an exported copy) on the boxes whose fate is stable.

A detector ends in two hard decisions: a score threshold and greedy NMS (plus a cap on the number of
detections). Two runtimes that agree to 1e-6 can still disagree on a box whose score sits at the
threshold, or on which of two overlapping boxes with (nearly) tied scores NMS keeps: with seeded random
weights every score is often the same number, and the survivors then depend on each runtime's sort.
So the comparison pairs the detections that are the same box (same label, IoU >= ``same_iou``),
measures the coordinate error on those pairs, and lets a box of one run go unpaired only when a hard
decision could have tipped for it:

- its score is within ``score_margin`` of the score threshold, or of the lowest score kept when the
  run hit its detection cap; or
- the other run kept a box of the same label that overlaps it by more than ``nms_iou - iou_margin``
  with a score at least its own minus ``score_margin`` (greedy NMS only suppresses a box through a
  kept box of higher score that overlaps it by more than the NMS IoU: torchvision ``batched_nms``,
  ONNX ``NonMaxSuppression``).

Any other unpaired box is a real difference.

Example:
    >>> import numpy as np
    >>> a = Detections(np.array([[0, 0, 10, 10.]]), np.array([1]), np.array([0.9]))
    >>> compare_detections(a, a, DecisionRule(score_thresh=0.05, nms_iou=0.5)).compared
    1
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetrack.boxes import box_iou

__all__ = ["Detections", "DecisionRule", "DetectionParity", "compare_detections"]


@dataclass(frozen=True)
class Detections:
    """One image's detections, in the detector's output order.

    Attributes:
        boxes: (N, 4) float, x1 y1 x2 y2 in input pixels.
        labels: (N,) int class labels.
        scores: (N,) float scores in [0, 1].
    """

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class DecisionRule:
    """The detector's hard decisions and the margins within which they may tip.

    Attributes:
        score_thresh: boxes scoring below it are dropped (torchvision ``box_score_thresh``, 0.05).
        nms_iou: NMS IoU threshold (torchvision ``box_nms_thresh``, 0.5).
        max_detections: detections kept per image (``box_detections_per_img``, 100); None for no cap.
        score_margin: score differences below this count as ties.
        iou_margin: IoUs within this of ``nms_iou`` count as on the threshold.
        same_iou: two boxes of one label overlapping at least this much are the same detection.
    """

    score_thresh: float
    nms_iou: float
    max_detections: int | None = None
    score_margin: float = 1e-3
    iou_margin: float = 0.05
    same_iou: float = 0.9


@dataclass(frozen=True)
class DetectionParity:
    """Result of :func:`compare_detections`.

    Attributes:
        compared: pairs of the same detection found in both runs.
        max_abs_error: largest coordinate difference over those pairs (pixels; 0 when none).
        tipped: unpaired boxes explained by a decision on its threshold (left out of the comparison).
        unexplained: unpaired boxes that no tipping decision explains, as (run, index) with run 0 or 1.
    """

    compared: int
    max_abs_error: float
    tipped: int
    unexplained: tuple


def _pairs(a: Detections, b: Detections, same_iou: float) -> list[tuple[int, int]]:
    """Greedy pairing in ``a``'s order: each box takes the free same-label box of ``b`` it overlaps most."""
    if len(a.boxes) == 0 or len(b.boxes) == 0:
        return []
    iou = box_iou(np.asarray(a.boxes, np.float64), np.asarray(b.boxes, np.float64))
    iou[np.asarray(a.labels)[:, None] != np.asarray(b.labels)[None, :]] = 0.0
    pairs, free = [], np.ones(len(b.boxes), bool)
    for i in range(len(a.boxes)):
        row = np.where(free, iou[i], 0.0)
        j = int(row.argmax())
        if row[j] >= same_iou:
            pairs.append((i, j))
            free[j] = False
    return pairs


def _may_tip(run: Detections, other: Detections, i: int, rule: DecisionRule) -> bool:
    """Whether box ``i`` of ``run`` could be missing from ``other`` by a decision on its threshold."""
    score = float(run.scores[i])
    floor = rule.score_thresh
    if rule.max_detections is not None and len(other.scores) >= rule.max_detections:
        floor = max(floor, float(np.min(other.scores)))
    if score < floor + rule.score_margin:
        return True
    same = np.asarray(other.labels) == run.labels[i]
    if not same.any():
        return False
    iou = box_iou(np.asarray(run.boxes[i:i + 1], np.float64), np.asarray(other.boxes[same], np.float64))[0]
    return bool(np.any((iou > rule.nms_iou - rule.iou_margin) & (other.scores[same] >= score - rule.score_margin)))


def compare_detections(want: Detections, got: Detections, rule: DecisionRule) -> DetectionParity:
    """Pair the same detections of two runs and measure their coordinate error (see the module docstring).

    Args:
        want: the reference run (PyTorch).
        got: the run under test (ONNX Runtime).
        rule: the detector's thresholds and the margins within which they may tip.

    Returns:
        the number of pairs, their largest coordinate error, and the unpaired boxes, split into those a
        tipping decision explains and those it does not.
    """
    pairs = _pairs(want, got, rule.same_iou)
    paired = ({i for i, _ in pairs}, {j for _, j in pairs})
    err = max((float(np.abs(np.asarray(want.boxes[i], np.float64) - got.boxes[j]).max()) for i, j in pairs),
              default=0.0)
    tipped, unexplained = 0, []
    for side, (run, other) in enumerate(((want, got), (got, want))):
        for i in range(len(run.boxes)):
            if i in paired[side]:
                continue
            if _may_tip(run, other, i, rule):
                tipped += 1
            else:
                unexplained.append((side, i))
    return DetectionParity(len(pairs), err, tipped, tuple(unexplained))
