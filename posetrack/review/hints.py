"""Likely tracking mistakes in a tracks file, each with the frame to look at and the edit that fixes it.

Four patterns, the id errors that proofreading tools look for (SLEAP's and DeepLabCut's
track proofreading; the ID switches and fragmentations of CLEAR-MOT, Bernardin & Stiefelhagen 2008):

* ``short``: a track shorter than ``short_seconds``: often a false detection, or a piece of a
  person's track; suggested edit: ``delete``.
* ``break``: a track ends and, within ``break_seconds``, another starts close to where it ended
  (a fragmentation); suggested edit: ``merge``.
* ``jump``: a track's box moves or changes size suddenly between two of its poses (the id
  passed to another person, or a false box took it); suggested edit: ``split``.
* ``swap``: two tracks seen in two nearby frames each land where the other was (an ID switch
  at a crossing); or a track comes back from a gap, or steps in one frame, onto where another
  track was last seen (it took that track's person); suggested edit: ``swap``.

Distances are in units of the person's box height, so the thresholds hold at any image scale;
times are in seconds of video (``video.fps``). The defaults are chosen for walking people
(about 0.8 body heights per second) and report a handful of hints on the real street video of
the README ("Fixing ids by hand"); they are hints for a person to check, not decisions.

Example:
    >>> from posetrack.review.hints import find_hints
    >>> for hint in find_hints(posetrack.read_tracks("tracks.json")):
    ...     print(hint.frame, hint.kind, hint.text, describe(hint.suggestion))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from posetrack.tracksfile.codec import TrackFile
from posetrack.tracksfile.edit import Delete, Merge, Operation, Split, Swap

__all__ = ["Hint", "HintSettings", "find_hints"]


@dataclass(frozen=True)
class HintSettings:
    """Thresholds of :func:`find_hints`.

    Attributes:
        short_seconds: tracks with fewer poses than this many seconds of frames are ``short``.
        break_seconds: longest gap between a track's end and another's start for a ``break``.
        break_heights: largest distance (box heights) between the end and the start, plus
            ``speed_heights`` per second of gap.
        speed_heights: how far a person may walk in a second, in box heights (about 0.8 at a walk).
        jump_heights: a box centre moving more than this many heights between two poses
            (plus ``speed_heights`` per second between them) is a ``jump``...
        jump_scale: ... and so is a box height changing by more than this factor.
        swap_ratio: a ``swap`` is two tracks whose crossed distances are below this fraction of
            their own ones...
        swap_heights: ... while their own ones add up to more than this many heights.
        takeover_heights: a track that moves more than this (box heights) in one step, onto the last
            place of a track lost in that frame (nearer than ``swap_ratio`` times its own step), is a
            ``swap`` too: it took the lost track's person.
        max_gap_seconds: poses of a track further apart than this are not compared (jump, swap).
    """

    short_seconds: float = 1.0
    break_seconds: float = 3.0
    break_heights: float = 0.5
    speed_heights: float = 0.8
    jump_heights: float = 0.6
    jump_scale: float = 1.6
    swap_ratio: float = 0.5
    swap_heights: float = 0.3
    takeover_heights: float = 0.15
    max_gap_seconds: float = 0.5


@dataclass(frozen=True)
class Hint:
    """One likely mistake.

    Attributes:
        kind: ``short``, ``break``, ``jump`` or ``swap``.
        frame: the frame to look at (the file's frame index).
        ids: the track ids involved.
        text: one line for a person, e.g. ``"12 and 4 trade places (crossed 0.1 vs 0.9 box heights)"``.
        suggestion: the edit that fixes it if the hint is right, or None.
    """

    kind: str
    frame: int
    ids: Tuple[int, ...]
    text: str
    suggestion: Optional[Operation] = None


@dataclass(frozen=True)
class _Tracks:
    """Every tracked person, sorted by (track id, frame): (P,) arrays; ``centre`` (P, 2), ``height`` (P,) px."""

    ids: np.ndarray
    frame: np.ndarray
    centre: np.ndarray
    height: np.ndarray
    fps: float

    @classmethod
    def of(cls, tracks: TrackFile) -> "_Tracks":
        parts = [(np.full(len(f), f.frame), f.track_ids, f.poses.boxes) for f in tracks.frames
                 if len(f) and f.track_ids is not None]
        if not parts:
            z = np.zeros(0)
            return cls(z.astype(np.int64), z.astype(np.int64), np.zeros((0, 2)), z, float(tracks.header.video.fps))
        frame, ids, boxes = (np.concatenate(p) for p in zip(*parts))
        order = np.lexsort((frame, ids))
        boxes = boxes[order].astype(np.float64)
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        height = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
        return cls(ids[order].astype(np.int64), frame[order].astype(np.int64), centre, height,
                   float(tracks.header.video.fps))

    def spans(self) -> Dict[int, Tuple[int, int]]:
        """track id -> (first index, last index) into the sorted arrays."""
        starts = np.flatnonzero(np.r_[True, self.ids[1:] != self.ids[:-1]])
        ends = np.r_[starts[1:], len(self.ids)] - 1
        return {int(self.ids[s]): (int(s), int(e)) for s, e in zip(starts, ends)}


def _short(t: _Tracks, spans, fps: float, s: HintSettings) -> List[Hint]:
    limit = max(2, int(round(s.short_seconds * fps)))
    out = []
    for tid, (a, b) in spans.items():
        n = b - a + 1
        if n < limit:
            out.append(Hint("short", int(t.frame[a]), (tid,), f"track {tid} has {n} pose(s) "
                            f"(frames {t.frame[a]}-{t.frame[b]}); a false detection or a piece of a track?",
                            Delete(tid)))
    return out


def _breaks(t: _Tracks, spans, fps: float, s: HintSettings, last_frame: int, taken: set) -> List[Hint]:
    ends = [(tid, b) for tid, (a, b) in spans.items() if t.frame[b] < last_frame and tid not in taken]
    starts = [(tid, a) for tid, (a, b) in spans.items()]
    out, used = [], set()
    for tid, b in sorted(ends, key=lambda e: int(t.frame[e[1]])):
        best = None
        for other, a in starts:
            gap = (t.frame[a] - t.frame[b]) / fps
            if other == tid or other in used or not 0 < gap <= s.break_seconds:
                continue
            dist = np.linalg.norm(t.centre[a] - t.centre[b]) / max(t.height[a], t.height[b])
            if dist <= s.break_heights + s.speed_heights * gap and (best is None or dist < best[0]):
                best = (dist, other, a)
        if best is not None:
            dist, other, a = best
            used.add(other)
            out.append(Hint("break", int(t.frame[a]), (tid, other),
                            f"{tid} ends at frame {t.frame[b]} and {other} starts at frame {t.frame[a]}, "
                            f"{dist:.1f} box heights away: the same person?", Merge(tid, other)))
    return out


def _steps(t: _Tracks, fps: float, s: HintSettings) -> np.ndarray:
    """Indices ``i`` (into the sorted arrays) whose pose follows pose ``i - 1`` of the same track closely in time."""
    i = np.arange(1, len(t.ids))
    near = (t.ids[i] == t.ids[i - 1]) & ((t.frame[i] - t.frame[i - 1]) <= max(1, s.max_gap_seconds * fps))
    return i[near]


def _jumps(t: _Tracks, fps: float, s: HintSettings) -> List[Hint]:
    i = _steps(t, fps, s)
    jumped = _jumped(t, i - 1, i, s)
    out, skip = [], set()
    for k in np.flatnonzero(jumped):
        p, tid = int(i[k]), int(t.ids[i[k]])
        if p in skip:
            continue
        back = _back(t, p, s)
        if back is not None:           # a few frames on another box, then back: those frames only
            skip.add(back)
            out.append(Hint("jump", int(t.frame[p]), (tid,), f"{tid}'s box jumps away at frame {t.frame[p]} and "
                            f"back at frame {t.frame[back]}: a false box (or another person) took it there",
                            Delete(tid, (int(t.frame[p]), int(t.frame[back])))))
        else:
            out.append(Hint("jump", int(t.frame[p]), (tid,), f"{tid}'s box jumps between frames {t.frame[p - 1]} "
                            f"and {t.frame[p]}: another person from here?", Split(tid, int(t.frame[p]))))
    return out


def _jumped(t: _Tracks, a: np.ndarray, b: np.ndarray, s: HintSettings, fps: Optional[float] = None) -> np.ndarray:
    """(n,) bool: pose ``b`` is too far from, or too unlike in size, pose ``a`` (index arrays into ``t``)."""
    h = np.maximum(t.height[a], t.height[b])
    moved = np.linalg.norm(t.centre[b] - t.centre[a], axis=-1) / h
    scale = h / np.minimum(t.height[a], t.height[b])
    seconds = (t.frame[b] - t.frame[a]) / (fps or t.fps)
    return (moved > s.jump_heights + s.speed_heights * seconds) | (scale > s.jump_scale)


def _back(t: _Tracks, p: int, s: HintSettings, within: int = 3) -> Optional[int]:
    """The first of the next ``within`` poses of ``p``'s track that is like the pose before ``p`` again."""
    for q in range(p + 1, min(p + 1 + within, len(t.ids))):
        if t.ids[q] != t.ids[p]:
            return None
        if not _jumped(t, np.asarray([p - 1]), np.asarray([q]), s)[0]:
            return q
    return None


def _resumes(t: _Tracks, spans, fps: float, s: HintSettings) -> Tuple[List[Hint], set]:
    """A track lost for a while that comes back nearer to where another track ended than to where it was lost."""
    i = np.arange(1, len(t.ids))
    gap = t.frame[i] - t.frame[i - 1]
    i = i[(t.ids[i] == t.ids[i - 1]) & (gap > max(1, s.max_gap_seconds * fps)) & (gap <= s.break_seconds * fps)]
    ends = {tid: b for tid, (a, b) in spans.items()}
    out, taken = [], set()
    for p in i:
        tid, lost, back = int(t.ids[p]), int(t.frame[p - 1]), int(t.frame[p])
        h = t.height[p]
        own = np.linalg.norm(t.centre[p] - t.centre[p - 1]) / h
        best = None
        for other, e in ends.items():
            if other == tid or other in taken or not lost - s.max_gap_seconds * fps <= t.frame[e] < back:
                continue
            d = np.linalg.norm(t.centre[p] - t.centre[e]) / h
            if d < own and d <= s.break_heights + s.speed_heights * (back - t.frame[e]) / fps \
                    and (best is None or d < best[0]):
                best = (d, other, e)
        if best is not None and own > s.swap_heights:
            d, other, e = best
            taken.add(other)
            out.append(Hint("swap", back, (tid, other), f"{tid} is lost at frame {lost} and comes back at frame {back} "
                            f"nearer where {other} ended (frame {t.frame[e]}, {d:.1f} vs {own:.1f} box heights): "
                            f"{other}'s person from here?", Swap(tid, other, back)))
    return out, taken


def _distance(t: _Tracks, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n,) pixel distances between the box centres of poses ``a`` and ``b`` (index arrays)."""
    return np.linalg.norm(t.centre[a] - t.centre[b], axis=-1)


def _same_frame_pairs(t: _Tracks, i: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Every pair (p, q), p before q, of the poses ``i`` that share a frame."""
    i = i[np.argsort(t.frame[i], kind="stable")]
    f = t.frame[i]
    ps, qs = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for d in range(1, len(i)):
        same = f[d:] == f[:-d]
        if not same.any():            # sorted by frame: no pair further apart either
            break
        ps.append(i[:-d][same])
        qs.append(i[d:][same])
    return np.concatenate(ps), np.concatenate(qs)


def _swaps(t: _Tracks, fps: float, s: HintSettings) -> List[Hint]:
    """Two poses of one frame whose tracks' previous poses are each nearer the other's."""
    p, q = _same_frame_pairs(t, _steps(t, fps, s))
    h = (t.height[p] + t.height[q] + t.height[p - 1] + t.height[q - 1]) / 4
    own = (_distance(t, p, p - 1) + _distance(t, q, q - 1)) / h
    crossed = (_distance(t, p, q - 1) + _distance(t, q, p - 1)) / h
    hits = np.flatnonzero((own > s.swap_heights) & (crossed < s.swap_ratio * own))
    out, seen = [], set()
    for k in hits[np.argsort(t.frame[p[hits]], kind="stable")]:
        a, b, frame = int(t.ids[p[k]]), int(t.ids[q[k]]), int(t.frame[p[k]])
        key = (min(a, b), max(a, b))
        if (key, frame - 1) not in seen:          # one hint per exchange, not one per frame of it
            out.append(Hint("swap", frame, (a, b), f"{a} and {b} trade places at frame {frame} "
                            f"(crossed {crossed[k]:.1f} vs own {own[k]:.1f} box heights)", Swap(a, b, frame)))
        seen.add((key, frame))
    return out


def _takeovers(t: _Tracks, fps: float, s: HintSettings) -> List[Hint]:
    """A track that steps onto the last place of a track lost in that very frame (it took that person)."""
    i = _steps(t, fps, s)
    own = _distance(t, i, i - 1) / t.height[i]
    moved = own > s.takeover_heights
    if not moved.any():
        return []
    present = set(zip(t.frame.tolist(), t.ids.tolist()))
    order = np.argsort(t.frame, kind="stable")
    out = []
    for p, step in zip(i[moved], own[moved]):
        a, frame = int(t.ids[p]), int(t.frame[p])
        lo, hi = np.searchsorted(t.frame[order], [frame - 1, frame])
        for q in order[lo:hi]:                      # the poses of the frame before
            b = int(t.ids[q])
            crossed = _distance(t, p, q) / t.height[p]
            if b != a and (frame, b) not in present and crossed < s.swap_ratio * step:
                out.append(Hint("swap", frame, (a, b), f"{a} takes {b}'s place at frame {frame}, where {b} is lost "
                                f"({crossed:.1f} vs own step {step:.1f} box heights)", Swap(a, b, frame)))
    return out


def find_hints(tracks: TrackFile, settings: HintSettings = HintSettings()) -> List[Hint]:
    """Likely id mistakes in ``tracks``, sorted by frame (see the module docstring for the four kinds).

    Args:
        tracks: a tracks file; people without track ids are ignored.
        settings: thresholds.

    Returns:
        Hints sorted by frame, then kind. Each ``suggestion`` applies with
        :func:`posetrack.tracksfile.edit.apply`, unless an earlier edit changed its ids.
    """
    t = _Tracks.of(tracks)
    if not len(t.ids):
        return []
    fps = float(tracks.header.video.fps)
    spans = t.spans()
    last_frame = int(max(f.frame for f in tracks.frames))
    resumes, taken = _resumes(t, spans, fps, settings)
    hints = (_short(t, spans, fps, settings) + resumes + _breaks(t, spans, fps, settings, last_frame, taken)
             + _jumps(t, fps, settings) + _swaps(t, fps, settings) + _takeovers(t, fps, settings))
    return sorted(hints, key=lambda h: (h.frame, h.kind, h.ids))
