"""The persons poseval scores: frame selection, keypoint test, ignore regions, first point per joint.

poseval evaluates a frame if and only if its ground truth has at least one rect (``is_labeled``
is never read), drops rects that fail its keypoint test, deletes the points lying strictly
inside a GT ignore polygon (then the rects left without points, in such frames only), and
reads each joint from the first remaining point with that id (``../shared/eval-parity/SPEC.md``
section 3 and 4). The result is padded into (frames, persons, joints) arrays so that the
matching in :mod:`posetrack.eval.matching` is vectorised over frames.

Example:
    >>> from posetrack.eval.formats import parse_posetrack
    >>> from posetrack.eval.frames import evaluated_frames, eval_persons
    >>> gt = parse_posetrack({"annolist": [{"annorect": []}, {"annorect": [{"track_id": [1],
    ...     "annopoints": [{"point": [{"id": [0], "x": [1.0], "y": [2.0]}]}]}]}]})
    >>> frames = evaluated_frames(gt)
    >>> frames.tolist(), eval_persons(gt, frames, gt.ignore_regions).has_joint[:, :, 0].tolist()
    ([1], [[True]])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from posetrack.eval.formats import NUM_JOINTS, PoseTrackFile, PoseTrackFormatError, PoseTrackSource

__all__ = ["EvalPersons", "evaluated_frames", "eval_persons", "pair_frames", "strictly_inside", "inside_regions"]

_CHUNK = 1 << 20   # point-edge pairs per vectorised step


@dataclass(frozen=True)
class EvalPersons:
    """The persons of the evaluated frames of one file after poseval's filtering, padded.

    Slots 0..n_f-1 of frame f hold its persons in file order; the other slots are padding.

    Attributes:
        frames: (F,) int64 index of each evaluated frame in the file.
        valid: (F, S) bool, the slot holds a person.
        person: (F, S) int64 index of the person in the file (0 in padding), for messages.
        track_id: (F, S) int64 (0 in padding or where the file gives none; see ``has_track_id``).
        has_track_id: (F, S) bool.
        xy: (F, S, 15, 2) float64 image pixels of joints 0..14 (NaN where absent).
        has_joint: (F, S, 15) bool, the person has a (first) point with that joint id.
        score: (F, S, 15) float64 point scores; NaN where absent or where the point has none.
        has_score: (F, S, 15) bool.
        head_box: (F, S, 4) float64 x1, y1, x2, y2 (NaN where missing).
        has_head_box: (F, S) bool.
    """

    frames: np.ndarray
    valid: np.ndarray
    person: np.ndarray
    track_id: np.ndarray
    has_track_id: np.ndarray
    xy: np.ndarray
    has_joint: np.ndarray
    score: np.ndarray
    has_score: np.ndarray
    head_box: np.ndarray
    has_head_box: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        """(F,) number of persons per evaluated frame."""
        return self.valid.sum(axis=1)


def evaluated_frames(gt: PoseTrackFile) -> np.ndarray:
    """Indexes of the frames poseval evaluates: those whose GT has at least one rect, (F,) int64."""
    return np.flatnonzero(np.diff(gt.frame_start) > 0)


def strictly_inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which points lie strictly inside a polygon (boundary excluded, as shapely's ``contains``).

    Even-odd rule with a ray to the right; a point on an edge or a vertex is outside.

    Args:
        points: (M, 2) x, y.
        polygon: (K, 2) vertices in order (closed implicitly); K < 3 contains nothing.

    Returns:
        (M,) bool.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    polygon = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(polygon) < 3:
        return np.zeros(len(points), dtype=bool)
    edges = np.concatenate([polygon, np.roll(polygon, -1, axis=0)], axis=1)      # (K, 4)
    return _inside_edges(points, edges[None].repeat(len(points), 0), np.ones((len(points), len(edges)), bool))


def _inside_edges(points: np.ndarray, edges: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Even-odd test of each point against its own edge list.

    Args:
        points: (M, 2); edges: (M, E, 4) ax, ay, bx, by of each point's polygon; valid: (M, E) bool.

    Returns:
        (M,) bool, strictly inside.
    """
    px, py = points[:, 0:1], points[:, 1:2]
    ax, ay, bx, by = edges[..., 0], edges[..., 1], edges[..., 2], edges[..., 3]
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)                         # > 0: point left of a->b
    on_edge = ((cross == 0) & (px >= np.minimum(ax, bx)) & (px <= np.maximum(ax, bx))
               & (py >= np.minimum(ay, by)) & (py <= np.maximum(ay, by)))
    upward = (ay <= py) & (by > py)
    downward = (by <= py) & (ay > py)
    crossings = ((upward & (cross > 0)) | (downward & (cross < 0))) & valid
    return (crossings.sum(axis=1) % 2 == 1) & ~(on_edge & valid).any(axis=1)


