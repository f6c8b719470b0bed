"""The paper's table layout of PoseTrack results: joint groups, totals and poseval's printed rows.

PoseTrack papers report Head, Shou, Elb, Wri, Hip, Knee, Ankl and Total for mAP and for MOTA,
plus the total MOTP, precision and recall. Each group is the plain mean of its joints (NaN if
one is NaN); Total is the mean over the joints that are not NaN, so it is *not* the mean of the
groups (``../shared/eval-parity/SPEC.md`` sections 5.7 and 6).

Example:
    >>> import numpy as np
    >>> from posetrack.eval.report import group_means, nan_total
    >>> values = np.arange(15, dtype=float)
    >>> group_means(values)["Head"], nan_total(values)
    (13.0, 7.0)
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

__all__ = ["PAPER_GROUPS", "group_means", "nan_total", "ap_row", "mot_row", "poseval_row", "json_float", "result_json"]

#: (column title, poseval joint ids) in the order of the papers' tables.
PAPER_GROUPS: Tuple[Tuple[str, Tuple[int, ...]], ...] = (
    ("Head", (14, 12, 13)), ("Shou", (8, 9)), ("Elb", (7, 10)), ("Wri", (6, 11)),
    ("Hip", (2, 3)), ("Knee", (1, 4)), ("Ankl", (0, 5)),
)


def nan_total(values: np.ndarray) -> float:
    """Mean of the non-NaN entries of a (15,) array; NaN if all are NaN."""
    values = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(values)
    return float(values[ok].mean()) if ok.any() else float("nan")


def group_means(values: np.ndarray) -> Dict[str, float]:
    """Plain mean of each paper group of a (15,) per-joint array."""
    values = np.asarray(values, dtype=np.float64)
    return {name: float(np.mean(values[list(ids)])) for name, ids in PAPER_GROUPS}


def ap_row(ap: np.ndarray) -> Dict[str, float]:
    """The paper's mAP row: the seven groups and Total."""
    return {**group_means(ap), "Total": nan_total(ap)}


def mot_row(mota: np.ndarray, motp: np.ndarray, precision: np.ndarray, recall: np.ndarray) -> Dict[str, float]:
    """The paper's MOT row: MOTA of the seven groups, Total MOTA, then total MOTP, Prec and Rec."""
    return {**group_means(mota), "Total": nan_total(mota), "MOTP": nan_total(motp),
            "Prec": nan_total(precision), "Rec": nan_total(recall)}


def poseval_row(row: Mapping[str, float]) -> str:
    """A row as poseval prints it: ``& 63.3 & ... & 62.2 \\\\`` (``%1.1f`` right-aligned to 5)."""
    cells: Sequence[str] = ["%5s" % ("%1.1f" % v) for v in row.values()]
    return "&" + " &".join(cells) + " \\\\"


def json_float(v: float) -> Optional[float]:
    """``v`` as the ``--json`` documents write it: NaN becomes None (null)."""
    return None if v != v else float(v)


def result_json(result: Any, head: Dict[str, Any], per_sequence: bool) -> Dict[str, Any]:
    """The ``--json`` document of an evaluation result, poseval's or PoseTrack21's: ``head`` (benchmark,
    joints, ...), the overall figures, the filters, the warnings and, with ``per_sequence``, each sequence's.

    ``result`` has ``overall`` and ``sequences`` (figures with a ``to_json()``), ``joint_thr``, ``box_thr``
    and ``warnings``.
    """
    out = dict(head)
    out.update(result.overall.to_json())
    out["filters"] = {"joint_thr": result.joint_thr, "box_thr": result.box_thr}
    out["warnings"] = list(result.warnings)
    if per_sequence:
        out["per_sequence"] = {name: s.to_json() for name, s in result.sequences.items()}
    return out
