"""The result of a PoseTrack21 evaluation: keypoint HOTA, the kit's mAP and its counts, overall and per sequence."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from posetrack.eval.posetrack21.frames import JOINTS, KIT_JOINT_NAMES
from posetrack.eval.posetrack21.hota import ALPHA0_FIELDS, COUNT_FIELDS, FLOAT_FIELDS, HotaScores
from posetrack.eval.posetrack21.pose_ap import ApItems, ApScores, pose_ap
from posetrack.eval.report import json_float, result_json

__all__ = ["Scores21", "PoseTrack21Result", "COUNTS"]

#: The kit's Count metric.
COUNTS = ("Dets", "GT_Dets", "IDs", "GT_IDs")


def _by_joint(values: np.ndarray) -> Dict[str, Any]:
    """A (16,) row (15 joints, Total) -> {joint: value, ..., "total": value}; a (19, 16) block -> lists."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        return {name: [json_float(v) for v in values[:, k].tolist()] for k, name in enumerate(JOINTS + ("total",))}
    return {name: json_float(v) for name, v in zip(JOINTS + ("total",), values.tolist())}


@dataclass(frozen=True)
class Scores21:
    """The figures of one evaluation (all sequences, or one).

    Attributes:
        hota: keypoint HOTA, fractions (the kit prints x100).
        items: the (score, label) items of the kit's mAP; ``ap`` is computed from them when first read.
        counts: the kit's Count metric (Dets, GT_Dets, IDs, GT_IDs): persons and distinct ids scored.
        frames: labeled (scored) frames.
    """

    hota: HotaScores
    items: ApItems
    counts: Mapping[str, int]
    frames: int

    @cached_property
    def ap(self) -> ApScores:
        """The kit's pose mAP, precision and recall per joint and Total, x100."""
        return pose_ap(self.items)

    def to_json(self) -> Dict[str, Any]:
        """``hota``: {metric: {joint: alpha-mean value, ..., "total": value}}; ``hota_per_alpha``: the same with
        one value per alpha; ``hota_alpha0``; ``ap``, ``ap_precision``, ``ap_recall`` as for 2017/2018; counts."""
        h = self.hota
        return {
            "hota": {f: _by_joint(h.mean(f)) for f in FLOAT_FIELDS + COUNT_FIELDS},
            "hota_per_alpha": {f: _by_joint(h.per_alpha[f]) for f in FLOAT_FIELDS + COUNT_FIELDS},
            "hota_alpha0": {f: _by_joint(h.alpha0[f]) for f in ALPHA0_FIELDS},
            "ap": _by_joint(self.ap.ap), "ap_precision": _by_joint(self.ap.precision),
            "ap_recall": _by_joint(self.ap.recall),
            "ap_parts": {m: self.ap.parts(m) for m in ("ap", "precision", "recall")},
            "counts": dict(self.counts), "evaluated_frames": self.frames,
        }


@dataclass(frozen=True)
class PoseTrack21Result:
    """The result of :func:`posetrack.eval.posetrack21.evaluate.evaluate_posetrack21`.

    Attributes:
        joints: the kit's 15 joints (nose, head_bottom, head_top, left_shoulder, ...).
        alphas: (19,) the HOTA thresholds.
        overall: all sequences combined as the kit combines them.
        sequences: per sequence (file name without ``.json``), every GT file included.
        joint_thr, box_thr: the prediction filters applied (None: the kit's behaviour, no filter).
        warnings: everything worth knowing that did not stop the evaluation (also logged).
    """

    joints: Tuple[str, ...]
    alphas: np.ndarray
    overall: Scores21
    sequences: Mapping[str, Scores21]
    joint_thr: Optional[float] = None
    box_thr: Optional[float] = None
    warnings: Tuple[str, ...] = field(default=())
    benchmark: str = "posetrack21"

    @property
    def kit_joint_names(self) -> Tuple[str, ...]:
        """The kit's column titles for :attr:`joints` (Nose, Neck, Head, LS, ...)."""
        return KIT_JOINT_NAMES

    def to_json(self, per_sequence: bool = False) -> Dict[str, Any]:
        """The ``--json`` document (NaN as null; none occurs in the kit's formulas)."""
        head = {"benchmark": self.benchmark, "joints": list(self.joints), "alphas": self.alphas.tolist()}
        return result_json(self, head, per_sequence)

