"""Score PoseTrack predictions as the official poseval does: per-joint AP and per-joint CLEAR-MOT.

One JSON file per sequence on each side, matched by file name; 2017 (``annolist``) and 2018
(COCO-style) files can be mixed. The numbers equal poseval's (svenkreiss/poseval 3128c5c with
motmetrics 1.2-1.4) to ~1e-13: see ``../shared/eval-parity/SPEC.md`` for every rule we copy.

Pipeline per sequence: read the GT, pick the frames poseval evaluates (GT rect list non-empty),
read the predictions on those frames, drop low-confidence predictions if asked
(:func:`score_filter`), apply poseval's keypoint test and ignore regions
(:mod:`posetrack.eval.frames`), match (:mod:`posetrack.eval.matching`), then collect AP entries
(:mod:`posetrack.eval.ap`) and MOT counts (:mod:`posetrack.eval.mot`). AP is computed over the
entries of all sequences, MOT from the summed counts, as poseval does.

Choices where poseval gives no number (it crashes) or where we differ on purpose:

* sequences are taken in sorted file-name order (poseval: file-system order; this only matters
  for the order of tied scores);
* a missing prediction file is scored as a file without predictions (warning); prediction files
  without a GT file are ignored (warning);
* frames are paired by image name (2017 and 2018), else by image id (2018), else by position
  (poseval: always by position, so a file listing its frames in another order was scored
  against the wrong frames): :func:`posetrack.eval.frames.pair_frames`;
* predicted joints without a score get poseval's -9999 and one warning with their count;
* a scored GT frame without a prediction frame, a prediction frame matching no GT frame, a
  frame-count mismatch (by position), a missing ``track_id`` on a scored person, a duplicate prediction
  track id within an evaluated frame, a GT person without head box in a frame with predictions,
  malformed JSON or values: ValueError naming the file, frame and field;
* track ids >= 10000 (poseval asserts) and negative ones are scored normally, with a warning
  for the former;
* a sequence with exactly one evaluated frame (poseval: IndexError) counts for AP but feeds no
  frame to tracking (poseval drops the last evaluated frame of each sequence);
* a zero-size GT head box makes that person unmatchable (as poseval's inf/NaN distances do),
  with a warning;
* every frame of every file is validated (:mod:`posetrack.validation`), scored or not;
* ``joint_thr`` / ``box_thr`` (not in poseval, but how papers report MOTA) drop predicted points
  with a score below ``joint_thr`` (a point without score counts as -9999, as in poseval) and
  persons whose box score is below ``box_thr`` (persons without a box score are kept); a person
  whose points were all dropped is removed.

Example:
    >>> from posetrack.eval.evaluate import evaluate
    >>> result = evaluate("../shared/eval-parity/public/gt", "../shared/eval-parity/public/pred")  # doctest: +SKIP
    >>> round(result.overall.total("ap"), 2), round(result.overall.total("mota"), 2)  # doctest: +SKIP
    (62.15, 37.82)
"""
from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from posetrack.errors import ConfigError, InputError
from posetrack.eval.ap import MIN_SCORE, ApEntries, ap_entries, average_precision, concat_entries
from posetrack.eval.checks import (check_head_boxes, check_pred_track_ids, check_scored_persons, check_track_id_range,
                                   warn_repeats)
from posetrack.eval.detect import POSETRACK21, POSEVAL, benchmark_of
from posetrack.eval.files import Files, Pair, collapse_warnings, sequence_files
from posetrack.eval.formats import JOINT_NAMES, PoseTrackFile, empty_posetrack, load_posetrack, pack_posetrack
from posetrack.eval.frames import eval_persons, evaluated_frames, pair_frames
from posetrack.eval.matching import match_frames
from posetrack.eval.mot import MotCounts, mot_figures, track_counts
from posetrack.eval.order import out_of_order
from posetrack.eval.report import json_float, nan_total, result_json
from posetrack.eval.workers import score_all

if TYPE_CHECKING:
    from posetrack.eval.posetrack21.result import PoseTrack21Result

__all__ = ["Scores", "EvalResult", "evaluate", "score_filter", "sequence_files", "check_threshold"]

