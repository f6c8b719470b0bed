"""Keypoint HOTA as the PoseTrack21 kit computes it (its ``HOTAeypoints``), vectorised.

HOTA (Luiten et al., IJCV 2021) per joint, on keypoint similarity instead of box IoU (SPEC.md
sections 3-5 of the project's reference data):

* similarity of a GT and a predicted joint: ``max(0, 1 - d / 0.5001)`` with ``d`` the distance
  divided by the GT's head size (``0.6 * head box diagonal``), 0 where either joint is missing;
* per frame and joint, the pairs of a maximum-similarity linear assignment with similarity
  ``>= alpha - eps`` are true positives, for each of the 19 :data:`ALPHAS`; the assignment is
  scipy's (ties included) through :func:`posetrack.eval.assignment.linear_sum_assignment`, and is
  skipped where every positive pair is the only one of its row and of its column (then those pairs
  are the unique best assignment);
* AssA, AssRe, AssPr from the pair counts over the sequence; FragA counts each maximal run of
  frames in which a GT id's matches go to one predicted id (a run is broken by a match to another
  id, not by frames without a match);
* kit quirk kept: a labeled frame without any prediction adds the **sequence's** count of valid GT
  joints to FN, not the frame's; a sequence without any prediction adds it once (LocA = 1);
* each sequence's Total column is the joint mean (TP, FN, FP: the joint sum); sequences combine by
  summing TP/FN/FP and TP-weighting AssA, AssRe, AssPr, FragA and LocA (:func:`combine_hota`), so
  the combined Total HOTA is ``sqrt(DetA * AssA)`` of pooled counts, not a mean of joints.

Choice where the kit crashes: a labeled frame with no GT person adds its own valid predicted joints
to FP (the kit's unreachable branch would add the sequence's).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Sequence, Tuple

import numpy as np

from posetrack.eval.assignment import linear_sum_assignment
from posetrack.eval.posetrack21.frames import NUM_JOINTS, KitFrames

__all__ = ["ALPHAS", "FLOAT_FIELDS", "COUNT_FIELDS", "ALPHA0_FIELDS", "HotaScores", "keypoint_distances",
           "similarity", "sequence_hota", "combine_hota"]

#: The kit's 19 thresholds, ``numpy.arange(0.05, 0.99, 0.05)`` with its float error (0.15000000000000002).
ALPHAS = np.arange(0.05, 0.99, 0.05)
EPS = np.finfo(float).eps
#: A pair's similarity falls to 0 at this head-normalised distance (the kit's ``1 / 0.5001`` slope).
SIMILARITY_RANGE = 0.5001
FLOAT_FIELDS = ("HOTA", "DetA", "AssA", "FragA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "RHOTA", "FA-HOTA",
                "FA-RHOTA")
COUNT_FIELDS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")
ALPHA0_FIELDS = ("HOTA(0)", "LocA(0)", "HOTALocA(0)", "HOTA_TP(0)", "HOTA_FN(0)", "HOTA_FP(0)")
_A = len(ALPHAS)


@dataclass(frozen=True)
class HotaScores:
    """Keypoint HOTA of one sequence or of all, as fractions (the kit prints x100).

    Attributes:
        per_alpha: field -> (19, 16) float64: rows are :data:`ALPHAS`, columns the 15 joints then Total;
            fields :data:`FLOAT_FIELDS` and :data:`COUNT_FIELDS`.
        alpha0: field -> (16,) float64 at the first alpha (:data:`ALPHA0_FIELDS`).
    """

    per_alpha: Mapping[str, np.ndarray]
    alpha0: Mapping[str, np.ndarray]

    def mean(self, field: str) -> np.ndarray:
        """(16,) the field averaged over the alphas: the value the kit reports."""
        return self.per_alpha[field].mean(axis=0)

    def total(self, field: str) -> float:
        """The reported Total of a field (``mean("HOTA")[-1]`` is "the" HOTA)."""
        return float(self.mean(field)[-1])


def keypoint_distances(kf: KitFrames) -> np.ndarray:
    """(F, G, P, 15) float64 head-normalised GT-to-prediction joint distances; +inf where either joint is
    invalid, and where the GT's head box has size 0 (the kit's 0/0 would be NaN and stop it)."""
    gt, pr = kf.gt, kf.pred
    diff = gt.xy[:, :, None] - pr.xy[:, None]                                  # (F, G, P, J, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.sqrt(diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1]) / gt.head_size[:, :, None, None]
    both = gt.joint_valid[:, :, None] & pr.joint_valid[:, None]
    return np.where(both & ~np.isnan(d), d, np.inf)


def similarity(distance: np.ndarray) -> np.ndarray:
    """The kit's keypoint similarity ``max(-d / 0.5001 + 1, 0)``, same shape as ``distance``."""
    return np.maximum((-1 / SIMILARITY_RANGE) * distance + 1, 0)