def eval_persons(seq: PoseTrackFile, frames: np.ndarray,
                 regions: Sequence[Tuple[np.ndarray, ...]],
                 keep_person: Optional[np.ndarray] = None,
                 keep_point: Optional[np.ndarray] = None) -> EvalPersons:
    """The persons of ``frames`` of ``seq`` as poseval scores them.

    Args:
        seq: a GT or prediction file.
        frames: (F,) indexes of the evaluated frames (from :func:`evaluated_frames` of the GT).
        regions: per frame of the file, the GT's ignore polygons (the GT file's ``ignore_regions``).
        keep_person: optional (N,) bool; persons to drop beforehand (score thresholds).
        keep_point: optional (M,) bool; points to drop beforehand.

    Returns:
        the padded persons of the F frames.
    """
    frames = np.asarray(frames, dtype=np.int64)
    person_frame = seq.person_frame
    in_eval = np.zeros(seq.num_frames, dtype=bool)
    in_eval[frames] = True
    alive = in_eval[person_frame] & seq.has_annopoints
    if keep_person is not None:
        alive &= keep_person
    point_person = seq.point_person
    point_alive = alive[point_person]
    if keep_point is not None:
        point_alive &= keep_point
    point_alive, alive = _apply_ignore_regions(seq, frames, regions, person_frame, point_person, point_alive, alive)
    return _pad(seq, frames, person_frame, point_person, point_alive, alive)


def _apply_ignore_regions(seq, frames, regions, person_frame, point_person, point_alive, alive):
    """Delete points strictly inside a polygon of their frame; then persons left without points there."""
    with_regions = np.array([bool(regions[f]) for f in frames.tolist()], dtype=bool)
    if not with_regions.any():
        return point_alive, alive
    region_frame = np.zeros(seq.num_frames, dtype=bool)
    region_frame[frames[with_regions]] = True
    point_frame = person_frame[point_person]
    candidates = point_alive & region_frame[point_frame]
    idx = np.flatnonzero(candidates)
    if len(idx):
        inside = inside_regions(seq.point_xy[idx], point_frame[idx], regions)
        point_alive = point_alive.copy()
        point_alive[idx[inside]] = False
    left = np.bincount(point_person[point_alive], minlength=seq.num_persons)
    alive = alive & ~(region_frame[person_frame] & (left == 0))
    return point_alive & alive[point_person], alive


