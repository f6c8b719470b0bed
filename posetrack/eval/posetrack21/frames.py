"""The persons the PoseTrack21 kit scores: labeled frames, 15 joints, ignore regions, dense ids, padded.

The kit's preprocessing (SPEC.md section 2 of the project's reference data), vectorised over frames:

1. only GT frames with a true ``is_labeled`` are kept, with the prediction frame paired to each;
2. the ears (slots 3 and 4) are dropped, leaving the kit's 15 joints (:data:`JOINTS`);
3. in a frame whose GT has ignore regions, every person (GT and prediction) has each of its 15
   joint points tested, (0, 0) of a missing joint included: strictly inside a polygon (shapely's
   ``contains``) means ignored. A person with all 15 inside is dropped; otherwise its inside joints
   become (0, 0) with score 0, and then a person with ``x <= 0 and y <= 0`` at every joint is dropped;
4. a joint is valid when ``x > 0 and y > 0`` (visibility flags and scores play no part);
5. GT and predicted track ids are each renumbered 0..n-1 in sorted order over the kept persons.

Quirk kept: when every keypoint value of every prediction in a frame is a JSON integer, the kit
holds that frame's keypoints in an integer array and writes the scores into it, truncating them
toward zero (0.87 becomes 0); scores only matter for mAP.

Choices where the kit crashes: a negative track id is renumbered like any other (the kit's renumbering
goes wrong silently; warning); a duplicate track id in one frame is an error (the kit raises too).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from posetrack.eval.frames import inside_regions
from posetrack.eval.posetrack_file import PoseTrackFormatError
from posetrack.eval.posetrack21.read import Sequence21
from posetrack.tracksfile.posetrack21 import KEYPOINTS

__all__ = ["JOINTS", "KIT_JOINT_NAMES", "NUM_JOINTS", "Persons21", "KitFrames", "kit_frames"]

#: The PoseTrack21 slots the kit scores: all but the ears (placeholders in PoseTrack files).
_SLOTS = np.array([k for k, name in enumerate(KEYPOINTS) if name not in ("left_ear", "right_ear")])
#: The kit's 15 joints: PoseTrack21 slots without the ears, in slot order.
JOINTS: Tuple[str, ...] = tuple(KEYPOINTS[k] for k in _SLOTS)
#: The kit's column names for them (Neck = head_bottom, Head = head_top).
KIT_JOINT_NAMES = ("Nose", "Neck", "Head", "LS", "RS", "LE", "RE", "LW", "RW", "LH", "RH", "LK", "RK", "LA", "RA")
NUM_JOINTS = len(JOINTS)


@dataclass(frozen=True)
class Persons21:
    """The scored persons of one side (GT or predictions) of a sequence, padded per frame.

    Slots 0..n_f-1 of frame f hold its persons in file order; the others are padding.

    Attributes:
        valid: (F, S) bool, the slot holds a person.
        index: (F, S) int64 row of the person in its :class:`Sequence21` (0 in padding), for messages.
        id: (F, S) int64 dense track id 0..num_ids-1 (0 in padding).
        num_ids: distinct track ids.
        xy: (F, S, 15, 2) float64 joints in image pixels (0 where missing or ignored, and in padding).
        joint_valid: (F, S, 15) bool, ``x > 0 and y > 0`` (False in padding).
        score: (F, S, 15) float64 joint scores (predictions; zeros for GT).
        head_size: (F, S) float64 ``0.6 * |head box diagonal|`` (GT; NaN without a head box).
    """

    valid: np.ndarray
    index: np.ndarray
    id: np.ndarray
    num_ids: int
    xy: np.ndarray
    joint_valid: np.ndarray
    score: np.ndarray
    head_size: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        """(F,) persons per frame."""
        return self.valid.sum(axis=1)


@dataclass(frozen=True)
class KitFrames:
    """The labeled frames of one sequence as the kit scores them.

    Attributes:
        frames: (F,) int64 index of each labeled frame in the GT file.
        gt, pred: the persons of both sides.
    """

    frames: np.ndarray
    gt: Persons21
    pred: Persons21


def _truncated_scores(seq: Sequence21, rows: np.ndarray) -> np.ndarray:
    """(len(rows), 17) scores, truncated toward zero in frames whose keypoints are all JSON integers."""
    scores = seq.scores[rows]
    frame = seq.person_frame
    all_int = np.ones(seq.num_frames, dtype=bool)
    np.logical_and.at(all_int, frame, seq.integer_keypoints)      # every person of the frame
    quirk = all_int[frame[rows]]
    if quirk.any():
        with np.errstate(invalid="ignore", over="ignore"):
            scores[quirk] = scores[quirk].astype(np.int64).astype(np.float64)     # the kit's int cast
    return scores


def _ignore(xy: np.ndarray, score: np.ndarray, frame: np.ndarray, regions) -> np.ndarray:
    """Apply ignore regions in place (joints inside -> 0, score 0); returns the (N,) persons to keep."""
    keep = np.ones(len(xy), dtype=bool)
    has_regions = np.array([bool(r) for r in regions], dtype=bool).reshape(-1)
    rows = np.flatnonzero(has_regions[frame]) if len(frame) else np.zeros(0, dtype=np.int64)
    if not len(rows):
        return keep
    pts = xy[rows].reshape(-1, 2)
    inside = inside_regions(pts, np.repeat(frame[rows], NUM_JOINTS), regions).reshape(len(rows), NUM_JOINTS)
    xy[rows] = np.where(inside[..., None], 0.0, xy[rows])
    score[rows] = np.where(inside, 0.0, score[rows])
    dead = inside.all(axis=1) | ((xy[rows, :, 0] <= 0) & (xy[rows, :, 1] <= 0)).all(axis=1)
    keep[rows[dead]] = False
    return keep


def _dense_ids(track_id: np.ndarray) -> Tuple[np.ndarray, int]:
    """Track ids renumbered 0..n-1 in sorted order (the kit's relabelling)."""
    order = np.argsort(track_id, kind="stable")
    ordered = track_id[order]
    new = np.concatenate([[False], ordered[1:] != ordered[:-1]]).cumsum() if len(ordered) else ordered
    out = np.empty(len(track_id), dtype=np.int64)
    out[order] = new
    return out, int(new[-1]) + 1 if len(new) else 0


def _check_unique(seq: Sequence21, rows: np.ndarray, slot_frame: np.ndarray, ids: np.ndarray, what: str) -> None:
    """The kit refuses a track id used twice in one frame (after ignore regions): so do we."""
    if len(ids) < 2:
        return
    order = np.lexsort((ids, slot_frame))
    same = (np.diff(slot_frame[order]) == 0) & (np.diff(ids[order]) == 0)
    if same.any():
        n = int(rows[order[np.flatnonzero(same)[0] + 1]])
        raise PoseTrackFormatError(f"{seq.where(n)}: 'track_id' {int(seq.track_id[n])} is used by two {what} persons "
                                   f"of this frame; track ids must be unique per frame")


def _side(seq: Sequence21, rows: np.ndarray, slot_frame: np.ndarray, n_frames: int, regions, what: str,
          warnings: List[str], keep_joint: Optional[np.ndarray]) -> Persons21:
    """Persons ``rows`` of ``seq`` (``slot_frame``: their index among the labeled frames) as the kit scores them."""
    xy = seq.keypoints[rows][:, _SLOTS].copy()
    score = (_truncated_scores(seq, rows) if what == "predicted" else np.zeros((len(rows), len(KEYPOINTS))))[:, _SLOTS]
    if keep_joint is not None:
        dropped = ~keep_joint[rows][:, _SLOTS]
        xy[dropped] = 0.0
        score[dropped] = 0.0
    keep = _ignore(xy, score, slot_frame, regions)
    rows, slot_frame, xy, score = rows[keep], slot_frame[keep], xy[keep], score[keep]
    missing = np.flatnonzero(~seq.has_track_id[rows])
    if len(missing):
        raise PoseTrackFormatError(f"{seq.where(int(rows[missing[0]]))}: no 'track_id' ({what} persons on labeled "
                                   f"frames need one)")
    _check_unique(seq, rows, slot_frame, seq.track_id[rows], what)
    if (seq.track_id[rows] < 0).any():
        warnings.append(f"{seq.source}: negative track ids (e.g. {int(seq.track_id[rows].min())}) are scored as "
                        f"distinct ids; the kit would renumber them wrongly")
    ids, num_ids = _dense_ids(seq.track_id[rows])
    box = seq.head_box[rows]
    w, h = (box[:, 0] + box[:, 2]) - box[:, 0], (box[:, 1] + box[:, 3]) - box[:, 1]   # as the kit computes them
    head = 0.6 * np.sqrt(w * w + h * h)
    counts = np.bincount(slot_frame, minlength=n_frames)      # rows come frame by frame, in file order
    at = (slot_frame, np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts))
    shape = (n_frames, int(counts.max()) if len(rows) else 0)

    def pad(values, fill):
        out = np.full(shape + values.shape[1:], fill, dtype=values.dtype)
        out[at] = values
        return out

    xy_pad = pad(xy, 0.0)
    valid = pad(np.ones(len(rows), bool), False)
    return Persons21(valid=valid, index=pad(rows, 0), id=pad(ids, 0), num_ids=num_ids, xy=xy_pad,
                     joint_valid=(xy_pad[..., 0] > 0) & (xy_pad[..., 1] > 0) & valid[..., None],
                     score=pad(score, 0.0), head_size=pad(head, np.nan))


