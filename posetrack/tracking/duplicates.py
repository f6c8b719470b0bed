"""Near-duplicate poses of one person in one frame: found, merged before association, caught after it.

A detector (or a detector plus propagated boxes) can give one person two poses that agree to a
few pixels; tracked as they come, the person's id flips between two tracks (sleap #401). Two
people standing close give boxes overlapping by IoU 0.4-0.7 and poses that differ. So a pair
is a duplicate when its poses' OKS (over the joints confident in both) reaches
``duplicate_oks``, or its boxes overlap by IoU of ``duplicate_box_iou`` or more (both measured:
``configs/tracker.yaml``). Before association each group of duplicates keeps as many poses as
established tracks want them (:func:`unique_poses`); after it, an unmatched pose that
duplicates a matched one is not allowed to start a track (:func:`tracked_duplicates`), and a
track takes the best-scored pose of its group (:func:`best_of_duplicates`).

Example:
    >>> import numpy as np
    >>> from posetrack.keypoints import COCO
    >>> from posetrack.types import Poses
    >>> from posetrack.tracking.duplicates import duplicate_pairs
    >>> kp = np.random.default_rng(0).uniform(100, 200, (1, 17, 2)).repeat(2, 0)
    >>> poses = Poses(np.array([[90, 90, 210, 210]] * 2), np.array([0.9, 0.8]), kp, np.full((2, 17), 0.9))
    >>> duplicate_pairs(poses, COCO.sigma_array(), 0.4, 0.7, 0.8).tolist()
    [[False, True], [True, False]]
"""
from __future__ import annotations

import numpy as np

from posetrack.boxes import box_areas, box_iou
from posetrack.oks import oks_matrix
from posetrack.tracking.matching import Matches
from posetrack.types import Poses

__all__ = ["duplicate_pairs", "unique_poses", "tracked_duplicates", "best_of_duplicates", "components"]


def duplicate_pairs(poses: Poses, sigmas: np.ndarray, joint_score: float, duplicate_oks: float,
                    duplicate_box_iou: float) -> np.ndarray:
    """(N, N) bool: which poses of one frame are near-duplicates of each other (the diagonal is False).

    Args:
        poses: the frame's N poses.
        sigmas: (K,) OKS sigmas of the layout.
        joint_score: joints above this in both poses are compared.
        duplicate_oks: OKS at or above which two poses are one person's.
        duplicate_box_iou: box IoU at or above which they are.
    """
    conf = poses.keypoint_scores > joint_score
    areas = box_areas(poses.boxes)
    oks = oks_matrix(poses.keypoints, poses.keypoints, areas, areas, sigmas, conf[:, None] & conf[None])
    same = (oks >= duplicate_oks) | (box_iou(poses.boxes, poses.boxes) >= duplicate_box_iou)
    np.fill_diagonal(same, False)
    return same


def unique_poses(poses: Poses, sim: np.ndarray, same: np.ndarray, established: np.ndarray,
                 min_similarity: float) -> np.ndarray:
    """Indices (ascending) of the poses left after merging near-duplicates, before association.

    Near-duplicates form groups (connected components of ``same``); a group keeps its
    best-scored poses, as many as the established tracks that match any of its poses, and at
    least one: two people walking into each other keep both their poses, one person's two
    poses keep the better one.

    Args:
        poses: N poses.
        sim: (N, T) similarity of the poses to the live tracks.
        same: (N, N) bool from :func:`duplicate_pairs`.
        established: (T,) bool, the tracks seen often enough (``min_hits``) to count.
        min_similarity: a track wants a pose at this similarity or more.
    """
    n = len(poses)
    linked = same.copy()
    np.fill_diagonal(linked, True)
    if n < 2 or linked.sum() == n:
        return np.arange(n)
    cluster = components(linked)
    wanted = (sim >= min_similarity) & established[None] if sim.size else np.zeros((n, 0), bool)
    keep = np.zeros(n, bool)
    for c in np.unique(cluster):
        members = np.flatnonzero(cluster == c)
        people = int(wanted[members].any(0).sum()) if wanted.size else 0
        order = members[np.lexsort((members, -poses.box_scores[members]))]
        keep[order[:max(1, min(len(members), people))]] = True
    return np.flatnonzero(keep)


def tracked_duplicates(poses: Poses, matches: Matches, sim: np.ndarray, same: np.ndarray,
                       min_similarity: float, nms_iou: float) -> np.ndarray:
    """(N, P) bool: unmatched pose i is a near-duplicate of the pose of match k.

    By ``same``, or because the matched track wants it too (similarity at least
    ``min_similarity``) and its box overlaps the matched pose's by more than ``nms_iou``
    (FlowTrack's "same person" overlap). Matched rows are all False.
    """
    r, c = matches.pairs[:, 0], matches.pairs[:, 1]
    overlap = box_iou(poses.boxes, poses.boxes[r]) > nms_iou
    dup = same[:, r] | ((sim[:, c] >= min_similarity) & overlap)
    dup[r] = False
    return dup


def best_of_duplicates(poses: Poses, matches: Matches, sim: np.ndarray, dup: np.ndarray,
                       min_similarity: float) -> Matches:
    """A track whose pose has an unmatched near-duplicate (``dup``, from :func:`tracked_duplicates`)
    with a higher box score, that the track wants too, takes that one instead."""
    if not len(matches.pairs) or not dup.any():
        return matches
    pairs = matches.pairs.copy()
    taken = set(pairs[:, 0].tolist())
    for k, (r, c) in enumerate(matches.pairs):
        better = [u for u in np.flatnonzero(dup[:, k]) if u not in taken and poses.box_scores[u] > poses.box_scores[r]
                  and sim[u, c] >= min_similarity]
        if better:
            u = max(better, key=lambda i: (poses.box_scores[i], -i))
            taken.discard(int(r))
            taken.add(int(u))
            pairs[k, 0] = u
    return Matches.from_pairs(pairs, *sim.shape)


def components(linked: np.ndarray) -> np.ndarray:
    """(N,) label of each node's connected component (its lowest member) in a symmetric (N, N) bool adjacency."""
    n = len(linked)
    label = np.arange(n)
    for _ in range(n):
        new = np.where(linked, label[None, :], n).min(1)
        if np.array_equal(new, label):
            break
        label = new
    return label
