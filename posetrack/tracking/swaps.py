"""One-frame swaps: a pose that leaves its track's path for one frame while another's lies on it.

Greedy matching takes the most similar pairs first. When a track lost a while ago still
resembles a person's new pose best, it takes it, and that person's own track, seen in the frame
before, takes what is left near it: a stray pose (a false detection, or a neighbour's). The
person's track then jumps off its path for one frame and back, and their pose sits in another
track: two ID switches. On the labelled real video (``benchmarks/real_video.py``, frames 763 of
300-794) this single exchange also made refinement stitch a woman who came back onto the
one-pose piece left behind, so she lost her id too.

Refinement puts such a pose back, before anything is stitched: a pose of track A whose two
neighbours are in the frames just before and after it, and whose box overlaps the mean of
their boxes by an IoU below ``outlier_iou``, is exchanged with the pose of another track C in
that frame whose box overlaps that mean by at least ``fit_iou`` (the best such), unless C's own
neighbours in the adjacent frames say the pose is C's (A's pose fits their mean worse than C's).

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.fragments import Fragment
    >>> def track(tid, frames, xs):
    ...     n = len(frames)
    ...     boxes = np.array([[x, 0.0, x + 40, 100] for x in xs])
    ...     return Fragment(tid, np.array(frames), np.array(frames), boxes, np.ones(n), np.zeros((n, 1, 2)), np.ones((n, 1)))
    >>> a = track(1, [0, 1, 2], [0.0, 300.0, 4.0])       # frame 1: a stray pose far off A's path
    >>> c = track(2, [1], [2.0])                         # ... while A's pose went to a lost track
    >>> fixed, n = repair_swaps({1: a, 2: c}, outlier_iou=0.3, fit_iou=0.7)
    >>> n, float(fixed[1].boxes[1, 0]), float(fixed[2].boxes[0, 0])
    (1, 2.0, 300.0)
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from posetrack.boxes import paired_iou
from posetrack.tracking.fragments import Fragment, join

__all__ = ["repair_swaps"]


def repair_swaps(tracks: Dict[int, Fragment], outlier_iou: float, fit_iou: float) -> Tuple[Dict[int, Fragment], int]:
    """The tracks with their one-frame swaps undone (module docstring), and how many were undone.

    Args:
        tracks: fragments by id (ascending frames each); not modified.
        outlier_iou: a pose is off its track's path when its box overlaps the mean box of its
            neighbours (the frames just before and after) by less than this IoU.
        fit_iou: another track's pose in that frame lies on the path when its box overlaps that
            mean box by at least this IoU.
    """
    off = {a: _off_path(t, outlier_iou) for a, t in tracks.items()}
    frames = {int(tracks[a].frames[i]) for a, rows in off.items() for i, _ in rows}
    if not frames:
        return dict(tracks), 0
    at: Dict[int, List[Tuple[int, int]]] = {}                     # the other poses of those frames only
    for tid, t in tracks.items():
        for i in np.flatnonzero(np.isin(t.frames, list(frames))).tolist():
            at.setdefault(int(t.frames[i]), []).append((tid, i))
    swaps, used = [], set()
    for a, rows in off.items():
        ta = tracks[a]
        for i, path in rows:
            c, j = _on_path(tracks, at[int(ta.frames[i])], a, path, fit_iou)
            if c is None or (a, i) in used or (c, j) in used or _belongs(tracks[c], j, ta.boxes[i]):
                continue
            swaps.append((a, i, c, j))
            used |= {(a, i), (c, j)}
    out = dict(tracks)
    for a, i, c, j in swaps:
        mine, theirs = out[a].select([i]), out[c].select([j])
        out[a], out[c] = _replace(out[a], i, theirs), _replace(out[c], j, mine)
    return out, len(swaps)


def _off_path(t: Fragment, outlier_iou: float):
    """(row, mean box of its neighbours) for every pose of ``t`` off its path between adjacent frames."""
    if len(t) < 3:
        return []
    inner = np.flatnonzero((np.diff(t.frames)[:-1] == 1) & (np.diff(t.frames)[1:] == 1)) + 1
    path = (t.boxes[inner - 1] + t.boxes[inner + 1]) / 2
    off = paired_iou(t.boxes[inner], path) < outlier_iou
    return list(zip(inner[off].tolist(), path[off]))


def _on_path(tracks: Dict[int, Fragment], rows, a: int, path: np.ndarray, fit_iou: float):
    """The (track, row) of the other pose of the frame that overlaps ``path`` most, at least by ``fit_iou``."""
    others = [(c, j) for c, j in rows if c != a]
    if not others:
        return None, None
    iou = paired_iou(np.array([tracks[c].boxes[j] for c, j in others]), np.tile(path, (len(others), 1)))
    k = int(np.argmax(iou))
    return others[k] if iou[k] >= fit_iou else (None, None)


def _belongs(t: Fragment, j: int, other: np.ndarray) -> bool:
    """Whether ``t``'s neighbours in the adjacent frames say its pose ``j`` is its own (``other`` fits them worse)."""
    near = [k for k in (j - 1, j + 1) if 0 <= k < len(t) and abs(int(t.frames[k]) - int(t.frames[j])) == 1]
    if not near:
        return False
    path = t.boxes[near].mean(0)[None]
    return bool(paired_iou(other[None], path)[0] < paired_iou(t.boxes[j][None], path)[0])


def _replace(t: Fragment, i: int, pose: Fragment) -> Fragment:
    """``t`` with its pose ``i`` replaced by ``pose`` (one pose of the same frame)."""
    parts = [p for p in (t.select(slice(0, i)), pose, t.select(slice(i + 1, None))) if len(p)]
    return join(parts, t.tid)