def _stars(sim: np.ndarray, pos: np.ndarray, alone: np.ndarray, hard: np.ndarray) -> Tuple[np.ndarray, ...]:
    """The best pair of each (frame, joint) whose contested pairs form one star (one row or one column)
    with a unique best similarity; returns (f, j, g, p) of those and the (F, J) mask they cover."""
    contested = pos & ~alone
    hf, hj = np.nonzero(hard)
    c = contested[hf, :, :, hj]                                                  # (H, G, P)
    v = np.where(c, sim[hf, :, :, hj], -1.0)
    one_row = c.any(axis=2).sum(axis=1) == 1
    one_col = c.any(axis=1).sum(axis=1) == 1
    flat = v.reshape(len(hf), -1)
    best = flat.argmax(axis=1)
    unique = (flat == flat.max(axis=1, keepdims=True)).sum(axis=1) == 1
    ok = (one_row | one_col) & unique
    n_p = v.shape[2]
    done = np.zeros_like(hard)
    done[hf[ok], hj[ok]] = True
    return hf[ok], hj[ok], best[ok] // n_p, best[ok] % n_p, done


def _matches(sim: np.ndarray, n_gt: np.ndarray, n_pr: np.ndarray) -> Tuple[np.ndarray, ...]:
    """(f, g, p, j) of the matched pairs with positive similarity, in frame order.

    A pair alone in its row and its column is in every best assignment; a star of contested pairs
    (one row or one column) with a unique best value contributes that value; any other frame and
    joint goes through the solver, on the whole frame's matrix as the kit solves it.

    Args:
        sim: (F, G, P, J) similarity (0 in padding); n_gt, n_pr: (F,) persons per frame.
    """
    pos = sim > 0
    alone = pos & (pos.sum(axis=2)[:, :, None] == 1) & (pos.sum(axis=1)[:, None] == 1)
    hard = (pos & ~alone).any(axis=(1, 2))                                       # (F, J) contested pairs
    sf, sj, sg, sp, star = _stars(sim, pos, alone, hard) if hard.any() else ((np.zeros(0, np.int64),) * 4
                                                                             + (hard,))
    f, g, p, j = np.nonzero(alone & ~(hard & ~star)[:, None, None])
    parts = [(f, g, p, j), (sf, sg, sp, sj)]
    for hf, hj in zip(*np.nonzero(hard & ~star)):
        m = sim[hf, :n_gt[hf], :n_pr[hf], hj]
        r, c = linear_sum_assignment(-m)
        keep = m[r, c] > 0
        n = int(keep.sum())
        parts.append((np.full(n, hf), r[keep], c[keep], np.full(n, hj)))
    f, g, p, j = (np.concatenate([part[k] for part in parts]).astype(np.int64) for k in range(4))
    order = np.argsort(f, kind="stable")
    return f[order], g[order], p[order], j[order]


def _final(res: Dict[str, np.ndarray]) -> None:
    """The fields that follow from the others (the kit's ``_compute_final_fields``), in place."""
    tp, fn, fp = res["HOTA_TP"], res["HOTA_FN"], res["HOTA_FP"]
    res["DetRe"] = tp / np.maximum(1, tp + fn)
    res["DetPr"] = tp / np.maximum(1, tp + fp)
    res["DetA"] = tp / np.maximum(1, tp + fn + fp)
    res["HOTA"] = np.sqrt(res["DetA"] * res["AssA"])
    res["RHOTA"] = np.sqrt(res["DetRe"] * res["AssA"])
    res["FA-HOTA"] = np.sqrt(res["DetA"] * np.sqrt(res["AssA"] * res["FragA"]))
    res["FA-RHOTA"] = np.sqrt(res["DetRe"] * np.sqrt(res["AssA"] * res["FragA"]))


