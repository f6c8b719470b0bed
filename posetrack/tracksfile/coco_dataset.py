"""Tracks as a COCO keypoints *dataset* (``person_keypoints_*.json``) that labelling tools import
as tracks: CVAT's "COCO Keypoints 1.0" import reads ``attributes.track_id`` as a track (CVAT
PR #6969; CVAT docs "COCO Keypoints": "Tracks: Supported (via the track_id custom attribute)").

Unlike COCO keypoint *results* (:func:`posetrack.tracksfile.exports.export_coco`, the list
``loadRes`` reads), a dataset is what ``pycocotools.coco.COCO(path)`` loads (COCO "Data format",
cocodataset.org/#format-data)::

    {"info": {...}, "licenses": [],
     "images": [{"id": 0, "file_name": "frame_000000.png", "width": 1280, "height": 720, "frame_id": 0}],
     "annotations": [{"id": 1, "image_id": 0, "category_id": 1, "bbox": [x, y, w, h], "area": w * h,
                      "iscrowd": 0, "segmentation": [], "keypoints": [x, y, v, ...], "num_keypoints": 15,
                      "score": 0.98, "attributes": {"track_id": 3, "keyframe": true, "occluded": false}}],
     "categories": [{"id": 1, "name": "person", "supercategory": "person",
                     "keypoints": ["nose", ...], "skeleton": [[16, 14], ...]}]}

* One image per frame of the tracks file, ``id`` = ``frame_id`` = the 0-based frame index, as in
  posetrack's COCO keypoint results and boxes files (so ``loadRes`` of ``--export-coco`` output
  pairs with this dataset); annotation ids count from 1. ``file_name`` is the source image's name for an image folder,
  else ``frame_<frame:06d>.png``, the name CVAT gives a video task's frames (``frame_{:06d}``; CVAT
  matches annotations to frames by name without extension).
* Keypoint visibility ``v`` (COCO: 0 not labelled, 1 labelled but not visible, 2 visible): 2 for a
  joint scoring at least ``min_score`` (0.3, render's default), 1 for a located joint below it, 0
  (with x = y = 0) for a joint not located. ``num_keypoints`` counts v > 0.
* ``attributes`` is present for tracked poses only; ``keyframe`` is false for people that offline
  refinement interpolated.
* ``skeleton`` is 1-based, as COCO's.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from posetrack.tracksfile.codec import TrackFile

__all__ = ["coco_dataset", "export_coco_dataset", "VISIBLE_SCORE", "frame_file_name"]

#: Joints scoring at least this are written visible (v = 2); the render default ``--min-score``.
VISIBLE_SCORE = 0.3


def frame_file_name(frame: int) -> str:
    """The file name CVAT gives frame ``frame`` (0-based) of a video task."""
    return f"frame_{frame:06d}.png"


def _keypoints(xy: np.ndarray, scores: np.ndarray, min_score: float):
    located = np.isfinite(xy).all(axis=1) & np.isfinite(scores)
    v = np.where(located, np.where(scores >= min_score, 2, 1), 0)
    out = np.concatenate([np.where(located[:, None], xy, 0.0), v[:, None]], axis=1)
    return [round(float(x), 2) for x in out.ravel()], int((v > 0).sum())


def coco_dataset(tracks: TrackFile, image_names: Optional[Sequence[str]] = None,
                 min_score: float = VISIBLE_SCORE) -> Dict[str, Any]:
    """The COCO keypoints dataset of ``tracks`` (see the module docstring).

    Args:
        tracks: the tracks (any keypoint layout; the category lists its names and skeleton).
        image_names: the source's image file names in frame order (an image folder), or None
            for a video (``frame_<frame:06d>.png``).
        min_score: the keypoint score from which a joint is marked visible (v = 2).

    Returns:
        A JSON-ready dict (every number finite).
    """
    v = tracks.header.video
    images, annotations = [], []
    for fr in tracks.frames:
        name = image_names[fr.frame] if image_names is not None and fr.frame < len(image_names) \
            else frame_file_name(fr.frame)
        images.append({"id": fr.frame, "file_name": Path(name).name, "width": v.width, "height": v.height,
                       "frame_id": fr.frame})
        annotations += _annotations(fr, len(annotations), min_score)
    layout = tracks.layout
    category = {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(layout.names),
                "skeleton": [[i + 1, j + 1] for i, j in layout.skeleton]}
    info = {"description": f"posetrack tracks of {v.path}", "version": "1.0"}
    return {"info": info, "licenses": [], "images": images, "annotations": annotations, "categories": [category]}


def _annotations(fr, count: int, min_score: float) -> List[Dict[str, Any]]:
    out = []
    p = fr.poses
    for i in range(len(fr)):
        x1, y1, x2, y2 = (float(c) for c in p.boxes[i])
        if not np.isfinite([x1, y1, x2, y2]).all():
            continue
        kps, num = _keypoints(p.keypoints[i], p.keypoint_scores[i], min_score)
        score = float(p.box_scores[i])
        ann = {"id": count + len(out) + 1, "image_id": fr.frame, "category_id": 1,
               "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
               "area": round((x2 - x1) * (y2 - y1), 2), "iscrowd": 0, "segmentation": [],
               "keypoints": kps, "num_keypoints": num, "score": round(score, 4) if np.isfinite(score) else 0.0}
        if fr.track_ids is not None:
            interpolated = fr.interpolated is not None and bool(fr.interpolated[i])
            ann["attributes"] = {"track_id": int(fr.track_ids[i]), "keyframe": not interpolated, "occluded": False}
        out.append(ann)
    return out


def export_coco_dataset(tracks: TrackFile, path: Union[str, os.PathLike],
                        image_names: Optional[Sequence[str]] = None) -> int:
    """Write :func:`coco_dataset` of ``tracks`` to ``path`` (JSON), atomically.

    Returns:
        The number of annotations written.

    Raises:
        OSError: the file cannot be written (naming it).
    """
    from posetrack.io.atomic import write_atomic

    data = coco_dataset(tracks, image_names)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, [json.dumps(data, allow_nan=False)])
    return len(data["annotations"])
