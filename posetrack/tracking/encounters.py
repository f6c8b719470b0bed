"""Re-linking at encounters: undo the identity swaps the online tracker makes where people meet.

Where two people pass close by (one behind the other, or side by side with the detector
missing one of them) the online tracker can hand one track the other person's poses from
then on: the tracks **swap**, or one track takes over the other person while that
person's own track ends and they come back under a new id a moment later. Refinement sees
the whole meeting. At every **encounter** (a run of frames in which two tracks are both
seen with their box centres within ``distance`` mean body heights) it cuts both tracks in
the middle of the meeting and gathers, as candidates to continue them, those two tails and
every track starting near the place within ``reach`` seconds; as candidates to be
continued, the two heads and every track ending there then. The colours of each side
(:meth:`~posetrack.tracking.fragments.Fragment.mean_look` over up to ``window`` poses away
from the meeting, compared by :func:`~posetrack.tracking.appearance.histogram_similarity`)
score every pairing: a link is worth its similarity minus ``link_similarity`` (a link
between colours less alike than that costs), and the best pairing
(:func:`scipy.optimize.linear_sum_assignment`) replaces the tracker's when it is better
by more than ``margin``. The two heads always keep a continuation; heads that ended there
may stay ended, tails may stay new tracks.

This is the offline tracklet re-association of multi-target tracking (tracks cut where
they may be confused, then joined again on appearance; e.g. Wang et al., "Exploit the
Connectivity: Multi-Object Tracking with TrackletNet", ACM MM 2019), with the colour
histograms of :mod:`posetrack.tracking.appearance` as the cue.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from posetrack.tracking import appearance as looks
from posetrack.tracking.fragments import Fragment, join

__all__ = ["Encounter", "RelinkSettings", "find_encounters", "relink"]


@dataclass(frozen=True)
class Encounter:
    """Tracks ``a`` and ``b`` close together from frame ``first`` to ``last`` (inclusive), around ``place``
    (pixels); ``b`` None: some track ended or started next to ``a`` then (``a`` is cut there alone)."""

    a: int
    b: Optional[int]
    first: int
    last: int
    place: Tuple[float, float]
    height: float


@dataclass(frozen=True)
class RelinkSettings:
    """What :func:`relink` does (see the module docstring); frames are the file's frame indices."""

    distance: float            # mean body heights between box centres: close
    margin: float              # the better pairing must beat the tracker's by this (sum of similarities)
    link_similarity: float     # a link between colours less alike than this lowers a pairing's score
    window: int                # poses on each side whose colours are compared
    min_poses: int             # fewest poses on a side to judge it
    reach: int                 # frames before and after a meeting in which other tracks' ends and starts count
    reach_distance: float      # ... within this many body heights of the place


def find_encounters(tracks: Dict[int, Fragment], distance: float, since: int = -1) -> List[Encounter]:
    """Every run of frames (ending after ``since``) in which two tracks are both seen within ``distance``
    mean body heights of each other, in order of their first frame. Frames at most 5 apart are one run."""
    out: List[Encounter] = []
    ids = sorted(tracks)
    spans = {t: (tracks[t].frames[0], tracks[t].frames[-1]) for t in ids}
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if spans[a][1] < spans[b][0] or spans[b][1] < spans[a][0] or min(spans[a][1], spans[b][1]) <= since:
                continue
            ta, tb = tracks[a], tracks[b]
            common, ia, ib = np.intersect1d(ta.frames, tb.frames, return_indices=True)
            if not len(common):
                continue
            ca, cb = ta.centres()[ia], tb.centres()[ib]
            h = (ta.heights()[ia] + tb.heights()[ib]) / 2
            near = np.flatnonzero(np.linalg.norm(ca - cb, axis=1) <= distance * h)
            for run in np.split(near, np.flatnonzero(np.diff(common[near]) > 5) + 1) if len(near) else []:
                if common[run[-1]] <= since:
                    continue
                place = ((ca[run] + cb[run]) / 2).mean(0)
                out.append(Encounter(a, b, int(common[run[0]]), int(common[run[-1]]),
                                     (float(place[0]), float(place[1])), float(h[run].mean())))
    return sorted(out, key=lambda e: (e.first, e.a, e.b))