def inside_regions(xy: np.ndarray, frame_of: np.ndarray, regions) -> np.ndarray:
    """(M,) bool: point m lies strictly inside one of the polygons of frame ``frame_of[m]`` (shapely's
    ``contains``: the boundary is outside; polygons with fewer than 3 vertices contain nothing).

    Args:
        xy: (M, 2) points; frame_of: (M,) int index into ``regions``; regions: per frame, a tuple of
            (K, 2) float64 polygons.

    Vectorised over frames: the k-th polygon of every frame is padded to a common vertex count.
    """
    frames = np.flatnonzero(np.bincount(frame_of))      # np.unique would import numpy.ma (0.1 s)
    row_of = np.zeros(int(frames.max()) + 1, dtype=np.int64)
    row_of[frames] = np.arange(len(frames))
    polys = [[p for p in regions[int(f)] if len(p) >= 3] for f in frames.tolist()]
    inside = np.zeros(len(xy), dtype=bool)
    for k in range(max(len(p) for p in polys)):
        n_v = max((len(p[k]) for p in polys if len(p) > k), default=0)
        edges = np.zeros((len(frames), n_v, 4))
        valid = np.zeros((len(frames), n_v), dtype=bool)
        for r, p in enumerate(polys):
            if len(p) > k:
                v = p[k]
                n = len(v)
                edges[r, :n, :2] = v                # edge i runs from vertex i to vertex i+1 (mod n)
                edges[r, :n - 1, 2:] = v[1:]
                edges[r, n - 1, 2:] = v[0]
                valid[r, :n] = True
        rows = row_of[frame_of]
        step = max(1, _CHUNK // max(n_v, 1))        # bounds memory for polygons with many vertices
        for a in range(0, len(xy), step):
            r = rows[a:a + step]
            inside[a:a + step] |= _inside_edges(xy[a:a + step], edges[r], valid[r])
    return inside


def _first_of_each(keys: np.ndarray) -> np.ndarray:
    """Indexes of the first occurrence of each distinct key, in key order (``np.unique(return_index=True)``
    without importing numpy.ma)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    return order[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if len(keys) else order


def _scatter(shape: tuple, index: tuple, values: np.ndarray, fill) -> np.ndarray:
    """An array of ``shape`` filled with ``fill``, holding ``values`` at ``index``."""
    out = np.full(shape + values.shape[1:], fill, dtype=values.dtype)
    out[index] = values
    return out


def _pad(seq, frames, person_frame, point_person, point_alive, alive) -> EvalPersons:
    """Surviving persons into (frame, slot) arrays; joints from the first surviving point of each id."""
    n_frames = len(frames)
    slot_of_frame = np.full(seq.num_frames, -1, dtype=np.int64)
    slot_of_frame[frames] = np.arange(n_frames)
    persons = np.flatnonzero(alive)
    row = slot_of_frame[person_frame[persons]]
    counts = np.bincount(row, minlength=n_frames)
    col = np.arange(len(persons)) - np.repeat(np.cumsum(counts) - counts, counts)
    shape = (n_frames, int(counts.max()) if n_frames and len(persons) else 0)
    at = (row, col)
    # poseval reads a joint from the first point with its id; later duplicates are ignored.
    pts = np.flatnonzero(point_alive & seq.point_is_joint)
    first = _first_of_each(point_person[pts] * NUM_JOINTS + seq.point_joint[pts])
    pts = pts[first]
    slot_of_person = np.zeros(seq.num_persons, dtype=np.int64)
    slot_of_person[persons] = col
    owner = point_person[pts]
    at_joint = (slot_of_frame[person_frame[owner]], slot_of_person[owner], seq.point_joint[pts])
    joint_shape = shape + (NUM_JOINTS,)
    return EvalPersons(
        frames=frames, valid=_scatter(shape, at, np.ones(len(persons), bool), False),
        person=_scatter(shape, at, persons, 0), track_id=_scatter(shape, at, seq.track_id[persons], 0),
        has_track_id=_scatter(shape, at, seq.has_track_id[persons], False),
        xy=_scatter(joint_shape, at_joint, seq.point_xy[pts], np.nan),
        has_joint=_scatter(joint_shape, at_joint, np.ones(len(pts), bool), False),
        score=_scatter(joint_shape, at_joint, seq.point_score[pts], np.nan),
        has_score=_scatter(joint_shape, at_joint, seq.point_has_score[pts], False),
        head_box=_scatter(shape, at, seq.head_box[persons], np.nan),
        has_head_box=_scatter(shape, at, seq.has_head_box[persons], False))


def _unique_keys(keys: Sequence[Any], src: PoseTrackSource, kind: str) -> bool:
    """True when every frame has a key; a key used by two frames is an error (a frame listed twice)."""
    if not keys or any(k is None or k == "" for k in keys):
        return False
    seen: dict = {}
    for f, k in enumerate(keys):
        if k in seen:
            raise PoseTrackFormatError(f"{src.source}: frames {seen[k]} and {f} have the same {kind} {k!r} "
                                       f"(a frame listed twice)")
        seen[k] = f
    return True


def pair_frames(gt: PoseTrackSource, pred: PoseTrackSource, frames: np.ndarray) -> Tuple[np.ndarray, str]:
    """Which prediction frame belongs to each GT frame.

    Frames are paired by image name (2017 ``image[0].name``, 2018 ``file_name``) when every frame
    of both files has one, else by image id when both files are 2018, else by position (poseval
    always pairs by position; a file listing its frames in another order would then be scored
    against the wrong frames).

    Args:
        gt, pred: the decoded files.
        frames: (F,) indexes of the GT frames that are scored.

    Returns:
        (order, how): order (gt.num_frames,) int64, the prediction frame of each GT frame (-1 for
        GT frames that are not scored); how: "image name", "image id" or "position".

    Raises:
        PoseTrackFormatError: a scored GT frame has no prediction frame, a prediction frame
            matches no GT frame, a name or id is used twice, or (by position) the frame counts differ.
    """
    frames = np.asarray(frames, dtype=np.int64)
    order = np.full(gt.num_frames, -1, dtype=np.int64)
    kinds = [("image name", gt.image_names, pred.image_names)]
    if gt.format == "2018" and pred.format == "2018":
        kinds.append(("image id", gt.image_ids, pred.image_ids))
    for kind, gt_keys, pred_keys in kinds:
        if not (_unique_keys(gt_keys, gt, kind) and _unique_keys(pred_keys, pred, kind)):
            continue
        index = {k: f for f, k in enumerate(pred_keys)}
        if not set(pred_keys) <= set(gt_keys) and kind == "image name" and len(kinds) == 2:
            continue  # 2018 files whose names differ: try the ids
        unknown = [f for f, k in enumerate(pred_keys) if k not in set(gt_keys)]
        if unknown:
            raise PoseTrackFormatError(f"{pred.source}: {pred.label(unknown[0])} matches no frame of the GT file "
                                       f"{gt.source} (frames are paired by {kind}; "
                                       f"{len(unknown)} prediction frame(s) unmatched)")
        for f in frames.tolist():
            p = index.get(gt_keys[f])
            if p is None:
                raise PoseTrackFormatError(f"{pred.source}: no frame for {gt.label(f)} of the GT file {gt.source} "
                                           f"(frames are paired by {kind}; that frame is scored)")
            order[f] = p
        return order, kind
    if pred.num_frames != gt.num_frames:
        raise PoseTrackFormatError(f"{pred.source}: {pred.num_frames} frames, but the GT file {gt.source} has "
                                   f"{gt.num_frames}; without image names or ids in both files, frames are paired "
                                   f"by position, so the counts must agree")
    order[frames] = frames
    return order, "position"