def _alpha0(res: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    out = {"HOTA(0)": res["HOTA"][0], "LocA(0)": res["LocA"][0]}
    out["HOTALocA(0)"] = out["HOTA(0)"] * out["LocA(0)"]
    out.update({f"{f}(0)": res[f][0] for f in COUNT_FIELDS})
    return out


def _with_total(res: Dict[str, np.ndarray]) -> HotaScores:
    """A sequence's fields with the Total column: joint mean, or joint sum for counts (alpha0 likewise)."""
    _final(res)
    alpha0 = _alpha0(res)
    per_alpha = {f: np.append(res[f], (res[f].sum if f in COUNT_FIELDS else res[f].mean)(axis=1, keepdims=True), 1)
                 for f in FLOAT_FIELDS + COUNT_FIELDS}
    a0 = {f: np.append(v, v.sum() if f.startswith("HOTA_") else v.mean()) for f, v in alpha0.items()}
    return HotaScores(per_alpha, a0)


def _zeros() -> Dict[str, np.ndarray]:
    return {f: np.zeros((_A, NUM_JOINTS)) for f in FLOAT_FIELDS + COUNT_FIELDS}


def _per_id(ids: np.ndarray, valid: np.ndarray, num_ids: int) -> np.ndarray:
    """(num_ids, 15) frames in which each id has each joint valid."""
    flat = ids[..., None] * NUM_JOINTS + np.arange(NUM_JOINTS)
    return np.bincount(flat[valid], minlength=num_ids * NUM_JOINTS).reshape(num_ids, NUM_JOINTS).astype(np.float64)


def _groups(keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(distinct keys sorted, index of each key among them)."""
    order = np.argsort(keys, kind="stable")
    new = np.concatenate([[True], keys[order][1:] != keys[order][:-1]]) if len(keys) else np.zeros(0, bool)
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return keys[order][new], inverse


def _above(levels: np.ndarray, key: np.ndarray, size: int, weights=None) -> np.ndarray:
    """(A, size) sums over the records with ``levels > a``, for each alpha index a.

    A pair that passes alpha a passes every smaller alpha, so one histogram by level, summed from
    the top, gives every alpha's count without repeating the records 19 times.
    """
    hist = np.bincount(levels * size + key, weights, (_A + 1) * size).reshape(_A + 1, size)
    return np.cumsum(hist[::-1], axis=0)[::-1][1:]


def _association(res, level, j, gid, pid, f, sim, gt_count, pr_count) -> None:
    """AssA, AssRe, AssPr, FragA and LocA from the matched pairs (their alpha level, joint, ids, frame, similarity)."""
    n_pr = pr_count.shape[0]
    pairs, k = _groups(gid * n_pr + pid)
    n_k = len(pairs)
    m = _above(level, k * NUM_JOINTS + j, n_k * NUM_JOINTS).reshape(_A, n_k, NUM_JOINTS).astype(np.float64)
    g_of, p_of = pairs // n_pr, pairs % n_pr
    den = np.maximum(1, gt_count[g_of] + pr_count[p_of] - m)                      # (A, K, J)
    tp = np.maximum(1, res["HOTA_TP"])
    res["AssA"] = (m * (m / den)).sum(axis=1) / tp
    res["AssRe"] = (m * (m / np.maximum(1, gt_count[g_of]))).sum(axis=1) / tp
    res["AssPr"] = (m * (m / np.maximum(1, pr_count[p_of]))).sum(axis=1) / tp
    res["FragA"] = _fragments(level, j, gid, pid, f, k, den) / tp
    loc = _above(level, j, NUM_JOINTS, sim)
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, res["HOTA_TP"])


def _fragments(level, j, gid, pid, f, k, den) -> np.ndarray:
    """(A, J) sum over fragments of length**2 / den: a fragment is a maximal run of a GT id's matches
    (at one alpha and joint, in frame order) that go to one predicted id."""
    order = np.lexsort((f, gid, j))                       # by joint, GT id, frame
    level, j, gid, pid, k = level[order], j[order], gid[order], pid[order], k[order]
    a, r = np.nonzero(level[None, :] > np.arange(_A)[:, None])     # a-major: sorted by (alpha, joint, id, frame)
    ja, ga, pa = j[r], gid[r], pid[r]
    start = np.ones(len(r), dtype=bool)
    start[1:] = (a[1:] != a[:-1]) | (ja[1:] != ja[:-1]) | (ga[1:] != ga[:-1]) | (pa[1:] != pa[:-1])
    first = np.flatnonzero(start)
    length = np.diff(np.append(first, len(r))).astype(np.float64)
    af, jf = a[first], ja[first]
    frag = length * (length / den[af, k[r[first]], jf])
    return np.bincount(af * NUM_JOINTS + jf, frag, _A * NUM_JOINTS).reshape(_A, NUM_JOINTS)


def sequence_hota(kf: KitFrames, sim: np.ndarray) -> HotaScores:
    """Keypoint HOTA of one sequence (the kit's ``HOTAeypoints.eval_sequence``).

    Args:
        kf: the sequence's labeled frames (:func:`posetrack.eval.posetrack21.frames.kit_frames`).
        sim: (F, G, P, 15) :func:`similarity` of its :func:`keypoint_distances`.
    """
    gt, pr = kf.gt, kf.pred
    res = _zeros()
    gt_joints = gt.joint_valid.sum(axis=(0, 1)).astype(np.float64)
    if not pr.valid.any() or not gt.valid.any():       # the kit's early exits: no prediction, or no GT
        res["HOTA_FN" if not pr.valid.any() else "HOTA_FP"] += (
            gt_joints if not pr.valid.any() else pr.joint_valid.sum(axis=(0, 1)))
        res["LocA"][:] = 1.0
        return _with_total(res)
    has_gt, has_pr = gt.counts > 0, pr.counts > 0
    both = has_gt & has_pr
    f, g, p, j = _matches(sim, gt.counts, pr.counts)          # only frames with both sides have pairs
    s = sim[f, g, p, j]
    level = np.searchsorted(ALPHAS - EPS, s, side="right")    # passes alpha a  <=>  a < level
    tp = _above(level, j, NUM_JOINTS).astype(np.float64)
    res["HOTA_TP"] = tp
    res["HOTA_FN"] = (gt.joint_valid[both].sum(axis=(0, 1)) - tp
                      + (has_gt & ~has_pr).sum() * gt_joints)                          # the kit's FN quirk
    res["HOTA_FP"] = pr.joint_valid[has_pr].sum(axis=(0, 1)) - tp
    _association(res, level, j, gt.id[f, g], pr.id[f, p], f, s, _per_id(gt.id, gt.joint_valid, gt.num_ids),
                 _per_id(pr.id, pr.joint_valid, pr.num_ids))
    return _with_total(res)


def combine_hota(parts: Sequence[HotaScores]) -> HotaScores:
    """All sequences together, as the kit's ``combine_sequences``: counts summed, association and
    localisation TP-weighted, then DetA, HOTA, ... recomputed (column-wise, Total included)."""
    res: Dict[str, np.ndarray] = {f: sum(p.per_alpha[f] for p in parts) for f in COUNT_FIELDS}
    weight = np.maximum(1.0, res["HOTA_TP"])
    for f in ("AssRe", "AssPr", "AssA", "FragA"):
        res[f] = sum(p.per_alpha[f] * p.per_alpha["HOTA_TP"] for p in parts) / weight
    loc = sum(p.per_alpha["LocA"] * p.per_alpha["HOTA_TP"] for p in parts)
    res["LocA"] = np.maximum(1e-10, loc) / np.maximum(1e-10, res["HOTA_TP"])
    _final(res)
    return HotaScores({f: res[f] for f in FLOAT_FIELDS + COUNT_FIELDS}, _alpha0(res))