def find_handovers(tracks: Dict[int, Fragment], reach: int, reach_distance: float, min_poses: int,
                   since: int = -1) -> List[Encounter]:
    """Every track seen on both sides of the moment another track ends or starts within ``reach``
    frames and ``reach_distance`` body heights of it (the ended track's person may go on under
    its id, and its own person under a new one): an encounter with ``b`` None, ``a`` to be cut
    between the end (start) and the frame after it."""
    out: List[Encounter] = []
    for c, tc in tracks.items():
        for at_end in (True, False):
            f = int(tc.frames[-1] if at_end else tc.frames[0])
            if f <= since:
                continue
            where, h = tc.centres()[-1 if at_end else 0], float(tc.heights()[-1 if at_end else 0])
            for a, ta in tracks.items():
                if a == c:
                    continue
                before, after = int((ta.frames <= f).sum()), int((ta.frames > f).sum())
                if min(before, after) < min_poses:
                    continue
                near = np.flatnonzero(np.abs(ta.frames - f) <= reach)
                if not len(near):
                    continue
                gap = np.linalg.norm(ta.centres()[near] - where, axis=1).min()
                if gap <= reach_distance * h:
                    cut = f if at_end else f - 1
                    out.append(Encounter(a, None, cut, cut, (float(where[0]), float(where[1])), h))
    return sorted(out, key=lambda e: (e.first, e.a))


@dataclass
class _Side:
    """A candidate head (to be continued) or tail (to continue one): its poses and colours."""

    key: Tuple[str, int]       # ("head", id) / ("tail", id) of the track it comes from
    part: Fragment
    look: Optional[looks.Appearance]
    first: int
    last: int


def _head(t: Fragment, cut: float, clean: float, s: RelinkSettings, key) -> Optional[_Side]:
    """The poses up to ``cut``, judged on colours of up to ``window`` of them before ``clean``."""
    keep = np.flatnonzero(t.frames <= cut)
    judge = np.flatnonzero(t.frames < min(clean, cut + 1))[-s.window:]
    if not len(keep):
        return None
    look = t.mean_look(judge) if len(judge) >= s.min_poses else None
    return _Side(key, t.select(keep), look, int(t.frames[keep[0]]), int(t.frames[keep[-1]]))


def _tail(t: Fragment, cut: float, clean: float, s: RelinkSettings, key) -> Optional[_Side]:
    """The poses after ``cut``, judged on colours of up to ``window`` of them after ``clean``."""
    keep = np.flatnonzero(t.frames > cut)
    judge = np.flatnonzero(t.frames > max(clean, cut))[:s.window]
    if not len(keep):
        return None
    look = t.mean_look(judge) if len(judge) >= s.min_poses else None
    return _Side(key, t.select(keep), look, int(t.frames[keep[0]]), int(t.frames[keep[-1]]))


def _change_point(t: Fragment, cut: float, lo: int, hi: int, before: looks.Appearance,
                  after: looks.Appearance) -> float:
    """Where in frames ``lo``..``hi`` the track's poses stop resembling ``before`` and start resembling
    ``after`` (the cut that best separates them, pose by pose); ``cut`` when they do not tell."""
    idx = np.flatnonzero((t.frames >= lo) & (t.frames <= hi))
    if len(idx) < 2:
        return cut
    part = t.look.select(idx)
    lean = np.nan_to_num(looks.histogram_similarity(part, before)[:, 0] - looks.histogram_similarity(part, after)[:, 0])
    score = np.r_[0.0, np.cumsum(lean)] * 2 - lean.sum()          # poses before j go with `before`
    j = int(np.argmax(score))
    if score[j] <= 0 or np.isclose(score[j], score[np.searchsorted(t.frames[idx], cut, side="right")]):
        return cut
    f = t.frames[idx]
    return float(f[0] - 0.5 if j == 0 else f[-1] + 0.5 if j == len(idx) else (f[j - 1] + f[j]) / 2)


def _sides(tracks: Dict[int, Fragment], e: Encounter, s: RelinkSettings):
    """The heads and tails of one encounter, or None when the two tracks cannot be judged."""
    cut = (e.first + e.last) / 2 if e.b is not None else e.first + 0.5
    cut_ids = [e.a] if e.b is None else [e.a, e.b]
    clean_head, clean_tail = (e.first, e.last) if e.b is not None else (e.first + 1, e.last)
    heads, tails = [], []
    for tid in cut_ids:
        t = tracks[tid]
        h, tl = _head(t, cut, clean_head, s, ("head", tid)), _tail(t, cut, clean_tail, s, ("tail", tid))
        if h is not None and tl is not None and h.look is not None and tl.look is not None:
            at = _change_point(t, cut, e.first - s.reach, e.last + s.reach, h.look, tl.look)
            if at != cut:
                h, tl = _head(t, at, clean_head, s, ("head", tid)), _tail(t, at, clean_tail, s, ("tail", tid))
        heads.append(h)
        tails.append(tl)
    if any(x is None or x.look is None for x in heads + tails):
        return None                                        # a side too short to judge: leave the meeting alone
    place, reach = np.array(e.place), s.reach_distance * e.height
    for tid, t in tracks.items():
        if tid in cut_ids:
            continue
        if e.first - s.reach <= t.frames[-1] <= e.last + s.reach and \
                np.linalg.norm(t.centres()[-1] - place) <= reach:
            side = _head(t, np.inf, int(t.frames[-1]) + 1, s, ("head", tid))
            if side is not None and side.look is not None:
                heads.append(side)
        if e.first - s.reach <= t.frames[0] <= e.last + s.reach and \
                np.linalg.norm(t.centres()[0] - place) <= reach:
            side = _tail(t, -np.inf, int(t.frames[0]) - 1, s, ("tail", tid))
            if side is not None and side.look is not None:
                tails.append(side)
    return heads, tails


