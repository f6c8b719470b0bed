"""Per-joint CLEAR-MOT as poseval computes it with motmetrics 1.2-1.4 (our own implementation).

Every joint is tracked separately: the GT objects of a frame are the GT persons that annotate
the joint, the hypotheses the predictions that predict it, and a pair may match when its PCKh
distance is <= 0.5 (``../shared/eval-parity/SPEC.md`` section 6). Per frame:

1. continuation: an object keeps the hypothesis it was last paired with if that is present,
   unused and within the threshold (objects in order);
2. the rest is solved as a linear assignment (most pairs, then least total distance) on
   motmetrics' padded cost matrix, by :func:`linear_sum_assignment`: our own implementation of
   the shortest augmenting path algorithm that ``scipy.optimize.linear_sum_assignment`` uses
   (Crouse 2016), with scipy's visiting order and tie rules, so it returns scipy's pairs, ties
   included (checked against scipy on random and tied matrices in the tests); importing
   ``scipy.optimize`` alone costs 0.4 s of a 1 s evaluation; a pair is a
   SWITCH when the object was last paired with another hypothesis (no time limit), with extra
   ASCEND / TRANSFER / MIGRATE events as motmetrics logs them;
3. unpaired objects are misses, unpaired hypotheses false positives.

poseval feeds every evaluated frame of a sequence except the last one; a frame whose GT or
predictions are empty becomes one dummy object and one dummy hypothesis per joint (1 miss and
1 false positive). Its MOTP is 100 * (1 - D / detections) where D sums the distance of *all*
events, including one RAW event per within-threshold pair: not the textbook MOTP.

Step 1 never changes the state (the pair already is the object's last match), so it runs
vectorised over the 15 joints of a frame. So does step 2 where the open pairs share no object
and no hypothesis (then they are the unique best assignment); only the other joints go through
scipy one by one, and duplicate GT track ids (whose order matters) are logged one pair at a time.

Example:
    >>> import numpy as np
    >>> from posetrack.eval.mot import JointTracker, mot_figures
    >>> t = JointTracker(num_objects=1, num_hypotheses=2, num_joints=1)
    >>> d = np.array([[[0.1]], [[np.inf]]])                      # (P=2, G=1, J=1)
    >>> t.update(np.array([0]), np.ones((1, 1), bool), np.array([0, 1]), np.ones((2, 1), bool), d)
    >>> t.update(np.array([0]), np.ones((1, 1), bool), np.array([0, 1]), np.ones((2, 1), bool), d[::-1])
    >>> c = t.counts()
    >>> c.switches.tolist(), c.false_positives.tolist(), mot_figures(c)["mota"].tolist()
    ([1], [2], [-50.0])
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Dict, Tuple

import numpy as np

from posetrack.eval.assignment import linear_sum_assignment
from posetrack.eval.frames import EvalPersons
from posetrack.eval.matching import PCKH_THRESHOLD, FrameMatches
from posetrack.eval.formats import NUM_JOINTS

__all__ = ["MotCounts", "JointTracker", "track_counts", "mot_figures", "solve_assignment", "linear_sum_assignment"]


@dataclass(frozen=True)
class MotCounts:
    """motmetrics' event counts per joint, each (J,): int64 except ``distance`` (float64).

    Attributes:
        objects: GT objects fed (dummies included).
        hypotheses: hypotheses fed (dummies included).
        matches: MATCH events (continuations included).
        switches: SWITCH events.
        transfers, ascends, migrates: the extra events motmetrics logs with some pairs.
        distance: sum of the distance of all events (RAW, MATCH, SWITCH, TRANSFER, ASCEND, MIGRATE).
        frames: frames fed (a scalar).
    """

    objects: np.ndarray
    hypotheses: np.ndarray
    matches: np.ndarray
    switches: np.ndarray
    transfers: np.ndarray
    ascends: np.ndarray
    migrates: np.ndarray
    distance: np.ndarray
    frames: int = 0

    @property
    def detections(self) -> np.ndarray:
        return self.matches + self.switches

    @property
    def misses(self) -> np.ndarray:
        return self.objects - self.detections

    @property
    def false_positives(self) -> np.ndarray:
        return self.hypotheses - self.detections

    @classmethod
    def zeros(cls, num_joints: int = NUM_JOINTS) -> "MotCounts":
        z = np.zeros(num_joints, dtype=np.int64)
        return cls(z, z, z, z, z, z, z, np.zeros(num_joints), 0)

    def __add__(self, other: "MotCounts") -> "MotCounts":
        return MotCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def mot_figures(c: MotCounts) -> Dict[str, np.ndarray]:
    """MOTA, MOTP, precision and recall per joint (x100), poseval's formulas.

    NaN where a denominator is 0, except MOTP, which is 0 without detections (as in poseval).
    """
    det = c.detections.astype(np.float64)
    obj = c.objects.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        errors = (c.misses + c.switches + c.false_positives) / np.where(obj > 0, obj, np.nan)
        mota = 100 * (1 - errors)
        motp = np.where(det > 0, 100 * (1 - c.distance / np.where(det > 0, det, 1)), 0.0)
        precision = 100 * det / (c.false_positives + det)
        recall = 100 * det / obj
    return {"mota": mota, "motp": motp, "precision": precision, "recall": recall}


def solve_assignment(dist: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """motmetrics' assignment: most finite pairs, then least total distance.

    Invalid (NaN) cells get motmetrics' cost 2 * min(rows, cols) * (max |finite| + 1) + 1, and
    :func:`linear_sum_assignment` returns scipy's pairs, so the pairs are motmetrics', ties included.

    Args:
        dist: (R, C) float64, NaN where a pair is not allowed.

    Returns:
        rows, cols: (K,) int64 of the finite pairs, rows ascending.
    """
    valid = np.isfinite(dist)
    if not valid.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not valid.all():
        big = 2 * min(dist.shape) * (np.abs(dist[valid]).max() + 1) + 1
        dist = np.where(valid, dist, big)
    rows, cols = linear_sum_assignment(dist)
    keep = valid[rows, cols]
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


class JointTracker:
    """The per-joint motmetrics accumulators of one sequence, for all joints at once.

    Objects and hypotheses are dense ids ``0..num_objects-1`` / ``0..num_hypotheses-1``.
    State per joint: the hypothesis each object was last paired with, the object each hypothesis
    was last paired with (set in step 2 only), and which objects / hypotheses were ever paired.
    """

    def __init__(self, num_objects: int, num_hypotheses: int, num_joints: int = NUM_JOINTS):
        self.num_joints = num_joints
        self._none_h, self._none_o = num_hypotheses, num_objects    # "never paired" markers
        self.last_h = np.full((num_joints, num_objects), num_hypotheses, dtype=np.int64)
        self.last_o = np.full((num_joints, num_hypotheses), num_objects, dtype=np.int64)
        self.paired_o = np.zeros((num_joints, num_objects), dtype=bool)
        self.paired_h = np.zeros((num_joints, num_hypotheses), dtype=bool)
        self._slot_of_h = np.full(num_hypotheses + 1, -1, dtype=np.int64)
        z = np.zeros(num_joints, dtype=np.int64)
        self._n = {k: z.copy() for k in ("objects", "hypotheses", "matches", "switches", "transfers", "ascends",
                                         "migrates")}
        self._distance = np.zeros(num_joints)
        self._frames = 0

    def update_empty(self) -> None:
        """A frame without GT or without predictions: one unmatched dummy object and hypothesis per joint."""
        self._frames += 1
        self._n["objects"] += 1
        self._n["hypotheses"] += 1

    def update(self, gt_ids: np.ndarray, gt_has: np.ndarray, pr_ids: np.ndarray, pr_has: np.ndarray,
               dist: np.ndarray) -> None:
        """Feed one frame.

        Args:
            gt_ids: (G,) dense object ids (duplicates allowed); gt_has: (G, J) bool, object present for joint j.
            pr_ids: (P,) dense hypothesis ids, unique; pr_has: (P, J) bool.
            dist: (P, G, J) float64 distances; a pair may match where dist <= 0.5 (both present).
        """
        within = (dist <= PCKH_THRESHOLD) & pr_has[:, None, :] & gt_has[None, :, :]
        self.add_counts(gt_has.sum(axis=0), pr_has.sum(axis=0), np.where(within, dist, 0.0).sum(axis=(0, 1)))
        self.step(gt_ids, gt_has, pr_ids, pr_has, within, dist)

    def add_counts(self, objects: np.ndarray, hypotheses: np.ndarray, raw_distance: np.ndarray, frames: int = 1) -> None:
        """The parts of frames that do not depend on the tracking state: (J,) objects and hypotheses
        fed, and the sum of the RAW events' distances (every within-threshold pair)."""
        self._frames += frames
        self._n["objects"] += objects
        self._n["hypotheses"] += hypotheses
        self._distance += raw_distance

    def step(self, gt_ids: np.ndarray, gt_has: np.ndarray, pr_ids: np.ndarray, pr_has: np.ndarray,
             within: np.ndarray, dist: np.ndarray) -> None:
        """The state-dependent part of :meth:`update` (counts added separately by :meth:`add_counts`)."""
        used_g, used_p = self._continue_tracks(gt_ids, gt_has, pr_ids, within, dist)
        rest = (within & ~used_p.T[:, None, :] & ~used_g.T[None, :, :]).transpose(2, 1, 0)   # (J, G, P)
        if not rest.any():
            return
        todo = rest.any(axis=(1, 2))
        simple = todo & (rest.sum(axis=1) <= 1).all(axis=1) & (rest.sum(axis=2) <= 1).all(axis=1)
        # Where the open pairs share no object or hypothesis they are the unique best assignment.
        j_idx, g_idx, p_idx = np.nonzero(rest & simple[:, None, None])
        self._log_pairs(j_idx, gt_ids[g_idx], pr_ids[p_idx], dist[p_idx, g_idx, j_idx])
        for j in np.flatnonzero(todo & ~simple).tolist():
            rows = np.flatnonzero(gt_has[:, j])
            cols = np.flatnonzero(pr_has[:, j])
            open_ = rest[j][np.ix_(rows, cols)]
            r_idx, c_idx = solve_assignment(np.where(open_, dist[:, :, j].T[np.ix_(rows, cols)], np.nan))
            g, p = rows[r_idx], cols[c_idx]
            self._log_pairs(np.full(len(g), j), gt_ids[g], pr_ids[p], dist[p, g, j])

    def _continue_tracks(self, gt_ids, gt_has, pr_ids, within, dist):
        """Step 1 for all joints: objects keep their last hypothesis when present, unused and within reach."""
        n_j, n_g, n_p = self.num_joints, len(gt_ids), len(pr_ids)
        self._slot_of_h[pr_ids] = np.arange(n_p)
        slot = self._slot_of_h[self.last_h[:, gt_ids]]                       # (J, G), -1: not in frame
        self._slot_of_h[pr_ids] = -1
        jj = np.arange(n_j)[:, None]
        gg = np.arange(n_g)[None, :]
        ok = (slot >= 0) & gt_has.T & within[np.maximum(slot, 0), gg, jj]
        j_idx, g_idx = np.nonzero(ok)
        p_idx = slot[j_idx, g_idx]
        key = j_idx * n_p + p_idx
        if len(set(key.tolist())) < len(key):  # two objects claim one hypothesis: the first object wins
            order = np.argsort(key, kind="stable")
            first = np.sort(order[np.concatenate([[True], key[order][1:] != key[order][:-1]])])
            j_idx, g_idx, p_idx = j_idx[first], g_idx[first], p_idx[first]
        used_g = np.zeros((n_j, n_g), dtype=bool)
        used_g[j_idx, g_idx] = True
        used_p = np.zeros((n_j, n_p), dtype=bool)
        used_p[j_idx, p_idx] = True
        self._n["matches"] += np.bincount(j_idx, minlength=n_j)
        self._distance += np.bincount(j_idx, weights=dist[p_idx, g_idx, j_idx], minlength=n_j)
        return used_g, used_p

    def _log_pairs(self, j: np.ndarray, o: np.ndarray, h: np.ndarray, d: np.ndarray) -> None:
        """Log step-2 pairs (ordered by joint, then GT row) with motmetrics' event rules; update the state."""
        if len(j) == 0:
            return
        key = j * (self._none_o + 1) + o
        if len(set(key.tolist())) < len(key):   # duplicate GT track ids: the order within a joint matters
            for args in zip(j.tolist(), o.tolist(), h.tolist(), d.tolist()):
                self._log_pairs(*(np.array([v]) for v in args))
            return
        # Objects (and hypotheses) are distinct within each joint, so the pairs are independent.
        prev_h, prev_o = self.last_h[j, o], self.last_o[j, h]
        switch = (prev_h != self._none_h) & (prev_h != h)
        ascend = switch & ~self.paired_h[j, h]
        transfer = (prev_o != self._none_o) & (prev_o != o)
        migrate = transfer & ~self.paired_o[j, o]
        n_j, n = self.num_joints, self._n
        n["switches"] += np.bincount(j[switch], minlength=n_j)
        n["matches"] += np.bincount(j[~switch], minlength=n_j)
        n["ascends"] += np.bincount(j[ascend], minlength=n_j)
        n["transfers"] += np.bincount(j[transfer], minlength=n_j)
        n["migrates"] += np.bincount(j[migrate], minlength=n_j)
        events = 1 + ascend.astype(np.int64) + transfer + migrate                    # each event carries d
        self._distance += np.bincount(j, weights=d * events, minlength=n_j)
        self.last_h[j, o] = h
        self.last_o[j, h] = o
        self.paired_o[j, o] = True
        self.paired_h[j, h] = True

    def counts(self) -> MotCounts:
        return MotCounts(distance=self._distance.copy(), frames=self._frames,
                         **{k: v.copy() for k, v in self._n.items()})


