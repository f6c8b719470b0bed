"""Export tracks: PoseTrack 2017 (``annolist``) and 2018 (COCO-style) prediction files,
COCO keypoint results, and a long-format CSV.

COCO keypoint results (:func:`export_coco`), the list the COCO API's ``loadRes`` reads::

    [{"image_id": 12, "category_id": 1, "keypoints": [x1, y1, s1, ..., xK, yK, sK],
      "score": 0.87, "track_id": 3}, ...]

``image_id`` is the 0-based frame index; keypoints are in the tracks file's layout (COCO's
17 joints in COCO order for COCO weights); the third value of each joint is its keypoint
score, and ``score`` is the box score times the mean score of the joints above 0.2, both
as the official HRNet code writes its results (``lib/dataset/coco.py``,
``in_vis_thre = 0.2``). ``track_id`` is present when the people are tracked.

CSV (:func:`export_csv`): one row per person and frame, columns ``frame, time, track_id,
x1, y1, x2, y2, score, interpolated`` then ``<joint>_x, <joint>_y, <joint>_score`` for
each joint of the layout. Pixels are rounded to 0.01, scores to 0.0001, times to 1 µs; an
unknown time, track id or coordinate is an empty cell.

Non-finite values (NaN, infinity) never reach an output file: a joint with one is left
out (PoseTrack 2017), written as 0, 0 with score 0 (COCO-style files), or left empty (CSV).

Joint mapping to the 15 PoseTrack joints (``posetrack17`` layout, poseval order):

* ``posetrack18`` weights (PoseTrack-fine-tuned): every joint by name, including the
  learned ``head_bottom`` and ``head_top``.
* ``coco`` weights: the 12 limb joints and the nose by name; two stated heuristics for the
  joints COCO lacks:

  - ``head_bottom`` = midpoint of the shoulders (score: the lower shoulder score);
  - ``head_top`` = eye midpoint + 0.6 x (eye midpoint - head_bottom) — the crown sits
    about 0.6 of the neck-to-eyes distance above the eyes on an upright adult (score: the
    lowest of the two eyes and two shoulders).

Frames are matched to ground truth by position (as poseval does), so an export writes one
entry per image of the sequence, empty where nothing was processed.
"""
from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from posetrack.errors import InputError
from posetrack.keypoints import COCO, POSETRACK17, POSETRACK18, KeypointLayout
from posetrack.tracksfile.codec import TrackFile

__all__ = ["to_posetrack15", "export_posetrack2017", "export_posetrack2018", "export_coco", "export_csv", "csv_lines",
           "csv_columns", "HEAD_TOP_RATIO", "COCO_VISIBLE_SCORE"]

HEAD_TOP_RATIO = 0.6

# Official HRNet rescoring (lib/core/function.py and lib/dataset/coco.py): a person's score is
# box score x mean keypoint score over joints scoring above this.
COCO_VISIBLE_SCORE = 0.2


def _finite(x: float, default: float = 0.0) -> float:
    x = float(x)
    return x if math.isfinite(x) else default


def to_posetrack15(xy: np.ndarray, scores: np.ndarray, layout: KeypointLayout):
    """Map poses of any layout to the 15 PoseTrack joints.

    Args:
        xy: (N, K, 2) keypoints; scores: (N, K); layout: their layout.

    Returns:
        xy (N, 15, 2) and scores (N, 15), in ``posetrack17`` order.
    """
    xy = np.asarray(xy, np.float64)
    scores = np.asarray(scores, np.float64)
    if layout.name == POSETRACK17.name:
        return xy.copy(), scores.copy()
    out_xy = np.zeros((len(xy), 15, 2))
    out_s = np.zeros((len(xy), 15))
    have = set(layout.names)
    for j, name in enumerate(POSETRACK17.names):
        if name in have and not (layout.name == POSETRACK18.name and name in ("left_ear", "right_ear")):
            k = layout.index(name)
            out_xy[:, j], out_s[:, j] = xy[:, k], scores[:, k]
    if layout.name == COCO.name:
        ls, rs = layout.index("left_shoulder"), layout.index("right_shoulder")
        le, re = layout.index("left_eye"), layout.index("right_eye")
        neck = (xy[:, ls] + xy[:, rs]) / 2
        eyes = (xy[:, le] + xy[:, re]) / 2
        hb, ht = POSETRACK17.index("head_bottom"), POSETRACK17.index("head_top")
        out_xy[:, hb] = neck
        out_s[:, hb] = np.minimum(scores[:, ls], scores[:, rs])
        out_xy[:, ht] = eyes + HEAD_TOP_RATIO * (eyes - neck)
        out_s[:, ht] = scores[:, [le, re, ls, rs]].min(axis=1)
    elif layout.name != POSETRACK18.name:
        raise InputError(f"no PoseTrack joint mapping for keypoint layout {layout.name!r}")
    return out_xy, out_s