logger = logging.getLogger(__name__)


#: metric names of :class:`Scores` in the --json layout (MOT precision / recall are the table's Prec / Rec).
METRICS = ("ap", "ap_precision", "ap_recall", "mota", "motp", "precision", "recall")


@dataclass(frozen=True)
class Scores:
    """The figures of one evaluation (all sequences, or one), per joint in poseval's order, x100.

    Attributes:
        ap: (15,) float64 AP per joint (PCKh@0.5); NaN where poseval gives NaN.
        ap_precision, ap_recall: (15,) precision and recall at the lowest score.
        mota, motp, precision, recall: (15,) CLEAR-MOT per joint (poseval's MOTP).
        num_gt: (15,) int64 annotated GT joints.
        counts: the summed motmetrics event counts.
        frames: evaluated frames.
    """

    ap: np.ndarray
    ap_precision: np.ndarray
    ap_recall: np.ndarray
    mota: np.ndarray
    motp: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    num_gt: np.ndarray
    counts: MotCounts
    frames: int

    def total(self, metric: str) -> float:
        """poseval's Total: the mean over the joints whose value is not NaN."""
        if metric not in METRICS:
            raise InputError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
        return nan_total(getattr(self, metric))

    def to_json(self) -> Dict[str, Any]:
        """Every metric as {joint name: value, ..., "total": value}; NaN becomes None."""
        out: Dict[str, Any] = {}
        for metric in METRICS:
            values = getattr(self, metric)
            row = {name: json_float(v) for name, v in zip(JOINT_NAMES, values.tolist())}
            row["total"] = json_float(self.total(metric))
            out[metric] = row
        c = self.counts
        out["mot_counts"] = {k: dict(zip(JOINT_NAMES, getattr(c, k).tolist())) for k in
                             ("objects", "misses", "switches", "false_positives", "matches", "distance")}
        out["evaluated_frames"] = self.frames
        return out


@dataclass(frozen=True)
class EvalResult:
    """The result of :func:`evaluate`.

    Attributes:
        joints: the 15 joint names in poseval's order.
        overall: all sequences together (AP over all entries, MOT from summed counts).
        sequences: per sequence (name without ``.json``), as poseval's ``--saveEvalPerSequence``;
            sequences without an evaluated frame are left out.
        joint_thr, box_thr: the prediction filters applied (None: poseval's behaviour, no filter).
        warnings: everything worth knowing that did not stop the evaluation (also logged).
    """

    joints: Tuple[str, ...]
    overall: Scores
    sequences: Mapping[str, Scores]
    joint_thr: Optional[float] = None
    box_thr: Optional[float] = None
    warnings: Tuple[str, ...] = field(default=())
    benchmark: str = POSEVAL

    def to_json(self, per_sequence: bool = False) -> Dict[str, Any]:
        """The ``--json`` document: joints, ap, mota, motp, precision, recall (+ extras), NaN as null."""
        return result_json(self, {"benchmark": self.benchmark, "joints": list(self.joints)}, per_sequence)


# ----------------------------------------------------------------------------- inputs


#: Largest absolute score threshold: scores in tracks files are bounded by the same value
#: (:data:`posetrack.validation.MAX_COORD`); poseval's "no score" is -9999.
MAX_THRESHOLD = 1e5