def _pairing(heads: List[_Side], tails: List[_Side], s: RelinkSettings, bound: int) -> Tuple[Dict[int, int], float]:
    """The best links {head index: tail index} and their score; the first ``bound`` heads must be linked."""
    gain = np.full((len(heads), len(tails)), -np.inf)
    for i, h in enumerate(heads):
        for j, t in enumerate(tails):
            if h.last < t.first:
                sim = looks.histogram_similarity(h.look, t.look)[0, 0]
                if np.isfinite(sim):
                    gain[i, j] = sim - s.link_similarity
    big = 1e6
    cost = np.where(np.isfinite(gain), -gain, big)
    free = np.full((len(heads), len(heads)), big)           # a head left unlinked: only those that had ended
    for i in range(bound, len(heads)):
        free[i, i] = 0.0
    rows, cols = linear_sum_assignment(np.hstack([cost, free]))
    links = {int(r): int(c) for r, c in zip(rows, cols) if c < len(tails) and cost[r, c] < big}
    if not set(range(bound)) <= links.keys():
        return {}, -np.inf
    return links, float(sum(gain[r, c] for r, c in links.items()))


def _apply(tracks: Dict[int, Fragment], heads, tails, links, next_id: int):
    out = {tid: t for tid, t in tracks.items() if tid not in {h.key[1] for h in heads} | {t.key[1] for t in tails}}
    linked = set()
    for i, h in enumerate(heads):
        parts = [h.part] + ([tails[links[i]].part] if i in links else [])
        linked |= {links[i]} if i in links else set()
        out[h.key[1]] = join(parts, h.key[1])
    for j, t in enumerate(tails):
        if j not in linked:
            tid = t.key[1] if t.key[1] not in out else next_id
            next_id += tid == next_id
            out[tid] = t.part.select(slice(None), tid)
    return out, next_id


def relink(tracks: Dict[int, Fragment], s: RelinkSettings) -> Tuple[Dict[int, Fragment], int]:
    """Tracks with the pairings at every encounter decided again on colours (module docstring).

    Args:
        tracks: fragments by id, with colour descriptors (without them nothing changes).
        s: the settings.

    Returns:
        The tracks (unchanged ones are the same objects; a tail left without its head gets
        a fresh id above every id in use) and how many encounters were re-linked.
    """
    if not tracks or any(t.look is None for t in tracks.values()):
        return tracks, 0
    next_id = max(tracks) + 1
    changed, seen = 0, set()
    events = _events(tracks, s, -1)
    while events and changed <= len(tracks):
        e = events.pop(0)
        key = (frozenset((e.a, e.b)), e.first)
        if key in seen or e.a not in tracks or (e.b is not None and e.b not in tracks):
            continue
        seen.add(key)
        sides = _sides(tracks, e, s)
        if sides is None:
            continue
        heads, tails = sides
        bound = 1 if e.b is None else 2                    # the cut tracks' heads: linked now, kept linked
        current = {i: i for i in range(bound)}              # heads and tails of the cut tracks come first, in order
        kept = sum(looks.histogram_similarity(heads[i].look, tails[i].look)[0, 0] - s.link_similarity
                   for i in range(bound))
        links, best = _pairing(heads, tails, s, bound)
        if not np.isfinite(kept) or best - kept <= s.margin or links == current:
            continue
        tracks, next_id = _apply(tracks, heads, tails, links, next_id)
        changed += 1
        events = _events(tracks, s, e.first - 1)           # the tracks changed from here on: look again
    return tracks, changed


def _events(tracks: Dict[int, Fragment], s: RelinkSettings, since: int) -> List[Encounter]:
    return sorted(find_encounters(tracks, s.distance, since)
                  + find_handovers(tracks, s.reach, s.reach_distance, s.min_poses, since), key=lambda e: e.first)
