"""Lost and ended tracks, and identities for people who start tracks: retiring, the gallery, re-identification.

A lost track ends after ``max_lost`` seconds unseen, or when predicted wholly outside the frame
(:func:`expired`). A track that ends after being seen often enough joins the *gallery*: its id, where and when it was last seen,
its velocity and its colours (:mod:`posetrack.tracking.appearance`). A newcomer then takes
the id of an ended track it clearly looks like (:func:`reidentify`, within ``reid_horizon``
seconds); with ``max_tracks`` and every id handed out, it takes the free identity it looks
most like, or is nearest to (:func:`reuse`). These functions read the tables and return new
ones: the state stays with the tracker.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.identities import reuse
    >>> from posetrack.tracking.state import Table
    >>> from posetrack.tracking.tables import table_specs
    >>> empty = Table.empty(table_specs(17)["tracks"])
    >>> reuse(np.array([[0, 0, 10, 20.0]]), None, empty, Table.empty(table_specs(17)["gallery"]),
    ...       np.array([1, 3])).tolist()                     # nobody known: the lowest free id
    [1]
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from posetrack.boxes import box_centres
from posetrack.tracking import appearance as looks
from posetrack.tracking.config import TrackerConfig
from posetrack.tracking.state import Table

__all__ = ["expired", "remember", "reidentify", "reuse"]


def expired(queue: Table, tracks: Table, boxes: np.ndarray, frame: int, queue_frames: int, max_lost: Optional[int],
            min_hits: int, frame_size: Optional[Tuple[int, int]]) -> np.ndarray:
    """(S,) bool, the queued poses to drop at ``frame``; a track left with none ends.

    FlowTrack (``max_lost`` None): poses older than ``queue_frames`` (Q) frames. Otherwise a
    track keeps its newest pose while lost, and all its poses go when it is unseen for more
    than ``max_lost`` frames (Q frames while it has fewer than ``min_hits`` matches) or its
    predicted box (``boxes``, (T, 4)) lies wholly outside ``frame_size`` (width, height).
    """
    old = frame - queue.frames > queue_frames
    if max_lost is None or not len(tracks):
        return old
    row = np.searchsorted(tracks.ids, queue.track_ids)
    old &= queue.frames != tracks.last_seen[row]
    unseen = frame - tracks.last_seen
    gone = (unseen > max_lost) | ((tracks.hits < min_hits) & (unseen > queue_frames))
    if frame_size is not None:
        w, h = frame_size
        gone |= (boxes[:, 2] <= 0) | (boxes[:, 0] >= w) | (boxes[:, 3] <= 0) | (boxes[:, 1] >= h)
    return old | gone[row]


def remember(gallery: Table, ended: Table, motion, needs_looks: bool) -> Table:
    """The gallery with the ``ended`` tracks added (sorted by id); with ``needs_looks`` only
    those whose colours were seen (re-identification needs them; ``max_tracks`` does not)."""
    if needs_looks:
        ended = ended.select(ended.look_weight.sum(1) > 0)
    if not len(ended):
        return gallery
    gallery = gallery.append(ids=ended.ids, last_seen=ended.last_seen, hits=ended.hits, box=ended.box,
                             velocity=motion.velocities(ended), look=ended.look, look_weight=ended.look_weight)
    return gallery.select(np.argsort(gallery.ids, kind="stable"))


def reidentify(boxes: np.ndarray, appearance: looks.Appearance, gallery: Table, frame: int, fps: float,
               cfg: TrackerConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Gallery ids for poses that clearly look like an ended track.

    A pose takes an ended track's id when their colours are at least ``reid_similarity``
    alike, the next most alike ended track is at least ``reid_margin`` less so, and the
    track could have walked there since it was last seen (``reid_speed`` body heights per
    second); pairs are taken most alike first, each id once.

    Args:
        boxes: (R, 4) the poses' boxes x1, y1, x2, y2, pixels.
        appearance: their R colour descriptors.
        gallery: the ended tracks (G rows).
        frame: the current frame index; ``fps`` turns frames into seconds.

    Returns:
        (R,) int64 ids (-1: none) and (G,) bool, the gallery rows taken.
    """
    sim = looks.similarity(appearance, looks.Appearance(gallery.look, gallery.look_weight))   # (R, G)
    sim = np.nan_to_num(sim, nan=0.0)
    h = np.maximum(gallery.box[:, 3] - gallery.box[:, 1], 1.0)
    gap = (frame - gallery.last_seen) / fps
    dist = np.linalg.norm(box_centres(boxes)[:, None] - box_centres(gallery.box)[None], axis=2) / h
    sim = np.where(dist <= 1.0 + cfg.reid_speed * gap[None], sim, 0.0)
    best = sim.argmax(1)
    top = np.sort(sim, axis=1)
    first, second = top[:, -1], (top[:, -2] if sim.shape[1] > 1 else np.zeros(len(boxes)))
    ids = np.full(len(boxes), -1, np.int64)
    used = np.zeros(len(gallery), bool)
    for flat in np.argsort(-sim, axis=None, kind="stable"):
        r, c = divmod(int(flat), sim.shape[1])
        if sim[r, c] < cfg.reid_similarity:
            break
        rival = second[r] if c == best[r] else first[r]          # the most alike other ended track
        if ids[r] < 0 and not used[c] and sim[r, c] - rival >= cfg.reid_margin:
            ids[r], used[c] = gallery.ids[c], True
    return ids, used


def reuse(boxes: np.ndarray, appearance: Optional[looks.Appearance], tracks: Table, gallery: Table,
          free: np.ndarray) -> np.ndarray:
    """With ``max_tracks`` ids handed out: for each pose, one of the ``free`` identities (ascending
    ids not matched in this frame), -1 for none left.

    A lost or ended track the pose looks like (colours, else nearness to where it was last
    seen, in its body heights) is preferred; otherwise the lowest free id (after a scene cut
    every id is free).

    Args:
        boxes: (R, 4) the poses' boxes.
        appearance: their colour descriptors, or None.
        tracks, gallery: the live and the ended tracks.
        free: (F,) int64 ascending.
    """
    out = np.full(len(boxes), -1, np.int64)
    if not len(free) or not len(boxes):
        return out
    known_ids = np.r_[tracks.ids, gallery.ids]
    known = np.isin(known_ids, free)
    score = np.full((len(boxes), len(free)), -1e9)                       # unknown identities: last resort
    if known.any():
        places = np.r_[tracks.box.reshape(-1, 4), gallery.box.reshape(-1, 4)][known]
        h = np.maximum(places[:, 3] - places[:, 1], 1.0)
        near = -np.linalg.norm(box_centres(boxes)[:, None] - box_centres(places)[None], axis=2) / h
        if appearance is not None:
            pool = looks.Appearance(np.r_[tracks.look, gallery.look][known],
                                    np.r_[tracks.look_weight, gallery.look_weight][known])
            sim = looks.similarity(appearance, pool)
            near = np.where(np.isfinite(sim), 10.0 * sim + near, near)
        score[:, np.searchsorted(free, known_ids[known])] = near
    score -= 1e-6 * np.arange(len(free))[None]                          # ties: the lowest id
    used = np.zeros(len(free), bool)
    for flat in np.argsort(-score, axis=None, kind="stable"):
        r, c = divmod(int(flat), len(free))
        if out[r] < 0 and not used[c]:
            out[r], used[c] = free[c], True
    return out