def check_threshold(name: str, value: Optional[float]) -> Optional[float]:
    """``value`` as a float when it is None or a finite number within +-MAX_THRESHOLD.

    Raises:
        ConfigError: a bool, a non-number, NaN, an infinity or a value beyond the range, naming ``name``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name}={value!r}: expected a number", field=name)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not -MAX_THRESHOLD <= number <= MAX_THRESHOLD:     # NaN fails both comparisons
        raise ConfigError(f"{name}={number!r} is out of range: a score threshold is a finite number "
                          f"within +-{MAX_THRESHOLD:g}", field=name)
    return number



def score_filter(seq: PoseTrackFile, joint_thr: Optional[float] = None,
                 box_thr: Optional[float] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Which prediction persons and points survive the score thresholds.

    Points with a score below ``joint_thr`` (no score: -9999, as in poseval) are dropped, then
    persons with a box score below ``box_thr`` (persons without a box score stay) and persons whose
    points were all dropped.

    Returns:
        keep_person (N,) bool, keep_point (M,) bool.
    """
    keep_point = np.ones(len(seq.point_xy), dtype=bool)
    keep_person = np.ones(seq.num_persons, dtype=bool)
    if joint_thr is not None:
        keep_point = np.where(seq.point_has_score, seq.point_score, MIN_SCORE) >= joint_thr
        had = np.diff(seq.point_start) > 0
        kept = np.bincount(seq.point_person[keep_point], minlength=seq.num_persons) > 0
        keep_person &= ~had | kept
    if box_thr is not None:
        keep_person &= ~seq.has_box_score | (seq.box_score >= box_thr)
    return keep_person, keep_point


# ----------------------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class _SequenceScore:
    entries: ApEntries
    counts: MotCounts
    frames: int
    unscored: int = 0     # scored predicted joints without a score
    warnings: Tuple[str, ...] = ()


def _score_sequence(joint_thr, box_thr, pair: Pair) -> _SequenceScore:
    name, gt_path, pred_path = pair
    warnings: List[str] = []
    gt_src = load_posetrack(gt_path)
    gt_file = pack_posetrack(gt_src)
    frames = evaluated_frames(gt_file)
    warnings.extend(gt_file.warnings)
    order_warning = out_of_order(gt_file.source, gt_src.image_names, gt_src.image_ids)
    if order_warning:
        warnings.append(order_warning)
    if pred_path is None:
        pred_file = empty_posetrack(gt_file.num_frames, f"<no predictions for {name}>")
    else:
        pred_src = load_posetrack(pred_path)
        order, how = pair_frames(gt_src, pred_src, frames)
        pred_file = pack_posetrack(pred_src, order)
        warnings.extend(pred_file.warnings)
        if how != "position" and (np.diff(order[frames]) < 0).any():
            warnings.append(f"{pred_src.source}: the frames are listed in another order than in the GT file; they "
                            f"are paired by {how} (poseval pairs frames by position, so it would score them against "
                            f"other frames)")
    check_pred_track_ids(pred_file)
    warn_repeats(gt_file, "GT", warnings)
    warn_repeats(pred_file, "predicted", warnings)
    check_track_id_range(gt_file, warnings)
    check_track_id_range(pred_file, warnings)
    keep_person, keep_point = score_filter(pred_file, joint_thr, box_thr)
    gt = eval_persons(gt_file, frames, gt_file.ignore_regions)
    pred = eval_persons(pred_file, frames, gt_file.ignore_regions, keep_person, keep_point)
    check_scored_persons(gt_file, gt, "GT")
    check_scored_persons(pred_file, pred, "predicted")
    check_head_boxes(gt_file, gt, pred, warnings)
    if len(frames) == 0:
        warnings.append(f"{gt_path}: no frame with GT annotations; the sequence is not scored")
    elif len(frames) == 1:
        warnings.append(f"{gt_path}: only one evaluated frame; it counts for AP but not for tracking "
                        f"(poseval drops the last evaluated frame of each sequence from tracking, and crashes here)")
    matches = match_frames(gt, pred)
    unscored = int((pred.valid[..., None] & pred.has_joint & ~pred.has_score).sum())
    return _SequenceScore(ap_entries(gt, pred, matches), track_counts(gt, pred, matches), len(frames), unscored,
                          tuple(warnings))



def _unscored_warning(parts: Mapping[str, _SequenceScore]) -> List[str]:
    unscored = {name: p.unscored for name, p in parts.items() if p.unscored}
    if not unscored:
        return []
    return [f"{sum(unscored.values())} predicted joint(s) in {len(unscored)} file(s) "
            f"({', '.join(n + '.json' for n in list(unscored)[:3])}{' ...' if len(unscored) > 3 else ''}) "
            f"have no score; they get poseval's {MIN_SCORE:g}, so they rank below every scored joint "
            f"and tie with each other in AP"]