def _dense(ids: np.ndarray, valid: np.ndarray) -> Tuple[np.ndarray, int]:
    """Track ids -> dense 0..K-1 ids (same shape; 0 in padding) and K."""
    values = ids[valid]
    uniq = np.sort(values)                       # np.unique would import numpy.ma (0.1 s)
    uniq = uniq[np.concatenate([[True], uniq[1:] != uniq[:-1]])] if len(uniq) else uniq
    out = np.zeros(ids.shape, dtype=np.int64)
    out[valid] = np.searchsorted(uniq, values)
    return out, len(uniq)


def track_counts(gt: EvalPersons, pred: EvalPersons, matches: FrameMatches) -> MotCounts:
    """Per-joint CLEAR-MOT counts of one sequence, fed as poseval does.

    All evaluated frames but the last are fed in order; frames with no GT or no prediction
    person are dummy frames (:meth:`JointTracker.update_empty`).
    """
    gt_ids, n_obj = _dense(gt.track_id, gt.valid)
    pr_ids, n_hyp = _dense(pred.track_id, pred.valid)
    tracker = JointTracker(n_obj, n_hyp)
    n_gt, n_pr = gt.counts, pred.counts
    fed = np.arange(len(gt.frames)) < len(gt.frames) - 1           # poseval drops the last evaluated frame
    dummy = fed & ((n_gt == 0) | (n_pr == 0))
    real = fed & ~dummy
    # Counts that do not depend on the tracking state, for all frames at once.
    d = matches.distance                                            # (F, P, G, J)
    within = ((d <= PCKH_THRESHOLD) & pred.has_joint[:, :, None, :] & gt.has_joint[:, None, :, :]
              & real[:, None, None, None])
    # RAW distances per frame, added frame by frame below: the same sums in the same order as
    # feeding each frame whole (the figures stay bit-identical, not just equal to 1e-13).
    raw = np.where(within, d, 0.0).sum(axis=(1, 2))                  # (F, J)
    objects = (gt.has_joint & real[:, None, None]).sum(axis=(0, 1)) + int(dummy.sum())
    hypotheses = (pred.has_joint & real[:, None, None]).sum(axis=(0, 1)) + int(dummy.sum())
    tracker.add_counts(objects, hypotheses, np.zeros(tracker.num_joints), frames=int(fed.sum()))
    for f in np.flatnonzero(real).tolist():
        g, p = int(n_gt[f]), int(n_pr[f])
        tracker.add_counts(0, 0, raw[f], frames=0)
        tracker.step(gt_ids[f, :g], gt.has_joint[f, :g], pr_ids[f, :p], pred.has_joint[f, :p], within[f, :p, :g],
                     d[f, :p, :g])
    return tracker.counts()
