"""Ambiguous poses: a detection that fits the path of another person, unseen then and in front.

Where two people overlap (walking side by side, or one passing close behind the other), a
detector often finds one box for the two, and the pose estimator fits one of them in it; the
other is not detected. The online tracker hands the pose to one of the two tracks. When it is
the wrong one, that person's id moves to the other track for a few frames and back: two ID
switches. On the labelled real video (``benchmarks/real_video.py``) neither the box, the
joints (their distance to each track's interpolated joints) nor the colours (both people are
in the box) told the poses given to the wrong track from those given to the right one. What
did is depth: in every such case the person who lost the pose was the **nearer** of the two,
by the ground-plane depth order (a camera looking down on people who stand on the ground sees
the nearer one's feet lower in the picture): the person in front, the one the detector should
see, was the one left without a pose.

Refinement therefore leaves such poses out. A pose of track A is **ambiguous** when

* another established track B (at least ``min_poses`` poses) is unseen in that frame but
  seen at most ``max_gap`` frames before and after it;
* A's box overlaps B's box, moved linearly across that gap, by an IoU of at least ``min_iou``;
* and B is expected in front of A there: B's moved box reaches lower in the picture than A's
  own box moved between A's poses on either side of the run of such poses, or A has no pose
  on one side (the run is A's first or last poses: only B's path goes on past it).

Leaving out a pose that was A's costs one detection; keeping one that was B's costs two
switches.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.fragments import Fragment
    >>> def walker(tid, frames, box):
    ...     n = len(frames)
    ...     return Fragment(tid, np.array(frames), np.array(frames), np.tile(box, (n, 1)), np.ones(n),
    ...                     np.zeros((n, 1, 2)), np.ones((n, 1)))
    >>> a = walker(1, range(20), [0.0, 0.0, 40.0, 100.0])                 # A stands still
    >>> b = walker(2, [f for f in range(20) if f not in (9, 10)], [5.0, 10.0, 45.0, 110.0])  # B just in front
    >>> ambiguous_poses({1: a, 2: b}, min_iou=0.6, max_gap=10, min_poses=10)[1].nonzero()[0].tolist()
    [9, 10]
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from posetrack.boxes import paired_iou
from posetrack.tracking.fragments import Fragment

__all__ = ["ambiguous_poses"]


def ambiguous_poses(tracks: Dict[int, Fragment], min_iou: float, max_gap: float, min_poses: int) -> Dict[int, np.ndarray]:
    """Which poses of each track are ambiguous (module docstring).

    Each pose is paired only with the tracks unseen in its frame (a join on frame indices), so
    the work grows with the poses and the people unseen beside them, not with the square of the
    number of tracks.

    Args:
        tracks: fragments by id (ascending frames each).
        min_iou: the IoU of a pose's box with another track's interpolated box that makes it
            ambiguous (0: any overlap; boxes that do not overlap never do).
        max_gap: frames between the other track's poses on either side (longer gaps say too
            little about where that person is); any float, infinity included.
        min_poses: the other track's fewest poses (short pieces are no person's path yet).

    Returns:
        {track id: (n,) bool mask of its ambiguous poses}, for every track.
    """
    lengths = np.array([len(t) for t in tracks.values()], np.int64)
    flat = np.zeros(int(lengths.sum()), bool)
    if len(flat):
        rows = _pose_rows(tracks, lengths)
        hidden = _gap_rows(tracks, max_gap, min_poses, np.unique(rows[1]))
        pose, gap = _same_frame(rows[1], hidden[1])
        iou = paired_iou(rows[2][pose], hidden[2][gap])
        hit = (iou >= min_iou) & (iou > 0)             # boxes apart are never one box, whatever min_iou
        flat[pose[hit][_in_front(rows, lengths, pose[hit], hidden[0][gap[hit]], hidden[2][gap[hit], 3])]] = True
    return dict(zip(tracks, np.split(flat, np.cumsum(lengths)[:-1])))


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``starts[i], starts[i] + 1, ...`` (``counts[i]`` of each), concatenated: (counts.sum(),) int64."""
    counts = np.asarray(counts, np.int64)
    return np.repeat(np.asarray(starts, np.int64) - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


def _pose_rows(tracks: Dict[int, Fragment], lengths: np.ndarray):
    """Every pose as a row, track by track: (track number (N,), frame (N,), box (N, 4))."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    frames = np.concatenate([np.asarray(t.frames, np.int64) for t in tracks.values()])
    return owner, frames, np.concatenate([np.asarray(t.boxes, np.float64).reshape(-1, 4) for t in tracks.values()])


def _gap_rows(tracks: Dict[int, Fragment], max_gap: float, min_poses: int, frames: np.ndarray):
    """Where each established track is unseen, in those of ``frames`` (ascending) that lie inside
    its gaps of at most ``max_gap`` frames: (track number (M,), frame (M,), box moved across the gap (M, 4))."""
    parts = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)))]
    for n, t in enumerate(tracks.values()):
        steps = np.diff(t.frames)
        j = np.flatnonzero((steps > 1) & (steps <= max_gap)) if len(t) >= min_poses else []
        if not len(j):
            continue
        first = np.searchsorted(frames, t.frames[j], "right")
        count = np.searchsorted(frames, t.frames[j + 1], "left") - first
        at, j = frames[_ranges(first, count)], np.repeat(j, count)
        f0, f1 = t.frames[j], t.frames[j + 1]
        parts.append((np.full(len(j), n), at, _between(t.boxes[j], t.boxes[j + 1], (at - f0) / (f1 - f0))))
    return tuple(np.concatenate(column) for column in zip(*parts))


def _same_frame(a: np.ndarray, b: np.ndarray):
    """Every pair (i, j) with ``a[i] == b[j]``: two (P,) int64 arrays of indices."""
    order = np.argsort(b, kind="stable")
    lo, hi = np.searchsorted(b[order], a, "left"), np.searchsorted(b[order], a, "right")
    return np.repeat(np.arange(len(a)), hi - lo), order[_ranges(lo, hi - lo)]


def _in_front(rows, lengths: np.ndarray, pose: np.ndarray, other: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Which hits (pose row ``pose`` on the path of track ``other``, whose moved box reaches down to
    ``bottom``) stand where the other track is expected in front: mask (H,)."""
    owner, frames, boxes = rows
    if not len(pose):
        return np.zeros(0, bool)
    order = np.lexsort((pose, other))                 # by other track, then pose row (rows run track by track)
    pose, other, bottom = pose[order], other[order], bottom[order]
    start = np.r_[True, (np.diff(pose) != 1) | (np.diff(other) != 0) | (np.diff(owner[pose]) != 0)]
    run = np.cumsum(start) - 1                        # runs of one track's consecutive poses on one path
    ends = np.r_[np.flatnonzero(start)[1:], len(pose)] - 1
    before, after = pose[start][run] - 1, pose[ends][run] + 1
    offsets = np.cumsum(lengths) - lengths
    at_end = (before < offsets[owner[pose]]) | (after >= offsets[owner[pose]] + lengths[owner[pose]])
    before, after = np.where(at_end, pose, before), np.where(at_end, pose, after)
    w = (frames[pose] - frames[before]) / np.maximum(frames[after] - frames[before], 1)
    mine = (1 - w) * boxes[before, 3] + w * boxes[after, 3]
    out = np.zeros(len(pose), bool)
    out[order] = at_end | (bottom > mine)          # the other's feet lower in the picture: nearer
    return out


def _between(b0: np.ndarray, b1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Boxes moved linearly from ``b0`` to ``b1`` ((n, 4) or (1, 4)) by fractions ``w`` (n,)."""
    w = np.asarray(w, np.float64)[:, None]
    return (1 - w) * b0 + w * b1
