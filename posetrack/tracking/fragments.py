"""Fragments: one track's observed poses as arrays, the unit refinement cuts, joins and compares.

A :class:`Fragment` holds, row for row, where each pose sits in the file's frame list, its
frame index, box, scores, keypoints and (optionally) colour descriptor. Refinement
(:mod:`posetrack.tracking.refine`) builds them from tracked frames (:func:`fragments_of`),
cuts them (:meth:`Fragment.select`), joins chains of them (:func:`join`) and compares their
ends (:mod:`posetrack.tracking.encounters`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from posetrack.boxes import box_centres
from posetrack.tracking import appearance as looks
from posetrack.types import FrameResult

__all__ = ["Fragment", "fragments_of", "join"]

_ROWS = ("pos", "frames", "boxes", "box_scores", "keypoints", "keypoint_scores")


@dataclass
class Fragment:
    """One track's observations (n poses, ascending frames).

    Attributes:
        tid: the track id.
        pos: (n,) int64 positions in the file's frame list, ascending.
        frames: (n,) int64 frame indices.
        boxes: (n, 4) float64 x1, y1, x2, y2 (pixels).
        box_scores: (n,) float64.
        keypoints: (n, K, 2) float64 pixels.
        keypoint_scores: (n, K) float64.
        look: the n poses' colour descriptors, or None (no video).
    """

    tid: int
    pos: np.ndarray
    frames: np.ndarray
    boxes: np.ndarray
    box_scores: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    look: Optional[looks.Appearance] = field(default=None, compare=False)

    def __len__(self) -> int:
        return len(self.pos)

    def centres(self) -> np.ndarray:
        """(n, 2) box centres, pixels."""
        return box_centres(self.boxes)

    def heights(self) -> np.ndarray:
        """(n,) box heights, pixels (at least 1)."""
        return np.maximum(self.boxes[:, 3] - self.boxes[:, 1], 1.0)

    def select(self, index, tid: Optional[int] = None) -> "Fragment":
        """The poses at ``index`` (a slice, indices or mask), as track ``tid`` (default: this one's)."""
        look = self.look.select(index) if self.look is not None else None
        return Fragment(self.tid if tid is None else tid, *(getattr(self, name)[index] for name in _ROWS), look=look)

    def mean_look(self, index) -> Optional[looks.Appearance]:
        """The mean colour descriptor of the poses at ``index`` (None without descriptors)."""
        return None if self.look is None else self.look.select(index).mean()


def join(parts: Sequence[Fragment], tid: int) -> Fragment:
    """One fragment of several with no frame in common, in frame order, as track ``tid``."""
    parts = sorted(parts, key=lambda p: p.frames[0])
    look = None
    if all(p.look is not None for p in parts):
        look = looks.Appearance.concatenate([p.look for p in parts])
    return Fragment(tid, *(np.concatenate([getattr(p, name) for p in parts]) for name in _ROWS), look=look)


def fragments_of(frames: Sequence[FrameResult],
                 appearance: Optional[Sequence[looks.Appearance]] = None) -> Dict[int, Fragment]:
    """Every track of tracked frames as a fragment, by id (frames without ids are skipped).

    Args:
        frames: tracked results, ascending frames.
        appearance: one descriptor set per frame (its people in order), or None.
    """
    rows = [(pos, i, int(tid)) for pos, f in enumerate(frames) if f.track_ids is not None
            for i, tid in enumerate(f.track_ids)]
    mine: Dict[int, List] = {}
    for pos, i, tid in rows:
        mine.setdefault(tid, []).append((pos, i))
    out: Dict[int, Fragment] = {}
    for tid in sorted(mine):
        where = mine[tid]
        pos = np.array([p for p, _ in where], np.int64)
        sel = [frames[p].poses.select([i]) for p, i in where]
        look = None
        if appearance is not None:
            look = looks.Appearance.concatenate([appearance[p].select([i]) for p, i in where])
        out[tid] = Fragment(tid, pos, np.array([frames[p].frame for p in pos], np.int64),
                            np.concatenate([s.boxes for s in sel]).astype(np.float64),
                            np.concatenate([s.box_scores for s in sel]).astype(np.float64),
                            np.concatenate([s.keypoints for s in sel]).astype(np.float64),
                            np.concatenate([s.keypoint_scores for s in sel]).astype(np.float64), look)
    return out
