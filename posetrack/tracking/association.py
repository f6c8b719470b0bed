"""How alike a track and a pose are: cost terms behind one protocol, combined by weights from config.

Association is a list of **cost terms**. Each is a small object with a ``cost(tracks, poses)``
method returning a (T, N) matrix for T live tracks and N poses of the frame:

* a value in [0, 1]: 0 alike, 1 unlike;
* NaN: the term has no opinion on that pair (e.g. no appearance seen yet); the other terms decide;
* +inf: the pair is impossible (a gate); it is never matched, whatever the other terms say.

:func:`similarity` combines them: the product of the terms' similarities (one minus their
costs), each raised to its weight from ``TrackerConfig.costs`` — cues multiply like
independent likelihoods; a term with weight 0 is not computed. Terms are chosen by name from :data:`COST_TERMS`, so a new cue is
one new class here and one line in ``configs/tracker.yaml``. The matcher
(:mod:`posetrack.tracking.matching`) then reads only the combined matrix.

Terms:

* ``oks`` — FlowTrack's multi-frame flow-based pose similarity (Xiao et al. 2018, Sec. 3.3):
  the largest OKS between the pose and the track's queued poses, moved into this frame;
  with ``oks_flip`` also of the pose mirrored (left and right swapped: estimators swap them
  when a person turns round).
  A keypoint's variance gets ``oks_floor``² pixels² added (a detector's joints are never
  more precise than a pixel or two, however small the person), and a lost track's poses
  the variance of its predicted position (``lost_growth`` body heights per second).
* ``iou`` — 1 minus the IoU of the track's predicted box and the pose's box (SORT's cue;
  it works where OKS cannot, for people a few pixels tall).
* ``motion`` — how far the pose's box centre lies from where the track's motion model
  predicts it, in the model's own uncertainty (a soft Mahalanobis gate).
* ``appearance`` — 1 minus the similarity of the pose's colour descriptor and the track's
  running one (:mod:`posetrack.tracking.appearance`); +inf where they are clearly different
  (below ``appearance_veto``), NaN where either was not seen well enough.
* ``lost_gate`` (always on, a gate) — a lost track never takes a pose farther from its
  predicted position than ``lost_gate`` body heights (plus ``lost_growth`` per second lost)
  or whose height differs by more than ``lost_scale``. With ``lost_hold`` a lost track also
  stands where it would be had it stopped (``TrackView.held_boxes``, and copies of its queued
  poses moved there): the nearer of the two places counts.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.association import combine
    >>> costs = [(1.0, np.array([[0.2, 0.9]])), (0.5, np.array([[np.nan, np.inf]]))]
    >>> combine(costs, 1, 2).round(3).tolist()          # (N, T) similarity
    [[0.8], [-inf]]
    >>> combine([(1.0, np.array([[0.2]])), (0.5, np.array([[0.36]]))], 1, 1).round(3).tolist()   # 0.8 * 0.64 ** 0.5
    [[0.64]]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Protocol, Sequence, Tuple

import numpy as np

from posetrack.boxes import box_areas, box_centres, box_iou
from posetrack.oks import oks_matrix
from posetrack.tracking.appearance import Appearance
from posetrack.tracking.appearance import similarity as appearance_similarity
from posetrack.types import Poses

__all__ = ["TrackView", "CostTerm", "OksCost", "IouCost", "MotionCost", "AppearanceCost", "LostGate", "COST_TERMS", "combine",
           "similarity", "build_terms"]


@dataclass(frozen=True)
class TrackView:
    """What a cost term may read about the live tracks (T of them, ascending ids).

    Attributes:
        ids: (T,) int64 track ids.
        keypoints: (E, K, 2) float32 the queued poses, moved into this frame.
        keypoint_scores: (E, K) float32 their scores when observed.
        areas: (E,) float64 their box areas.
        column: (E,) int64 which track (0..T-1) each queued pose belongs to.
        boxes: (T, 4) float64 each track's predicted box in this frame.
        heights: (T,) float64 predicted box heights, pixels.
        lost: (T,) float64 seconds each track has been unseen (0 for tracks seen in the last frame).
        position_covariance: (T, 2, 2) float64 covariance of a measured box centre around the
            predicted one (the motion model's), pixels².
        appearance: the tracks' running colour descriptors, or None (appearance off).
        held_boxes: (T, 4) float64 where each track's box would be had it stopped after
            ``lost_hold`` seconds unseen (the queued poses also hold copies moved there, in
            ``column``), or None: only the prediction.
    """

    ids: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    areas: np.ndarray
    column: np.ndarray
    boxes: np.ndarray
    heights: np.ndarray
    lost: np.ndarray
    position_covariance: np.ndarray
    appearance: Optional[Appearance] = None
    held_boxes: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.ids)


class CostTerm(Protocol):
    """One cue of association."""

    def cost(self, tracks: TrackView, poses: Poses, appearance: Optional[Appearance]) -> np.ndarray:
        """(T, N) costs: [0, 1], NaN (no opinion) or +inf (impossible)."""


@dataclass(frozen=True)
class OksCost:
    """1 - FlowTrack's multi-frame flow-based OKS (the best over each track's queued poses)."""

    sigmas: np.ndarray
    joint_score: float
    floor: float = 0.0                 # pixels added (in quadrature) to every keypoint's spread
    lost_growth: float = 0.0           # body heights per second lost added to a lost track's spread
    flip: Optional[np.ndarray] = None  # (K,) slot permutation swapping left and right: also try the mirrored pose

    def cost(self, tracks: TrackView, poses: Poses, appearance: Optional[Appearance]) -> np.ndarray:
        n, t = len(poses), len(tracks)
        if n == 0 or len(tracks.keypoints) == 0:
            return np.ones((t, n))
        thr = self.joint_score
        mask = (poses.keypoint_scores > thr)[:, None, :] & (tracks.keypoint_scores > thr)[None, :, :]   # (N, E, K)
        extra = None
        if self.floor > 0 or (self.lost_growth > 0 and tracks.lost.any()):
            per_track = self.floor ** 2 + (self.lost_growth * tracks.lost * tracks.heights) ** 2
            extra = per_track[tracks.column]
        areas = box_areas(poses.boxes)
        if self.flip is None:
            oks = oks_matrix(poses.keypoints, tracks.keypoints, areas, tracks.areas, self.sigmas, mask, extra)   # (N, E)
        else:                         # a person turning round: the estimator swaps left and right (one call for both)
            f = self.flip
            ok = (poses.keypoint_scores[:, f] > thr)[:, None, :] & (tracks.keypoint_scores > thr)[None, :, :]
            both = oks_matrix(np.concatenate([poses.keypoints, poses.keypoints[:, f]]), tracks.keypoints,
                              np.r_[areas, areas], tracks.areas, self.sigmas, np.concatenate([mask, ok]), extra)
            oks = np.maximum(both[:n], both[n:])
        order = np.argsort(tracks.column, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(tracks.column[order]) != 0])
        best = np.zeros((n, t))
        best[:, tracks.column[order][starts]] = np.maximum.reduceat(oks[:, order], starts, axis=1)
        return 1.0 - best.T


@dataclass(frozen=True)
class IouCost:
    """1 - IoU of each track's predicted box and each pose's box."""

    def cost(self, tracks: TrackView, poses: Poses, appearance: Optional[Appearance]) -> np.ndarray:
        if not len(poses) or not len(tracks):
            return np.ones((len(tracks), len(poses)))
        return 1.0 - box_iou(tracks.boxes, poses.boxes)


@dataclass(frozen=True)
class MotionCost:
    """1 - exp(-d²/2), d the Mahalanobis distance of a pose's box centre from the track's
    predicted centre, under the motion model's covariance (DeepSORT's motion cue, Wojke et al.
    2017, made soft): a pose where the track's own motion puts it costs little, one its motion
    cannot reach costs 1. Two people who cross keep their directions."""

    def cost(self, tracks: TrackView, poses: Poses, appearance: Optional[Appearance]) -> np.ndarray:
        if not len(poses) or not len(tracks):
            return np.ones((len(tracks), len(poses)))
        d = box_centres(poses.boxes)[None] - box_centres(tracks.boxes)[:, None]          # (T, N, 2)
        inv = np.linalg.inv(tracks.position_covariance)                                 # (T, 2, 2)
        m2 = np.einsum("tni,tij,tnj->tn", d, inv, d)
        return 1.0 - np.exp(-0.5 * m2)


@dataclass(frozen=True)
class AppearanceCost:
    """1 - colour similarity of the track's running descriptor and the pose's; +inf below ``veto``."""

    veto: Optional[float] = None

    def cost(self, tracks: TrackView, poses: Poses, appearance: Optional[Appearance]) -> np.ndarray:
        if appearance is None or tracks.appearance is None:
            return np.full((len(tracks), len(poses)), np.nan)
        sim = appearance_similarity(tracks.appearance, appearance)                 # (T, N), NaN: unknown
        cost = 1.0 - sim
        if self.veto is not None:
            cost = np.where(sim < self.veto, np.inf, cost)
        return cost


@dataclass(frozen=True)
class LostGate:
    """+inf where a lost track is too far from the pose, or of another height; 0 elsewhere."""

    reach: float                      # body heights
    growth: float                     # body heights per second lost
    scale: float                      # largest height ratio

    def cost(self, tracks: TrackView, poses: Poses, appearance: Optional[Appearance]) -> np.ndarray:
        t, n = len(tracks), len(poses)
        if not t or not n or not tracks.lost.any():
            return np.zeros((t, n))
        h = tracks.heights
        dist = np.linalg.norm(box_centres(tracks.boxes)[:, None] - box_centres(poses.boxes)[None], axis=2)
        if tracks.held_boxes is not None:     # or where the track would be had it stopped (``lost_hold``)
            dist = np.minimum(dist, np.linalg.norm(box_centres(tracks.held_boxes)[:, None]
                                                   - box_centres(poses.boxes)[None], axis=2))
        ph = np.maximum(poses.boxes[:, 3] - poses.boxes[:, 1], 1.0)[None]
        ratio = np.maximum(ph / h[:, None], h[:, None] / ph)
        ok = (dist <= ((self.reach + self.growth * tracks.lost) * h)[:, None]) & (ratio <= self.scale)
        return np.where((tracks.lost[:, None] == 0) | ok, 0.0, np.inf)


TermFactory = Callable[..., CostTerm]
COST_TERMS: Dict[str, TermFactory] = {
    "oks": lambda cfg, layout: OksCost(layout.sigma_array(), cfg.joint_score, cfg.oks_floor, cfg.lost_growth,
                                       layout.flip_permutation() if cfg.oks_flip else None),
    "iou": lambda cfg, layout: IouCost(),
    "motion": lambda cfg, layout: MotionCost(),
    "appearance": lambda cfg, layout: AppearanceCost(cfg.appearance_veto),
}
"""Cost terms by the name used in ``TrackerConfig.costs``: ``factory(config, layout) -> term``."""


def build_terms(config, layout) -> List[Tuple[float, CostTerm]]:
    """(weight, term) for every term with a positive weight in ``config.costs``, then the lost-track gate."""
    terms = [(float(w), COST_TERMS[name](config, layout)) for name, w in config.costs.items() if w > 0]
    terms.append((0.0, LostGate(config.lost_gate, config.lost_growth, config.lost_scale)))
    return terms


def combine(costs: Sequence[Tuple[float, np.ndarray]], t: int, n: int) -> np.ndarray:
    """(N, T) similarity: the product of the terms' similarities (1 - cost), each raised to its weight.

    Cues multiply like independent likelihoods: a pair must look right on every cue. A term
    weighing 1 (FlowTrack's OKS, by default) sets the scale that ``min_similarity`` is measured
    in; a term weighing less can only lower a pair's similarity a little (its similarity to a
    small power), so a cue on which everyone looks alike (colours, in a crowd dressed in black)
    changes little, and one that tells people apart counts. A term without an opinion on a pair
    (NaN) leaves it alone; a term weighing 0 is a pure gate (only its +inf counts). Where no
    weighted term has an opinion the similarity is 0; where any term is +inf it is -inf. With a
    single weighted term of weight 1 the result is exactly 1 minus its cost.
    """
    weighted = [(w, c) for w, c in costs if w > 0]
    blocked = np.zeros((t, n), bool)
    for _, c in costs:
        blocked |= np.isposinf(c)
    if len(weighted) == 1 and weighted[0][0] == 1.0:
        c = weighted[0][1]
        sim = np.where(np.isfinite(c), 1.0 - np.nan_to_num(c, nan=1.0, posinf=1.0), 0.0)
    else:
        logs = np.zeros((t, n))
        opinions = np.zeros((t, n), bool)
        for w, c in weighted:
            has = np.isfinite(c)
            logs += np.where(has, w * np.log(np.clip(1.0 - np.where(has, c, 0.0), 1e-300, 1.0)), 0.0)
            opinions |= has
        sim = np.where(opinions, np.exp(logs), 0.0)
    return np.where(blocked, -np.inf, sim).T


def similarity(terms: Sequence[Tuple[float, CostTerm]], tracks: TrackView, poses: Poses,
               appearance: Optional[Appearance]) -> np.ndarray:
    """(N, T) combined similarity of every pose and track (see :func:`combine`)."""
    t, n = len(tracks), len(poses)
    if t == 0 or n == 0:
        return np.zeros((n, t))
    return combine([(w, term.cost(tracks, poses, appearance)) for w, term in terms], t, n)
