"""Offline refinement of a whole tracked file: stitch, prune, interpolate, smooth.

An online tracker decides each frame with what it has seen; a file can be improved with
what comes later. In order:

1. **Undo one-frame swaps** (:mod:`posetrack.tracking.swaps`, ``swap_*``): a pose that leaves its
   track's path for one frame, while another track's pose of that frame lies on it, is exchanged
   with it. Then **stitch** fragments (before pruning, so a person seen in pieces survives as one
   track): a track that starts at most ``stitch_gap`` seconds after another ended takes over
   its id when they agree in time (no frame in common, no scene cut between), place (each
   end, moved on with its fragment's velocity, lands within ``stitch_distance`` body heights
   of the other's start, plus ``stitch_distance_rate`` heights per second of gap) and scale
   (heights within ``stitch_scale``), unless their velocities at the seam disagree
   (``stitch_velocity``) or their colours do (``stitch_appearance``). A track that **left**
   the frame (its last box at the frame's edge, moving out) and one that **entered** it (its
   first box at the edge, moving in) are never stitched on place and time: only colours
   at least ``reentry_appearance`` alike join them, up to ``reentry_gap`` seconds apart.
   Pairs are linked cheapest first, each end at most once. Fragments too weak to be a
   person (mean box score below ``min_track_score``, joints bunched in a small part of their
   boxes: ``min_joint_extent``) take no part.
   Then **re-link at encounters** (:mod:`posetrack.tracking.encounters`, ``relink_*``):
   where two tracks meet, or one ends or starts next to another, the tracks are cut where
   their colours change and heads and tails are paired again on colour histograms, undoing
   the online tracker's swaps. Then leave out **ambiguous poses** (:mod:`posetrack.tracking.ambiguous`,
   ``ambiguous_*``): a pose whose box lies where another track, unseen in that frame, is
   expected (two people in one box) could be either person's.
2. **Prune** by evidence: tracks with fewer than ``min_track_frames`` observed poses after
   stitching (at most half the file's frames, so a short clip keeps its people), a mean box
   score below ``min_track_score`` or bunched joints are removed.
3. **Interpolate** gaps of at most ``interpolate_gap`` frames inside a track: joints and box
   move linearly between the two ends; joint scores are ``interpolated_score`` times the
   lower end's (0 for joints not confident at both ends); the people are marked ``interpolated``.
4. **Smooth** each track's keypoints with the One-Euro filter (Casiez et al., "1 € Filter",
   CHI 2012), a low-pass filter whose cutoff rises with speed (little lag when moving,
   little jitter when still).

Example:
    >>> from posetrack.tracking.refine import refine
    >>> from posetrack.tracking.config import RefineConfig
    >>> frames, report = refine(tracked_frames, RefineConfig(enabled=True, interpolate_gap=4), fps=25.0)  # doctest: +SKIP
    >>> report                                                                               # doctest: +SKIP
    {'removed_tracks': 3, 'stitched': 2, 'interpolated': 17, 'smoothed': False, 'relinked': 1, 'ambiguous': 0, 'swaps': 0}
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from posetrack.tracking import appearance as looks
from posetrack.tracking.ambiguous import ambiguous_poses
from posetrack.tracking.config import RefineConfig
from posetrack.tracking.encounters import RelinkSettings, relink
from posetrack.tracking.fragments import Fragment, fragments_of, join
from posetrack.tracking.swaps import repair_swaps
from posetrack.types import FrameResult, Poses

__all__ = ["refine", "one_euro"]

RELINK_MIN_POSES = 5
"""Fewest poses on a side of an encounter whose colours are judged (one pose's histogram is noisy)."""



def _velocity(frames: np.ndarray, centres: np.ndarray, heights: np.ndarray) -> Tuple[np.ndarray, float]:
    """Least-squares velocity (2,) in pixels per frame of a fragment's end (its last <= 8 poses), and the mean height."""
    if len(frames) < 2:
        return np.zeros(2), float(heights.mean())
    t = frames - frames.mean()
    denom = float((t ** 2).sum())
    v = (t[:, None] * (centres - centres.mean(0))).sum(0) / denom if denom > 0 else np.zeros(2)
    return v, float(heights.mean())


@dataclass(frozen=True)
class _End:
    """One end (first or last poses) of a fragment."""

    frame: int
    centre: np.ndarray          # (2,) pixels
    velocity: np.ndarray        # (2,) pixels per frame (zero when not measured)
    height: float
    moving: bool                # velocity measured from at least three poses
    at_edge: bool               # within edge_margin heights of the frame's edge, or beyond
    outward: bool               # ... moving towards it (last end) / away from it (first end)
    look: Optional[looks.Appearance]


def _end(t: Fragment, last: bool, frame_size, margin: float, look_poses: int) -> _End:
    sl = slice(-8, None) if last else slice(0, 8)
    frames, c, h = t.frames[sl], t.centres()[sl], t.heights()[sl]
    v, height = _velocity(frames, c, h)
    box = t.boxes[-1] if last else t.boxes[0]
    at_edge, outward = False, False
    if frame_size is not None:
        w, hh = frame_size
        reach = margin * height
        gaps = np.array([box[0], w - box[2], box[1], hh - box[3]])           # left, right, top, bottom
        at_edge = bool((gaps <= reach).any())
        direction = np.array([-v[0], v[0], -v[1], v[1]]) * (1 if last else -1)  # towards each edge
        near = gaps <= reach
        outward = bool(at_edge and (direction[near] > 0).any())
    look = None
    if t.look is not None:
        look = t.mean_look(slice(-look_poses, None) if last else slice(0, look_poses))
    return _End(int(t.frames[-1] if last else t.frames[0]), c[-1] if last else c[0], v, height,
                len(frames) >= 3, at_edge, outward, look)


def _alike(a: _End, b: _End) -> float:
    """Colour similarity of two ends (their colour histograms where known, else the colour
    means: :mod:`posetrack.tracking.appearance`), NaN when unknown."""
    if a.look is None or b.look is None:
        return float("nan")
    if a.look.histograms is not None and b.look.histograms is not None:
        return float(looks.histogram_similarity(a.look, b.look)[0, 0])
    return float(looks.similarity(a.look, b.look)[0, 0])


def _stitch(tracks: Dict[int, Fragment], cfg: RefineConfig, fps: float, cuts: np.ndarray,
            frame_size=None, links: Optional[Dict[int, int]] = None) -> Dict[int, int]:
    """Which track continues which: {later id: earlier id}.

    Three kinds of pairs, linked in this order, each kind cheapest first, each end at most once:
    nearby continuations (within ``stitch_gap``, on place, time and scale, unless their
    velocities or colours disagree); people hidden in place (up to ``reentry_gap``: the new
    start within ``hidden_distance`` body heights of the old end, colours at least
    ``reentry_appearance`` alike); and a track that left the frame with one that entered it
    (up to ``reentry_gap``, colours at least ``reentry_appearance`` alike). The last two join
    only established fragments (``min_track_frames`` poses each) and only when unambiguous:
    the pair's colours beat any rival pair of the same ends by ``reentry_margin``.
    ``links`` ({later id: earlier id}) are kept; new ones are added to them.
    """
    max_gap = cfg.stitch_gap * fps
    long_gap = cfg.reentry_gap * fps
    ends = {tid: _end(t, True, frame_size, cfg.edge_margin, cfg.end_poses) for tid, t in tracks.items()}
    starts = {tid: _end(t, False, frame_size, cfg.edge_margin, cfg.end_poses) for tid, t in tracks.items()}
    regular, hidden, reentries = [], [], []
    for a, ea in ends.items():
        for b, sb in starts.items():
            gap = sb.frame - ea.frame
            if a == b or gap <= 0 or gap > max(max_gap, long_gap):
                continue
            if len(cuts) and ((cuts > ea.frame) & (cuts <= sb.frame)).any():
                continue                                              # never across a scene cut
            left_and_entered = ea.outward and sb.outward      # seen again elsewhere: any size (perspective)
            if not left_and_entered and max(ea.height, sb.height) / min(ea.height, sb.height) > cfg.stitch_scale:
                continue
            alike = _alike(ea, sb)
            if cfg.stitch_appearance is not None and alike < cfg.stitch_appearance:
                continue
            known = cfg.reentry_appearance is not None and alike >= cfg.reentry_appearance and gap <= long_gap \
                and min(len(tracks[a].pos), len(tracks[b].pos)) >= cfg.min_track_frames   # both established
            if left_and_entered:
                if known:
                    reentries.append((1.0 - alike, a, b))
                continue
            h = (ea.height + sb.height) / 2
            if gap <= max_gap and not _turned(ea, sb, cfg, fps):
                forward = np.linalg.norm(ea.centre + ea.velocity * gap - sb.centre)
                backward = np.linalg.norm(sb.centre - sb.velocity * gap - ea.centre)
                cost = min(forward, backward) / h
                if cost <= cfg.stitch_distance + cfg.stitch_distance_rate * gap / fps:
                    regular.append((cost, a, b))
                    continue
            if known and np.linalg.norm(ea.centre - sb.centre) / h <= cfg.hidden_distance:
                hidden.append((1.0 - alike, a, b))
    before: Dict[int, int] = dict(links or {})
    after: Dict[int, int] = {a: b for b, a in before.items()}
    for kind, pairs in (("regular", regular), ("hidden", hidden), ("reentry", reentries)):
        if kind != "regular":
            pairs = _unambiguous(pairs, cfg.reentry_margin)
        for _, a, b in sorted(pairs):
            if a not in after and b not in before and not _loops(before, a, b):
                after[a], before[b] = b, a
    return before


def _unambiguous(pairs, margin: float):
    """The pairs whose colour cost beats every other pair sharing one of their ends by ``margin``."""
    out = []
    for cost, a, b in pairs:
        rivals = [c for c, x, y in pairs if (x == a) != (y == b)]
        if not rivals or min(rivals) - cost >= margin:
            out.append((cost, a, b))
    return out


def _loops(before: Dict[int, int], a: int, b: int) -> bool:
    """Whether linking ``b`` after ``a`` closes a loop (``a`` already descends from ``b``)."""
    while a in before:
        a = before[a]
        if a == b:
            return True
    return False


def _turned(a: _End, b: _End, cfg: RefineConfig, fps: float) -> bool:
    """Whether the two ends move in opposite directions, both faster than ``stitch_velocity``
    body heights per second (a person seen going one way and then the other, with nobody
    seeing them turn, is more likely two people passing). Ends measured on fewer than three
    poses, or slower (people stopping, standing, turning on the spot), never veto."""
    if cfg.stitch_velocity is None or not (a.moving and b.moving):
        return False
    h = (a.height + b.height) / 2
    fast = min(np.linalg.norm(a.velocity), np.linalg.norm(b.velocity)) * fps / h > cfg.stitch_velocity
    return bool(fast and float(np.dot(a.velocity, b.velocity)) < 0)


def _weak(t: Fragment, cfg: RefineConfig, joint_score: float) -> bool:
    """Too little evidence of a person, whatever the track's length: low scores or bunched joints."""
    if t.box_scores.mean() < cfg.min_track_score:
        return True
    if cfg.min_joint_extent is None:
        return False
    conf = t.keypoint_scores > joint_score
    y = np.where(conf, t.keypoints[..., 1], np.nan)
    with np.errstate(all="ignore"):
        extent = (np.nanmax(y, 1) - np.nanmin(y, 1)) / t.heights()
    return bool(np.nanmean(np.where(conf.sum(1) >= 2, extent, np.nan)) < cfg.min_joint_extent) \
        if (conf.sum(1) >= 2).any() else True


def _split(tracks: Dict[int, Fragment], gap: float, established: int) -> Dict[int, Fragment]:
    """Tracks cut at every gap longer than ``gap`` frames where the piece before or after it has
    fewer than ``established`` poses (the later pieces get fresh ids above every id in use), so
    that stitching decides those links again with what came after. A link between two long
    pieces is the online tracker's, made with more to go on, and is kept."""
    out: Dict[int, Fragment] = {}
    next_id = max(tracks, default=-1) + 1
    for tid in sorted(tracks):
        t = tracks[tid]
        gaps = np.flatnonzero(np.diff(t.frames) > gap) + 1
        bounds = np.r_[0, gaps, len(t.pos)]
        sizes = np.diff(bounds)
        cuts = [g for i, g in enumerate(gaps) if min(sizes[i], sizes[i + 1]) < established]
        for i, piece in enumerate(np.split(np.arange(len(t.pos)), cuts)):
            new = tid if i == 0 else next_id
            next_id += i > 0
            out[new] = t.select(piece, new)
    return out


def _merge(tracks: Dict[int, Fragment], before: Dict[int, int]) -> Dict[int, Fragment]:
    """Chains of stitched fragments become one track with the earliest fragment's id."""
    def root(tid: int) -> int:
        while tid in before:
            tid = before[tid]
        return tid

    groups: Dict[int, List[Fragment]] = {}
    for tid in sorted(tracks):
        groups.setdefault(root(tid), []).append(tracks[tid])
    return {tid: join(parts, tid) for tid, parts in groups.items()}


def _interpolate(t: Fragment, frame_index: np.ndarray, max_gap: int, factor: float,
                 joint_score: float) -> Tuple[Fragment, np.ndarray]:
    """The track with its short gaps filled (positions missing between two observations).

    A joint confident (score above ``joint_score``) at both ends scores ``factor`` times
    the lower end's score; any other interpolated joint scores 0 (unknown), since its
    position was a guess at either end.
    """
    gaps = np.flatnonzero((np.diff(t.pos) > 1) & (np.diff(t.pos) <= max_gap + 1))
    if not len(gaps):
        return t, np.zeros(len(t.pos), bool)
    pos = [t.pos]
    new = {name: [getattr(t, name)] for name in ("boxes", "box_scores", "keypoints", "keypoint_scores")}
    for g in gaps:
        a, b = t.pos[g], t.pos[g + 1]
        fill = np.arange(a + 1, b)
        fa, fb = frame_index[a], frame_index[b]
        w = ((frame_index[fill] - fa) / max(fb - fa, 1))[:, None]
        pos.append(fill)
        new["boxes"].append((1 - w) * t.boxes[g] + w * t.boxes[g + 1])
        new["keypoints"].append((1 - w[..., None]) * t.keypoints[g] + w[..., None] * t.keypoints[g + 1])
        new["box_scores"].append(np.full(len(fill), factor * min(t.box_scores[g], t.box_scores[g + 1])))
        low = np.minimum(t.keypoint_scores[g], t.keypoint_scores[g + 1])
        new["keypoint_scores"].append(np.repeat(np.where(low > joint_score, factor * low, 0.0)[None], len(fill), 0))
    allpos = np.concatenate(pos)
    order = np.argsort(allpos, kind="stable")
    flags = np.r_[np.zeros(len(t.pos), bool), np.ones(len(allpos) - len(t.pos), bool)][order]
    cat = {name: np.concatenate(v)[order] for name, v in new.items()}
    return Fragment(t.tid, allpos[order], frame_index[allpos[order]], **cat), flags


def one_euro(times: np.ndarray, values: np.ndarray, min_cutoff: float, beta: float, d_cutoff: float = 1.0) -> np.ndarray:
    """One-Euro filter (Casiez et al. 2012) of a signal, vectorised over its channels.

    Args:
        times: (T,) seconds, increasing.
        values: (T, ...) samples.
        min_cutoff: minimum cutoff frequency, Hz.
        beta: cutoff increase per unit of speed (value units per second).
        d_cutoff: cutoff of the speed estimate, Hz.

    Returns:
        (T, ...) filtered samples; the first equals the first input.
    """
    def alpha(cutoff, dt):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    values = np.asarray(values, np.float64)
    out = np.empty_like(values)
    out[0] = x_prev = values[0]
    dx_prev = np.zeros_like(values[0])
    for i in range(1, len(values)):
        dt = max(float(times[i] - times[i - 1]), 1e-6)
        dx = (values[i] - x_prev) / dt
        a_d = alpha(d_cutoff, dt)
        dx_hat = a_d * dx + (1 - a_d) * dx_prev
        a = alpha(min_cutoff + beta * np.abs(dx_hat), dt)
        x_prev = a * values[i] + (1 - a) * x_prev
        dx_prev = dx_hat
        out[i] = x_prev
    return out


def refine(frames: Sequence[FrameResult], config: RefineConfig, fps: float, joint_score: float = 0.4,
           appearance: Optional[Sequence[looks.Appearance]] = None,
           frame_size: Optional[Tuple[int, int]] = None) -> Tuple[List[FrameResult], Dict]:
    """Refine tracked frames (one video, ascending frames) as ``config`` says.

    Args:
        frames: tracked results (untracked frames, without ids, pass through unchanged);
            a frame marked ``cut`` starts a new shot: nothing is stitched across it.
        config: what to do; with ``enabled`` False the frames come back as they are.
        fps: frames per second of the frame indices (seconds in ``config`` become frames).
        joint_score: interpolated joints not above this at both ends score 0 (the tracker's
            ``joint_score``); joints above it count for ``min_joint_extent``.
        appearance: the colour descriptors of every frame's people, one
            :class:`~posetrack.tracking.appearance.Appearance` per frame (one row per person), for
            the appearance rules of stitching and re-linking at encounters; None: no appearance
            evidence (an exit and an entry are then never stitched, and nothing is re-linked).
        frame_size: (width, height), to tell tracks that left or entered the frame; None: unknown.

    Returns:
        The refined frames (the same frames, in order; each frame's observed people by id,
        then its interpolated ones by id) and a report of what was done: ``removed_tracks``
        (too weak or, after stitching, too short), ``stitched`` (links made), ``interpolated``
        (people added), ``smoothed``, ``relinked`` (encounters whose pairing was changed),
        ``ambiguous`` (poses left out: they fit another person's path as well), ``swaps``
        (one-frame swaps undone).

    Raises:
        ValueError: fps not positive, frames not ascending, or appearance records not matching them.
    """
    report = {"removed_tracks": 0, "stitched": 0, "interpolated": 0, "smoothed": False, "relinked": 0, "ambiguous": 0,
              "swaps": 0}
    if not config.enabled or not frames:
        return list(frames), report
    _check_inputs(frames, appearance, fps)
    tracks = fragments_of(frames, appearance)
    if config.swap_outlier_iou is not None:
        tracks, report["swaps"] = repair_swaps(tracks, config.swap_outlier_iou, config.swap_fit_iou)
    if config.split_gap is not None:
        tracks = _split(tracks, config.split_gap * fps, config.min_track_frames)
    cuts = np.array([f.frame for f in frames if f.cut], np.int64)
    strong = {tid: t for tid, t in tracks.items() if not _weak(t, config, joint_score)}
    shortest = min(config.min_track_frames, max(1, len(frames) // 2))     # a short file keeps its people
    before = _stitch_in_order(strong, config, fps, cuts, frame_size, shortest)
    report["stitched"] = len(before)
    merged = _merge(strong, before)
    if config.relink_margin is not None and appearance is not None:
        merged, report["relinked"] = relink(merged, _relink_settings(config, fps))
    joined = len(merged)
    if config.ambiguous_iou is not None:
        merged, report["ambiguous"] = _leave_out_ambiguous(merged, config, fps)
    keep = {tid: t for tid, t in merged.items() if len(t.pos) >= shortest}
    report["removed_tracks"] = (len(tracks) - len(strong)) + (joined - len(keep))   # weak, then short (or emptied)
    flagged = _fill_and_smooth(keep, frames, config, fps, joint_score)
    report["interpolated"] = int(sum(f.sum() for f in flagged.values()))
    report["smoothed"] = bool(config.smooth)
    if config.interpolated_iou is not None:
        report["interpolated"] -= _drop_duplicates(keep, flagged, len(frames), config.interpolated_iou)
    return _assemble(frames, keep, flagged), report


def _fill_and_smooth(tracks: Dict[int, Fragment], frames: Sequence[FrameResult], config: RefineConfig, fps: float,
                     joint_score: float) -> Dict[int, np.ndarray]:
    """Interpolate (``interpolate_gap``) and smooth (``smooth``) every track in place; each track's mask of
    interpolated poses."""
    frame_index = np.array([f.frame for f in frames], np.int64)
    flagged = {}
    for tid, t in tracks.items():
        if config.interpolate_gap > 0:
            t, flags = _interpolate(t, frame_index, config.interpolate_gap, config.interpolated_score, joint_score)
        else:
            flags = np.zeros(len(t.pos), bool)
        if config.smooth and len(t.pos) > 1:
            t.keypoints = one_euro(t.frames / fps, t.keypoints, config.smooth_min_cutoff, config.smooth_beta)
        tracks[tid], flagged[tid] = t, flags
    return flagged


def _leave_out_ambiguous(tracks: Dict[int, Fragment], cfg: RefineConfig, fps: float) -> Tuple[Dict[int, Fragment], int]:
    """The tracks without their ambiguous poses (:mod:`posetrack.tracking.ambiguous`), and how many were left out."""
    max_gap = round(cfg.ambiguous_gap * fps, 0)              # frames, a float: infinity for a huge fps
    masks = ambiguous_poses(tracks, cfg.ambiguous_iou, max_gap, max(cfg.min_track_frames, 1))
    out = {tid: t.select(~masks[tid]) if masks[tid].any() else t for tid, t in tracks.items()}
    return {tid: t for tid, t in out.items() if len(t)}, int(sum(m.sum() for m in masks.values()))


def _check_inputs(frames: Sequence[FrameResult], appearance: Optional[Sequence[looks.Appearance]], fps: float) -> None:
    """ValueError unless fps is positive, the frames ascend and the appearance records (if any) match
    them, person for person."""
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"refine: fps must be a positive number, got {fps}")
    order = np.array([f.frame for f in frames])
    if (np.diff(order) <= 0).any():
        k = int(np.flatnonzero(np.diff(order) <= 0)[0]) + 1
        raise ValueError(f"frame {order[k]} comes after frame {order[k - 1]}: refinement needs ascending frames")
    if appearance is None:
        return
    if len(appearance) != len(frames):
        raise ValueError(f"{len(appearance)} appearance records for {len(frames)} frames")
    for f, a in zip(frames, appearance):
        if len(a) != len(f):
            raise ValueError(f"frame {f.frame}: {len(a)} appearance records for {len(f)} people")


def _relink_settings(cfg: RefineConfig, fps: float) -> RelinkSettings:
    return RelinkSettings(distance=cfg.relink_distance, margin=cfg.relink_margin, link_similarity=cfg.relink_similarity,
                          window=cfg.relink_window, min_poses=RELINK_MIN_POSES,
                          reach=int(round(cfg.relink_reach * fps)), reach_distance=cfg.relink_reach_distance)


def _stitch_in_order(tracks: Dict[int, Fragment], cfg: RefineConfig, fps: float, cuts: np.ndarray, frame_size,
                     shortest: int) -> Dict[int, int]:
    """{later id: earlier id}: established fragments (``shortest`` poses or more) stitched first, so
    a short false pose near a person's end cannot take their continuation; then the short pieces
    whose mean box score reaches ``piece_score``, which chain among themselves or onto free ends;
    then, once more, the chains so made, for the long-gap rules only (hidden in place, left and
    re-entered), so a person who comes back seen in pieces is established by the length of the
    chain (those rules need ``min_track_frames`` poses)."""
    if not (cfg.stitch_gap > 0 or cfg.reentry_gap > 0):
        return {}
    long = {tid: t for tid, t in tracks.items() if len(t.pos) >= shortest}
    pieces = {tid: t for tid, t in tracks.items() if len(t.pos) >= shortest or t.box_scores.mean() >= cfg.piece_score}
    before = _stitch(pieces, cfg, fps, cuts, frame_size, _stitch(long, cfg, fps, cuts, frame_size))
    if not cfg.restitch_chains:
        return before
    chains = _merge(pieces, before)                  # keyed by each chain's first fragment's id
    long_gaps_only = replace(cfg, stitch_gap=0.0)    # the short gaps were all decided above
    return {**before, **_stitch(chains, long_gaps_only, fps, cuts, frame_size)}


def _drop_duplicates(tracks: Dict[int, Fragment], flagged: Dict[int, np.ndarray], num_frames: int,
                     max_iou: float) -> int:
    """Remove interpolated poses overlapping another track's observed pose of their frame by IoU > ``max_iou``.

    Returns how many were removed.
    """
    from posetrack.boxes import box_iou

    observed: List[List[Tuple[int, np.ndarray]]] = [[] for _ in range(num_frames)]
    for tid, t in tracks.items():
        for j in np.flatnonzero(~flagged[tid]):
            observed[t.pos[j]].append((tid, t.boxes[j]))
    removed = 0
    for tid, t in tracks.items():
        drop = np.zeros(len(t.pos), bool)
        for j in np.flatnonzero(flagged[tid]):
            others = [b for other, b in observed[t.pos[j]] if other != tid]
            if others and box_iou(t.boxes[j][None], np.array(others)).max() > max_iou:
                drop[j] = True
        if drop.any():
            keep = ~drop
            tracks[tid] = t.select(keep)
            flagged[tid] = flagged[tid][keep]
            removed += int(drop.sum())
    return removed


def _assemble(frames: Sequence[FrameResult], tracks: Dict[int, Fragment], flagged: Dict[int, np.ndarray]) -> List[FrameResult]:
    """Frames rebuilt from the tracks: observed people by id, then interpolated ones by id."""
    k = next((f.poses.num_keypoints for f in frames if len(f.poses) or f.poses.keypoints.ndim == 3), 0)
    per_frame: List[list] = [[] for _ in frames]
    for tid, t in tracks.items():
        for j, p in enumerate(t.pos):
            per_frame[p].append((bool(flagged[tid][j]), tid, t, j))
    out = []
    for pos, f in enumerate(frames):
        people = per_frame[pos]
        if f.track_ids is None and not people:
            out.append(f)
            continue
        people.sort(key=lambda e: (e[0], e[1]))
        poses = Poses(np.array([e[2].boxes[e[3]] for e in people]).reshape(-1, 4),
                      np.array([e[2].box_scores[e[3]] for e in people]),
                      np.array([e[2].keypoints[e[3]] for e in people]).reshape(-1, k, 2),
                      np.array([e[2].keypoint_scores[e[3]] for e in people]).reshape(-1, k))
        out.append(FrameResult(f.frame, poses, np.array([e[1] for e in people], np.int64), time=f.time,
                               interpolated=np.array([e[0] for e in people], bool), cut=f.cut))
    return out