def _scores(entries: ApEntries, counts: MotCounts, frames: int) -> Scores:
    ap, ap_pre, ap_rec = average_precision(entries)
    mot = mot_figures(counts)
    return Scores(ap=ap, ap_precision=ap_pre, ap_recall=ap_rec, mota=mot["mota"], motp=mot["motp"],
                  precision=mot["precision"], recall=mot["recall"], num_gt=entries.num_gt, counts=counts,
                  frames=frames)


def evaluate(gt: Files, pred: Files, joint_thr: Optional[float] = None, box_thr: Optional[float] = None,
             workers: Optional[int] = 1, format: str = "auto") -> Union[EvalResult, "PoseTrack21Result"]:
    """Score predictions against PoseTrack ground truth, identical to the benchmark's official evaluator.

    PoseTrack 2017/2018 ground truth gets poseval's mAP and per-joint MOTA / MOTP / precision / recall
    (an :class:`EvalResult`); PoseTrack21 ground truth gets the official kit's keypoint HOTA and pose
    mAP (a :class:`posetrack.eval.posetrack21.result.PoseTrack21Result`). Which one is decided from
    the GT files (:mod:`posetrack.eval.detect`) unless ``format`` names it.

    Args:
        gt: the GT folder (``*.json``, one per sequence), one GT file, a list of GT files, or {name: path}.
        pred: the prediction folder, one file, a list of files, or {name: path}; matched to GT by file
            name (one GT file and one prediction file are a pair whatever their names).
        joint_thr: drop predicted points scored below this first (None: keep all, as poseval).
        box_thr: drop predicted persons whose box score is below this first (None: keep all).
        workers: processes that score sequences (1: this one only; None: two where the machine
            has two cores and there are at least 8 sequences). Extra processes are forked, and
            only where that is safe (POSIX, torch not loaded); the result is the same either way.
        format: ``"auto"``, or the GT's benchmark: ``"posetrack2017"`` / ``"posetrack2018"``
            (poseval; each file is read in its own format, as poseval does) or ``"posetrack21"``.

    Returns:
        an :class:`EvalResult` or a ``PoseTrack21Result``; its ``warnings`` are also logged.

    Raises:
        OSError: a folder or file cannot be read (FileNotFoundError: ``gt`` or ``pred`` does not exist).
        ConfigError: a threshold that is not a finite number within +-1e5, or ``workers`` < 1.
        ValueError: invalid input; the message names the file, frame and field.
    """
    joint_thr = check_threshold("joint_thr", joint_thr)
    box_thr = check_threshold("box_thr", box_thr)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"workers={workers!r}: expected an integer >= 1, or None", field="workers")
    pairs, warnings = sequence_files(gt, pred)
    if benchmark_of([g for _, g, _ in pairs], format) == POSETRACK21:
        from posetrack.eval.posetrack21.evaluate import evaluate_posetrack21

        return evaluate_posetrack21(gt, pred, joint_thr, box_thr, workers, pairs=pairs, warnings=warnings)
    parts: Dict[str, _SequenceScore] = dict(zip([name for name, _, _ in pairs],
                                                score_all(functools.partial(_score_sequence, joint_thr, box_thr), pairs, workers)))
    for p in parts.values():
        warnings.extend(p.warnings)
    total_frames = sum(p.frames for p in parts.values())
    if total_frames == 0:
        raise InputError(f"none of the {len(parts)} GT file(s) has a frame with annotations (a non-empty "
                         f"'annorect' / annotations of an image); nothing to evaluate")
    warnings = collapse_warnings(warnings) + _unscored_warning(parts)
    for w in warnings:
        logger.warning(w)
    counts = MotCounts.zeros()
    for p in parts.values():
        counts = counts + p.counts
    overall = _scores(concat_entries([p.entries for p in parts.values()]), counts, total_frames)
    sequences = {name: _scores(p.entries, p.counts, p.frames) for name, p in parts.items() if p.frames}
    return EvalResult(joints=JOINT_NAMES, overall=overall, sequences=MappingProxyType(sequences), joint_thr=joint_thr,
                      box_thr=box_thr, warnings=tuple(warnings))