def _frames_in_order(tracks: TrackFile, num_images: int) -> List[Optional[object]]:
    by_frame = tracks.by_frame()
    return [by_frame.get(i) for i in range(num_images)]


def export_posetrack2017(tracks: TrackFile, image_names: Sequence[str], min_joint_score: float = 0.0) -> Dict:
    """PoseTrack 2017 prediction file (``{"annolist": [...]}``) for one sequence.

    Args:
        tracks: the tracks of the sequence (frame i = image i).
        image_names: the sequence's image paths as the GT file names them, one per frame.
        min_joint_score: joints scoring below this are left out.
    """
    annolist = []
    for name, fr in zip(image_names, _frames_in_order(tracks, len(image_names))):
        rects = []
        if fr is not None and len(fr):
            xy, sc = to_posetrack15(fr.poses.keypoints, fr.poses.keypoint_scores, tracks.layout)
            for i in range(len(fr)):
                points = [{"id": [j], "x": [float(xy[i, j, 0])], "y": [float(xy[i, j, 1])], "score": [float(sc[i, j])]}
                          for j in range(15) if sc[i, j] >= min_joint_score and sc[i, j] > 0
                          and np.isfinite(xy[i, j]).all() and np.isfinite(sc[i, j])]
                x1, y1, x2, y2 = (_finite(v) for v in fr.poses.boxes[i])
                rect = {"x1": [x1], "y1": [y1], "x2": [x2], "y2": [y2], "score": [_finite(fr.poses.box_scores[i])],
                        "annopoints": [{"point": points}]}
                if fr.track_ids is not None:
                    rect["track_id"] = [int(fr.track_ids[i])]
                rects.append(rect)
        annolist.append({"image": [{"name": name}], "annorect": rects})
    return {"annolist": annolist}


def export_posetrack2018(tracks: TrackFile, image_names: Sequence[str], min_joint_score: float = 0.0,
                         first_image_id: int = 0) -> Dict:
    """PoseTrack 2018 (COCO-style) prediction file for one sequence.

    Keypoints use the 17-slot PoseTrack 2018 layout (ears left at zero); ``scores`` holds
    the per-joint scores, ``keypoints`` visibility 1 for joints kept, 0 (and 0, 0) otherwise.
    """
    slots = POSETRACK18.names
    images, annotations = [], []
    for f, (name, fr) in enumerate(zip(image_names, _frames_in_order(tracks, len(image_names)))):
        image_id = first_image_id + f
        images.append({"id": image_id, "file_name": name, "frame_id": image_id, "nframes": len(image_names)})
        if fr is None or not len(fr):
            continue
        xy, sc = to_posetrack15(fr.poses.keypoints, fr.poses.keypoint_scores, tracks.layout)
        for i in range(len(fr)):
            kps = np.zeros((17, 3))
            scores = np.zeros(17)
            for j, joint in enumerate(POSETRACK17.names):
                if sc[i, j] >= min_joint_score and sc[i, j] > 0 and np.isfinite([*xy[i, j], sc[i, j]]).all():
                    k = slots.index(joint)
                    kps[k] = (xy[i, j, 0], xy[i, j, 1], 1)
                    scores[k] = sc[i, j]
            x1, y1, x2, y2 = (_finite(v) for v in fr.poses.boxes[i])
            ann = {"id": len(annotations), "image_id": image_id, "category_id": 1,
                   "bbox": [x1, y1, x2 - x1, y2 - y1], "score": _finite(fr.poses.box_scores[i]),
                   "keypoints": [float(v) for v in kps.ravel()], "scores": [float(v) for v in scores]}
            if fr.track_ids is not None:
                ann["track_id"] = int(fr.track_ids[i])
            annotations.append(ann)
    categories = [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(slots),
                   "skeleton": [[i + 1, j + 1] for i, j in POSETRACK18.skeleton]}]
    return {"images": images, "annotations": annotations, "categories": categories}


