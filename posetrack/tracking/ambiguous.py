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


def ambiguous_poses(tracks: Dict[int, Fragment], min_iou: float, max_gap: int, min_poses: int) -> Dict[int, np.ndarray]:
    """Which poses of each track are ambiguous (module docstring).

    Args:
        tracks: fragments by id (ascending frames each).
        min_iou: the IoU of a pose's box with another track's interpolated box that makes it ambiguous.
        max_gap: frames between the other track's poses on either side (longer gaps say too
            little about where that person is).
        min_poses: the other track's fewest poses (short pieces are no person's path yet).

    Returns:
        {track id: (n,) bool mask of its ambiguous poses}, for every track.
    """
    masks = {tid: np.zeros(len(t), bool) for tid, t in tracks.items()}
    spans = {tid: (int(t.frames[0]), int(t.frames[-1])) for tid, t in tracks.items() if len(t)}
    for b, tb in tracks.items():
        if len(tb) < min_poses:
            continue
        steps = np.diff(tb.frames)
        gaps = np.flatnonzero((steps > 1) & (steps <= max_gap))
        if not len(gaps):
            continue
        lo, hi = int(tb.frames[gaps[0]]), int(tb.frames[gaps[-1] + 1])
        for a, ta in tracks.items():
            if a != b and a in spans and spans[a][1] > lo and spans[a][0] < hi:
                masks[a] |= _in_front(ta, tb, min_iou, max_gap)
    return masks


def _in_front(ta: Fragment, tb: Fragment, min_iou: float, max_gap: int) -> np.ndarray:
    """(len(ta),) mask: poses of ``ta`` where ``tb`` is unseen, expected in front of ``ta`` and where the pose is."""
    k = np.searchsorted(tb.frames, ta.frames)                      # tb's next pose at or after each of ta's
    kk = np.clip(k, 1, len(tb) - 1)
    f0, f1 = tb.frames[kk - 1], tb.frames[kk]
    unseen = (k > 0) & (k < len(tb)) & (f1 != ta.frames) & (f1 - f0 <= max_gap)
    if not unseen.any():
        return unseen
    there = _between(tb.boxes[kk - 1], tb.boxes[kk], (ta.frames - f0) / np.maximum(f1 - f0, 1))
    hit = unseen & (paired_iou(ta.boxes, there) >= min_iou)
    out = np.zeros(len(ta), bool)
    idx = np.flatnonzero(hit)
    for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if len(idx) else []:
        before, after = run[0] - 1, run[-1] + 1                    # ta's own poses around the run
        if before < 0 or after >= len(ta):
            out[run] = True                  # ta's end: tb's path goes on past it on both sides, ta's on one
            continue
        span = max(int(ta.frames[after] - ta.frames[before]), 1)
        mine = _between(ta.boxes[[before]], ta.boxes[[after]], (ta.frames[run] - ta.frames[before]) / span)
        out[run] = there[run, 3] > mine[:, 3]                      # tb's feet lower in the picture: nearer
    return out


def _between(b0: np.ndarray, b1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Boxes moved linearly from ``b0`` to ``b1`` ((n, 4) or (1, 4)) by fractions ``w`` (n,)."""
    w = np.asarray(w, np.float64)[:, None]
    return (1 - w) * b0 + w * b1
