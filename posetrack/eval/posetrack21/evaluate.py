"""Score PoseTrack21 predictions as the official kit does: keypoint HOTA and pose mAP, per sequence and combined.

One JSON file per sequence on each side, paired by file name (:mod:`posetrack.eval.files`). The numbers
equal the kit's (anDoer/PoseTrack21 ``eval/posetrack21`` at commit 3e61960: ``run_posetrack_challenge.py``
for HOTA, ``run_pose_estimation.py`` for mAP) to ~1e-15 on every set we compared; SPEC.md of the
project's reference data describes every rule copied. Pipeline per sequence: read both files
(:mod:`.read`), pair frames by image id, preprocess as the kit (:mod:`.frames`), compute distances,
then HOTA (:mod:`.hota`) and the mAP items (:mod:`.pose_ap`). Sequences are combined as the kit
combines them; mAP ranks the items of all sequences together.

Choices where the kit crashes, refuses or differs, besides those of the modules above:

* a missing prediction file is scored as a sequence without predictions (warning; the kit raises);
* a labeled frame without any GT person (none annotated, or none left by the ignore regions) is
  scored as a frame nobody is in (warning; the kit crashes);
* ``joint_thr`` / ``box_thr`` (not in the kit, but how papers cut low-confidence output): predicted
  joints scored below ``joint_thr`` become missing (0, 0), persons whose ``score`` is below
  ``box_thr`` are dropped (persons without ``score`` stay), and so is a person left without a joint.

Example:
    >>> from posetrack.eval.posetrack21.evaluate import evaluate_posetrack21
    >>> result = evaluate_posetrack21("tests/data/eval-parity-pt21/public/gt",
    ...                               "tests/data/eval-parity-pt21/public/pred")       # doctest: +SKIP
    >>> round(result.overall.hota.total("HOTA"), 5), round(result.overall.ap.ap[-1], 3)  # doctest: +SKIP
    (0.3123, 64.412)
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from types import MappingProxyType
from typing import Dict, List, Optional, Tuple

import numpy as np

from posetrack.eval.files import Files, Pair, collapse_warnings, sequence_files
from posetrack.eval.order import out_of_order
from posetrack.eval.posetrack21.frames import JOINTS, KitFrames, kit_frames
from posetrack.eval.posetrack21.hota import (ALPHAS, HotaScores, combine_hota, keypoint_distances, sequence_hota,
                                             similarity)
from posetrack.eval.posetrack21.pose_ap import ApItems, ap_items, concat_items
from posetrack.eval.posetrack21.read import Sequence21, load_sequence21, pack_sequence21, pair_frames21
from posetrack.eval.posetrack21.result import COUNTS, PoseTrack21Result, Scores21
from posetrack.eval.workers import score_all

__all__ = ["evaluate_posetrack21", "score_filter21"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Part:
    """What one sequence contributes (picklable: worker processes return it)."""

    hota: HotaScores
    items: ApItems
    counts: Dict[str, int]
    frames: int
    warnings: Tuple[str, ...]


def _no_predictions(gt: Sequence21, name: str) -> Sequence21:
    n = 0
    z = np.zeros(n, dtype=np.int64)
    return Sequence21(source=f"<no predictions for {name}>", image_ids=gt.image_ids, image_names=gt.image_names,
                      is_labeled=np.zeros(gt.num_frames, bool), regions=((),) * gt.num_frames,
                      frame_start=np.zeros(gt.num_frames + 1, np.int64), annotation=z, track_id=z,
                      has_track_id=z.astype(bool), keypoints=np.zeros((n, 17, 2)), has_keypoints=z.astype(bool),
                      integer_keypoints=z.astype(bool), scores=np.zeros((n, 17)), head_box=np.zeros((n, 4)),
                      has_head_box=z.astype(bool), box_score=np.zeros(n))


def score_filter21(seq: Sequence21, joint_thr: Optional[float], box_thr: Optional[float]):
    """(keep_person (N,), keep_joint (N, 17)) bool after the optional score thresholds, or (None, None)."""
    if joint_thr is None and box_thr is None:
        return None, None
    valid = (seq.keypoints[..., 0] > 0) & (seq.keypoints[..., 1] > 0)
    keep_joint = np.ones(seq.scores.shape, dtype=bool) if joint_thr is None else seq.scores >= joint_thr
    keep = ~(valid.any(axis=1) & ~(valid & keep_joint).any(axis=1))
    if box_thr is not None:
        keep &= np.isnan(seq.box_score) | (seq.box_score >= box_thr)
    return keep, keep_joint


def _frame_warnings(gt: Sequence21, kf: KitFrames, warnings: List[str]) -> None:
    empty = np.flatnonzero(kf.gt.counts == 0)
    if len(empty):
        t = int(kf.frames[empty[0]])
        warnings.append(f"{gt.source}: {len(empty)} labeled frame(s) without any GT person (first: "
                        f"{gt.frame_label(t)}; none annotated, or none left by the ignore regions); scored as frames "
                        f"nobody is in, every prediction there a false positive (the kit crashes on them)")
    zero = kf.gt.valid & ~(kf.gt.head_size > 0) & kf.gt.joint_valid.any(axis=2) & (kf.pred.counts > 0)[:, None]
    if zero.any():
        f, s = (int(v[0]) for v in np.nonzero(zero))
        warnings.append(f"{gt.where(int(kf.gt.index[f, s]))}: head box of size 0; this person's joints can never be "
                        f"matched ({int(zero.sum())} such person(s) in the file; the kit stops with an error if a "
                        f"prediction lies exactly on one of them)")


def _score_sequence(joint_thr: Optional[float], box_thr: Optional[float], pair: Pair) -> _Part:
    name, gt_path, pred_path = pair
    gt_src = load_sequence21(gt_path, gt=True)
    gt = pack_sequence21(gt_src, gt_src.is_labeled, gt=True)
    warnings = list(gt.warnings)
    order_warning = out_of_order(gt.source, gt.image_names, gt.image_ids)
    if order_warning:
        warnings.append(order_warning)
    if pred_path is None:
        pred = _no_predictions(gt, name)
        order = np.arange(gt.num_frames)
    else:
        pred_src = load_sequence21(pred_path, gt=False)
        order, pairing = pair_frames21(gt_src, pred_src)
        scored = np.zeros(pred_src.num_frames, dtype=bool)
        scored[order[gt.is_labeled]] = True
        pred = pack_sequence21(pred_src, scored, gt=False)
        warnings.extend(pred.warnings + tuple(pairing))
    keep, keep_joint = score_filter21(pred, joint_thr, box_thr)
    kf = kit_frames(gt, pred, order, warnings, keep, keep_joint)
    _frame_warnings(gt, kf, warnings)
    distance = keypoint_distances(kf)
    counts = {"Dets": int(kf.pred.counts.sum()), "GT_Dets": int(kf.gt.counts.sum()), "IDs": kf.pred.num_ids,
              "GT_IDs": kf.gt.num_ids}
    return _Part(sequence_hota(kf, similarity(distance)), ap_items(kf, distance), counts, len(kf.frames),
                 tuple(warnings))


def _scores(hota: HotaScores, items: ApItems, counts: Dict[str, int], frames: int) -> Scores21:
    return Scores21(hota=hota, items=items, counts=MappingProxyType(counts), frames=frames)


def evaluate_posetrack21(gt: Files, pred: Files, joint_thr: Optional[float] = None, box_thr: Optional[float] = None,
                         workers: Optional[int] = 1, pairs: Optional[List[Pair]] = None,
                         warnings: Optional[List[str]] = None) -> PoseTrack21Result:
    """Keypoint HOTA and pose mAP of PoseTrack21 predictions, identical to the official kit.

    Args:
        gt: the GT folder (``*.json``, one per sequence), one file, a list of files, or {name: path}.
        pred: the predictions, matched to GT files by name (see :func:`posetrack.eval.files.sequence_files`).
        joint_thr, box_thr: optional score cuts applied first (None: none, as the kit).
        workers: processes that score sequences (1: this one; None: two on a 2+ core machine with 8+
            sequences); the result is the same either way.
        pairs, warnings: the file pairs and their warnings when the caller already paired them.

    Returns:
        a :class:`PoseTrack21Result`; its warnings are also logged.

    Raises:
        OSError: a folder or file cannot be read.
        PoseTrackFormatError: invalid input; one line naming the file, frame, annotation and field.
    """
    if pairs is None:
        pairs, warnings = sequence_files(gt, pred)
    warnings = list(warnings or [])
    parts: Dict[str, _Part] = dict(zip([p[0] for p in pairs],
                                       score_all(functools.partial(_score_sequence, joint_thr, box_thr), pairs,
                                                 workers)))
    for part in parts.values():
        warnings.extend(part.warnings)
    warnings = collapse_warnings(warnings)
    for w in warnings:
        logger.warning(w)
    values = list(parts.values())
    counts = {k: sum(p.counts[k] for p in values) for k in COUNTS}
    overall = _scores(combine_hota([p.hota for p in values]), concat_items([p.items for p in values]), counts,
                      sum(p.frames for p in values))
    sequences = {name: _scores(p.hota, p.items, p.counts, p.frames) for name, p in parts.items()}
    return PoseTrack21Result(joints=JOINTS, alphas=ALPHAS.copy(), overall=overall,
                             sequences=MappingProxyType(sequences), joint_thr=joint_thr, box_thr=box_thr,
                             warnings=tuple(warnings))