# ---------------------------------------------------------------- COCO keypoint results and CSV

def _clean_keypoints(poses) -> tuple:
    """(N, K, 2) coordinates and (N, K) scores with every joint that has a non-finite value zeroed."""
    xy = np.asarray(poses.keypoints, np.float64)
    sc = np.asarray(poses.keypoint_scores, np.float64)
    bad = ~(np.isfinite(xy).all(axis=2) & np.isfinite(sc))
    return np.where(bad[..., None], 0.0, xy), np.where(bad, 0.0, sc), bad


def export_coco(tracks: TrackFile) -> List[Dict[str, Any]]:
    """COCO keypoint results (the list ``COCO.loadRes`` reads), one entry per person and frame.

    See the module docstring for the fields; ``image_id`` is the frame index. Write it with
    ``json.dump(result, f, allow_nan=False)``: every value is finite.

    Returns:
        A list of dicts, in frame order, people in the order of the tracks file.
    """
    results = []
    for fr in tracks.frames:
        if not len(fr):
            continue
        xy, sc, _ = _clean_keypoints(fr.poses)
        visible = sc > COCO_VISIBLE_SCORE
        counts = visible.sum(axis=1)
        mean_visible = np.where(counts > 0, (sc * visible).sum(axis=1) / np.maximum(counts, 1), 0.0)
        box_scores = np.nan_to_num(np.asarray(fr.poses.box_scores, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        for i in range(len(fr)):
            kps = np.concatenate([xy[i], sc[i, :, None]], axis=1)
            entry = {"image_id": int(fr.frame), "category_id": 1,
                     "keypoints": [round(float(v), 4) for v in kps.ravel()],
                     "score": round(float(box_scores[i] * mean_visible[i]), 6)}
            if fr.track_ids is not None:
                entry["track_id"] = int(fr.track_ids[i])
            results.append(entry)
    return results


def csv_columns(layout: KeypointLayout) -> List[str]:
    """The CSV header for ``layout``: the person columns, then x, y, score per joint."""
    joints = [f"{name}_{part}" for name in layout.names for part in ("x", "y", "score")]
    return ["frame", "time", "track_id", "x1", "y1", "x2", "y2", "score", "interpolated", *joints]


def _cell(x: float, digits: int) -> str:
    x = float(x)
    return str(round(x, digits)) if math.isfinite(x) else ""


def _csv_rows(tracks: TrackFile):
    for fr in tracks.frames:
        p = fr.poses
        _, _, bad = _clean_keypoints(p)
        for i in range(len(fr)):
            tid = "" if fr.track_ids is None else str(int(fr.track_ids[i]))
            interpolated = int(fr.interpolated is not None and bool(fr.interpolated[i]))
            row = [str(fr.frame), "" if fr.time is None else _cell(fr.time, 6), tid,
                   *(_cell(v, 2) for v in p.boxes[i]), _cell(p.box_scores[i], 4), str(interpolated)]
            for k in range(p.num_keypoints):
                if bad[i, k]:
                    row += ["", "", ""]
                else:
                    row += [_cell(p.keypoints[i, k, 0], 2), _cell(p.keypoints[i, k, 1], 2),
                            _cell(p.keypoint_scores[i, k], 4)]
            yield row


def csv_lines(tracks: TrackFile) -> Iterator[str]:
    """The CSV text of :func:`export_csv`, line by line (header first), for writers that stream."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_columns(tracks.layout))
    for row in _csv_rows(tracks):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def export_csv(tracks: TrackFile, path: Union[str, os.PathLike]) -> int:
    """Write ``tracks`` as a long-format CSV: one row per person and frame (see the module docstring).

    The file is written atomically (a temporary file renamed into place), so a failed
    write leaves no half file.

    Args:
        tracks: the tracks to write.
        path: the CSV file (created with its folder; overwritten).

    Returns:
        The number of rows written (people x frames), not counting the header.
    """
    from posetrack.io.atomic import write_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, csv_lines(tracks))
    return sum(len(f) for f in tracks.frames)