def kit_frames(gt: Sequence21, pred: Sequence21, order: np.ndarray, warnings: List[str],
               keep_pred: Optional[np.ndarray] = None, keep_joint: Optional[np.ndarray] = None) -> KitFrames:
    """The labeled frames of a sequence, both sides preprocessed as the kit does.

    Args:
        gt, pred: the files; order: (T,) prediction frame of each GT frame (:func:`pair_frames21`).
        warnings: appended to.
        keep_pred: optional (N_pred,) bool, predicted persons to score (score thresholds).
        keep_joint: optional (N_pred, 17) bool, predicted joints to keep (the others become 0, 0).

    Raises:
        PoseTrackFormatError: a scored person without track id, a track id used twice in a frame,
            a GT person without head box on a labeled frame.
    """
    frames = np.flatnonzero(gt.is_labeled)
    slot_of = np.full(gt.num_frames, -1, dtype=np.int64)
    slot_of[frames] = np.arange(len(frames))
    regions = [gt.regions[f] for f in frames.tolist()]
    gt_rows = np.flatnonzero(gt.is_labeled[gt.person_frame])
    no_head = gt_rows[~gt.has_head_box[gt_rows]]
    if len(no_head):
        raise PoseTrackFormatError(f"{gt.where(int(no_head[0]))}: no 'bbox_head' (GT persons on labeled frames need "
                                   f"one: PCKh distances are divided by its size)")
    pred_slot = np.full(pred.num_frames, -1, dtype=np.int64)
    scored = order[frames]
    pred_slot[scored] = np.arange(len(frames))
    pred_rows = np.flatnonzero(pred_slot[pred.person_frame] >= 0)
    if keep_pred is not None:
        pred_rows = pred_rows[keep_pred[pred_rows]]
    pred_rows = pred_rows[np.argsort(pred_slot[pred.person_frame[pred_rows]], kind="stable")]
    g = _side(gt, gt_rows, slot_of[gt.person_frame[gt_rows]], len(frames), regions, "GT", warnings, None)
    p = _side(pred, pred_rows, pred_slot[pred.person_frame[pred_rows]], len(frames), regions, "predicted", warnings,
              keep_joint)
    return KitFrames(frames=frames, gt=g, pred=p)
