"""Export tracks to PoseTrack 2017 (``annolist``) and 2018 (COCO-style) prediction files.

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

from typing import Dict, List, Optional, Sequence

import numpy as np

from .errors import InputError
from .keypoints import COCO, POSETRACK17, POSETRACK18, KeypointLayout
from .tracks_io import TrackFile

__all__ = ["to_posetrack15", "export_posetrack2017", "export_posetrack2018", "HEAD_TOP_RATIO"]

HEAD_TOP_RATIO = 0.6


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
                          for j in range(15) if sc[i, j] >= min_joint_score and sc[i, j] > 0]
                x1, y1, x2, y2 = (float(v) for v in fr.poses.boxes[i])
                rect = {"x1": [x1], "y1": [y1], "x2": [x2], "y2": [y2], "score": [float(fr.poses.box_scores[i])],
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
                if sc[i, j] >= min_joint_score and sc[i, j] > 0:
                    k = slots.index(joint)
                    kps[k] = (xy[i, j, 0], xy[i, j, 1], 1)
                    scores[k] = sc[i, j]
            x1, y1, x2, y2 = (float(v) for v in fr.poses.boxes[i])
            ann = {"id": len(annotations), "image_id": image_id, "category_id": 1,
                   "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(fr.poses.box_scores[i]),
                   "keypoints": [float(v) for v in kps.ravel()], "scores": [float(v) for v in scores]}
            if fr.track_ids is not None:
                ann["track_id"] = int(fr.track_ids[i])
            annotations.append(ann)
    categories = [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(slots),
                   "skeleton": [[i + 1, j + 1] for i, j in POSETRACK18.skeleton]}]
    return {"images": images, "annotations": annotations, "categories": categories}
