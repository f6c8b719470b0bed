"""Re-linking at encounters: undo the identity swaps the online tracker makes where people meet.

Where two people pass close by (one behind the other, or side by side with the detector
missing one of them) the online tracker can hand one track the other person's poses from
then on: the tracks **swap**, or one track takes over the other person while that
person's own track ends and they come back under a new id a moment later. Refinement sees
the whole meeting.

The tracks are first cut at every gap longer than ``reach`` frames into fragments, chained
by links (so a person's later fragment, already linked to someone else's track, can be
handed back too). An **encounter** is either a run of frames in which two fragments are
both seen with their box centres within ``distance`` mean body heights (both are cut in
the middle of the meeting), or the moment a fragment ends or starts within ``reach`` frames
and ``reach_distance`` body heights of another that goes on through it (that one is cut
there). Each cut is then moved to where the fragment's poses stop resembling its colours
before the meeting and start resembling those after it (pose by pose, within ``reach``
frames). The heads (a cut fragment up to the cut; a fragment that ended near the place
within ``reach`` frames; whoever a tail in play continues now) and the tails (after the
cut; a fragment that started there; whoever continues a head in play) are compared by
their colours: the mean histogram (:meth:`~posetrack.tracking.fragments.Fragment.mean_look`,
:func:`~posetrack.tracking.appearance.histogram_similarity`) of up to ``window`` poses away
from the meeting, at least ``min_poses`` of them. A link is worth its similarity minus
``link_similarity``; the best pairing (:func:`scipy.optimize.linear_sum_assignment`; the cut
fragments' heads must go on, others may end) replaces the present one when it is better by
more than ``margin``. A side without colours (too few poses, or people too small to sample)
leaves the encounter alone.

This is the offline tracklet re-association of multi-target tracking (tracks cut where
they may be confused, then joined again on appearance; e.g. Wang et al., "Exploit the
Connectivity: Multi-Object Tracking with TrackletNet", ACM MM 2019), with the colour
histograms of :mod:`posetrack.tracking.appearance` as the cue. Refinement's settings
(``refine.relink_*`` in ``configs/tracker.yaml``) give ``reach`` in seconds; here it is frames.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

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
    first = np.array([tracks[t].frames[0] for t in ids])
    last = np.array([tracks[t].frames[-1] for t in ids])
    for i, a in enumerate(ids):
        overlap = np.flatnonzero((first[i + 1:] <= last[i]) & (last[i + 1:] >= first[i])
                                 & (np.minimum(last[i + 1:], last[i]) > since)) + i + 1
        for b in (ids[k] for k in overlap):
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
    ids = list(tracks)
    first = np.array([tracks[t].frames[0] for t in ids])
    last = np.array([tracks[t].frames[-1] for t in ids])
    for c, tc in tracks.items():
        for at_end in (True, False):
            f = int(tc.frames[-1] if at_end else tc.frames[0])
            if f <= since:
                continue
            where, h = tc.centres()[-1 if at_end else 0], float(tc.heights()[-1 if at_end else 0])
            for k in np.flatnonzero((first <= f) & (last > f)):      # seen before and after: the only candidates
                a, ta = ids[k], tracks[ids[k]]
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


class _Pieces:
    """Tracks as fragments (cut at gaps longer than ``gap`` frames, and where re-linked) chained by links."""

    def __init__(self, tracks: Dict[int, Fragment], gap: int):
        self.frag: Dict[int, Fragment] = {}
        self.next: Dict[int, int] = {}
        self.prev: Dict[int, int] = {}
        self.first_of: Dict[int, int] = {}      # fragment -> the track whose first pose it holds
        fid = 0
        for tid in sorted(tracks):
            t = tracks[tid]
            previous = None
            for i, idx in enumerate(np.split(np.arange(len(t)), np.flatnonzero(np.diff(t.frames) > gap) + 1)):
                self.frag[fid] = t.select(idx, fid)
                if i == 0:
                    self.first_of[fid] = tid
                else:
                    self.link(previous, fid)
                previous, fid = fid, fid + 1
        self.fresh = fid

    def link(self, a: int, b: int) -> None:
        self.next[a], self.prev[b] = b, a

    def unlink(self, a: Optional[int] = None, b: Optional[int] = None) -> None:
        """Drop the link after ``a`` or before ``b``."""
        if a is not None and a in self.next:
            del self.prev[self.next.pop(a)]
        if b is not None and b in self.prev:
            del self.next[self.prev.pop(b)]

    def cut(self, fid: int, at: float) -> Tuple[int, int]:
        """Fragment ``fid`` as a head (frames up to ``at``) linked to a tail (after it); their new ids."""
        t = self.frag.pop(fid)
        head, tail = self.fresh, self.fresh + 1
        self.fresh += 2
        self.frag[head] = t.select(t.frames <= at, head)
        self.frag[tail] = t.select(t.frames > at, tail)
        before, after = self.prev.get(fid), self.next.get(fid)
        self.unlink(a=fid)
        self.unlink(b=fid)
        if before is not None:
            self.link(before, head)
        if after is not None:
            self.link(tail, after)
        self.link(head, tail)
        if fid in self.first_of:
            self.first_of[head] = self.first_of.pop(fid)
        return head, tail

    def tracks(self) -> Dict[int, Fragment]:
        """The chains as tracks: the id of the track whose first pose they hold, else a fresh id."""
        roots = sorted((f for f in self.frag if f not in self.prev), key=lambda f: self.frag[f].frames[0])
        used = set(self.first_of[f] for f in roots if f in self.first_of)
        fresh = max(list(self.first_of.values()) + [-1]) + 1
        out: Dict[int, Fragment] = {}
        for root in roots:
            chain = [root]
            while chain[-1] in self.next:
                chain.append(self.next[chain[-1]])
            tid = self.first_of.get(root)
            if tid is None:
                while fresh in used:
                    fresh += 1
                tid, fresh = fresh, fresh + 1
            out[tid] = join([self.frag[f] for f in chain], tid)
        return out


@dataclass
class _Side:
    """A candidate head (to be continued) or tail (to continue one) at an encounter."""

    fid: int                   # the fragment it is (all of it), or is cut from
    cut: Optional[float]       # None: the whole fragment; else the frame it is cut after
    look: Optional[looks.Appearance]
    first: int
    last: int


def _side(t: Fragment, fid: int, cut: Optional[float], head: bool, clean: float, s: RelinkSettings) -> Optional[_Side]:
    """One side of fragment ``t``: its poses up to ``cut`` (head) or after it (tail), judged on the colours of
    up to ``window`` of them before (after) ``clean``; None when that side has no pose."""
    at = np.inf if cut is None and head else -np.inf if cut is None else cut
    keep = np.flatnonzero(t.frames <= at) if head else np.flatnonzero(t.frames > at)
    if not len(keep):
        return None
    judge = np.flatnonzero(t.frames < min(clean, at + 1))[-s.window:] if head else \
        np.flatnonzero(t.frames > max(clean, at))[:s.window]
    look = t.mean_look(judge) if len(judge) >= s.min_poses else None
    if look is not None and not (look.weights > 0).any():
        look = None                                        # nothing seen (people too small to sample)
    return _Side(fid, cut, look, int(t.frames[keep[0]]), int(t.frames[keep[-1]]))


def _change_point(t: Fragment, cut: float, lo: int, hi: int, before: looks.Appearance,
                  after: looks.Appearance) -> float:
    """Where in frames ``lo``..``hi`` the fragment's poses stop resembling ``before`` and start resembling
    ``after`` (the cut that best separates them, pose by pose); ``cut`` when they do not tell."""
    idx = np.flatnonzero((t.frames >= lo) & (t.frames <= hi))
    if len(idx) < 2:
        return cut
    part = t.look.select(idx)
    lean = np.nan_to_num(looks.histogram_similarity(part, before)[:, 0] - looks.histogram_similarity(part, after)[:, 0])
    score = np.r_[0.0, np.cumsum(lean)] * 2 - lean.sum()          # poses before j go with `before`
    j = int(np.argmax(score))
    f = t.frames[idx]
    if score[j] <= 0 or np.isclose(score[j], score[np.searchsorted(f, cut, side="right")]):
        return cut
    at = float(f[0] - 0.5 if j == 0 else f[-1] + 0.5 if j == len(idx) else (f[j - 1] + f[j]) / 2)
    return at if t.frames[0] <= at < t.frames[-1] else cut


def _sides(p: _Pieces, e: Encounter, s: RelinkSettings):
    """Heads and tails of one encounter (the cut fragments' first, in order), the links between them now
    ({head index: tail index}), or None when a cut fragment's side cannot be judged."""
    cut = (e.first + e.last) / 2 if e.b is not None else e.first + 0.5
    clean_head, clean_tail = (e.first, e.last) if e.b is not None else (e.first + 1, e.last)
    heads: List[_Side] = []
    tails: List[_Side] = []
    for fid in ([e.a] if e.b is None else [e.a, e.b]):
        t = p.frag[fid]
        h, tl = _side(t, fid, cut, True, clean_head, s), _side(t, fid, cut, False, clean_tail, s)
        if h is None or tl is None or h.look is None or tl.look is None:
            return None
        at = _change_point(t, cut, e.first - s.reach, e.last + s.reach, h.look, tl.look)
        if at != cut:
            h, tl = _side(t, fid, at, True, clean_head, s), _side(t, fid, at, False, clean_tail, s)
            if h is None or tl is None or h.look is None or tl.look is None:
                return None
        heads.append(h)
        tails.append(tl)
    cut_ids = {h.fid for h in heads}
    place, reach = np.array(e.place), s.reach_distance * e.height
    for fid, t in p.frag.items():
        if fid in cut_ids:
            continue
        if e.first - s.reach <= t.frames[-1] <= e.last + s.reach and np.linalg.norm(t.centres()[-1] - place) <= reach:
            heads.append(_side(t, fid, None, True, np.inf, s))
        if e.first - s.reach <= t.frames[0] <= e.last + s.reach and np.linalg.norm(t.centres()[0] - place) <= reach:
            tails.append(_side(t, fid, None, False, -np.inf, s))
    # whoever continues a candidate head now, and whoever a candidate tail continues, take part too
    for h in list(heads[len(cut_ids):]):
        after = p.next.get(h.fid)
        if after is not None and after not in cut_ids and all(t.fid != after for t in tails):
            tails.append(_side(p.frag[after], after, None, False, -np.inf, s))
    for t in list(tails[len(cut_ids):]):
        before = p.prev.get(t.fid)
        if before is not None and before not in cut_ids and all(h.fid != before for h in heads):
            heads.append(_side(p.frag[before], before, None, True, np.inf, s))
    now = {i: i for i in range(len(cut_ids))}
    for i, h in enumerate(heads[len(cut_ids):], len(cut_ids)):
        for j, t in enumerate(tails[len(cut_ids):], len(cut_ids)):
            if p.next.get(h.fid) == t.fid:
                now[i] = j
    if any(heads[i].look is None or tails[j].look is None for i, j in now.items()):
        return None                                  # a link in play that cannot be judged
    keep_h = [i for i, h in enumerate(heads) if h.look is not None]
    keep_t = [j for j, t in enumerate(tails) if t.look is not None]
    now = {keep_h.index(i): keep_t.index(j) for i, j in now.items()}
    return [heads[i] for i in keep_h], [tails[j] for j in keep_t], now


def _pairing(heads: List[_Side], tails: List[_Side], s: RelinkSettings, bound: int) -> Tuple[Dict[int, int], float]:
    """The best links {head index: tail index} and their score; the first ``bound`` heads must be linked."""
    gain = np.full((len(heads), len(tails)), -np.inf)
    for i, h in enumerate(heads):
        for j, t in enumerate(tails):
            if h.last < t.first:
                sim = looks.histogram_similarity(h.look, t.look)[0, 0]
                if np.isfinite(sim):
                    gain[i, j] = sim - s.link_similarity
    from scipy.optimize import linear_sum_assignment     # imported here: `import posetrack` stays light

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


def _score(heads, tails, links, s: RelinkSettings) -> float:
    return float(sum(looks.histogram_similarity(heads[i].look, tails[j].look)[0, 0] - s.link_similarity
                     for i, j in links.items()))


def _apply(p: _Pieces, heads: List[_Side], tails: List[_Side], links: Dict[int, int], bound: int) -> None:
    """Cut the encounter's fragments and set the links chosen."""
    head_id, tail_id = {}, {}
    for i in range(bound):
        head_id[i], tail_id[i] = p.cut(heads[i].fid, heads[i].cut)
    for i, h in enumerate(heads):
        head_id.setdefault(i, h.fid)
    for j, t in enumerate(tails):
        tail_id.setdefault(j, t.fid)
    for i in head_id:
        p.unlink(a=head_id[i])
    for j in tail_id:
        p.unlink(b=tail_id[j])
    for i, j in links.items():
        p.link(head_id[i], tail_id[j])


def relink(tracks: Dict[int, Fragment], s: RelinkSettings) -> Tuple[Dict[int, Fragment], int]:
    """Tracks with the pairings at every encounter decided again on colours (module docstring).

    Args:
        tracks: fragments by id, with colour descriptors (without them nothing changes).
        s: the settings.

    Returns:
        The tracks (a chain keeps the id of the track whose first pose it holds; others get
        fresh ids above every id in use) and how many encounters were re-linked.
    """
    if not tracks or any(t.look is None for t in tracks.values()):
        return tracks, 0
    p = _Pieces(tracks, max(s.reach, 1))           # a gap of a frame at least (a pose each is no fragment)
    changed, seen = 0, set()
    events = _events(p.frag, s, -1)
    while events and changed <= len(tracks):
        e = events.pop(0)
        key = (frozenset((e.a, e.b)), e.first)
        if key in seen or e.a not in p.frag or (e.b is not None and e.b not in p.frag):
            continue
        seen.add(key)
        sides = _sides(p, e, s)
        if sides is None:
            continue
        heads, tails, now = sides
        bound = 1 if e.b is None else 2                    # the cut fragments' heads: linked now, kept linked
        links, best = _pairing(heads, tails, s, bound)
        kept = _score(heads, tails, now, s)
        if not np.isfinite(kept) or best - kept <= s.margin or links == now:
            continue
        _apply(p, heads, tails, links, bound)
        changed += 1
        events = _events(p.frag, s, e.first - 1)           # the fragments changed from here on: look again
    return (p.tracks() if changed else tracks), changed


def _events(tracks: Dict[int, Fragment], s: RelinkSettings, since: int) -> List[Encounter]:
    return sorted(find_encounters(tracks, s.distance, since)
                  + find_handovers(tracks, s.reach, s.reach_distance, s.min_poses, since), key=lambda e: e.first)
