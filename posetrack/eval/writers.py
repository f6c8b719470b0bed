"""Write PoseTrack files: a :class:`PoseTrackFile` as a 2017 ``annolist`` or a 2018 COCO-style document."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Union

import numpy as np

from posetrack.eval.format2018 import video_id
from posetrack.eval.posetrack_file import NAMES_2018, PoseTrackFile
from posetrack.keypoints import POSETRACK18, POSEVAL_MISSING_SCORE

__all__ = ["to_annolist", "to_posetrack18", "write_json"]


def to_annolist(seq: PoseTrackFile) -> Dict[str, Any]:
    """The sequence as a PoseTrack 2017 ``{"annolist": [...]}`` document.

    Non-joint points are not written (poseval never scores them).
    """
    frames = []
    person_points = _points_by_person(seq)
    for f in range(seq.num_frames):
        frame: Dict[str, Any] = {"image": [{"name": seq.image_names[f]}], "imgnum": [f + 1],
                                 "annorect": [_rect_out(seq, n, person_points[n])
                                              for n in range(seq.frame_start[f], seq.frame_start[f + 1])]}
        frame["is_labeled"] = [1 if frame["annorect"] else 0]
        if seq.ignore_regions[f]:
            frame["ignore_regions"] = [{"point": [{"x": [float(x)], "y": [float(y)]} for x, y in poly]}
                                       for poly in seq.ignore_regions[f]]
        frames.append(frame)
    return {"annolist": frames}


def _points_by_person(seq: PoseTrackFile) -> List[List[int]]:
    out: List[List[int]] = [[] for _ in range(seq.num_persons)]
    for k, n in enumerate(seq.point_person.tolist()):
        if seq.point_is_joint[k]:
            out[n].append(k)
    return out


def _rect_out(seq: PoseTrackFile, n: int, points: List[int]) -> Dict[str, Any]:
    rect: Dict[str, Any] = {}
    if seq.has_head_box[n]:
        for key, v in zip(("x1", "y1", "x2", "y2"), seq.head_box[n].tolist()):
            rect[key] = [v]
    if seq.has_box_score[n]:
        rect["score"] = [float(seq.box_score[n])]
    if seq.has_track_id[n]:
        rect["track_id"] = [int(seq.track_id[n])]
    if seq.has_annopoints[n]:
        pts = []
        for k in points:
            p = {"id": [int(seq.point_joint[k])], "x": [float(seq.point_xy[k, 0])], "y": [float(seq.point_xy[k, 1])]}
            if seq.point_has_score[k]:
                p["score"] = [float(seq.point_score[k])]
            pts.append(p)
        rect["annopoints"] = [{"point": pts}]
    return rect


_SLOT_2018 = np.array([POSETRACK18.index(n) for n in NAMES_2018])
_MISSING_SCORE_2018 = POSEVAL_MISSING_SCORE  # what poseval uses for a point without a score


def to_posetrack18(seq: PoseTrackFile) -> Dict[str, Any]:
    """The sequence as a PoseTrack 2018 (COCO-style) document with the 17 PoseTrack18 keypoints.

    Documented losses: non-joint points and duplicate joint points after the first are not
    written; in a person where only some points have scores, the others get -9999 (the score
    poseval gives a point without one, so scoring is unchanged); box-only rects (no annopoints)
    become annotations without ``keypoints``, which our reader reads back as box-only.
    """
    video = video_id(next((n for n in seq.image_names if n), ""))
    base = 10000000000 + int(video) * 10000 if video.isdigit() and len(video) <= 6 else 0
    images, annotations = [], []
    person_points = _points_by_person(seq)
    for f in range(seq.num_frames):
        image_id = base + f
        name = seq.image_names[f] or f"images/{video or 'video'}/{f:06d}.jpg"
        image: Dict[str, Any] = {"file_name": name, "id": image_id, "frame_id": image_id, "vid_id": video,
                                 "nframes": seq.num_frames,
                                 "is_labeled": bool(seq.frame_start[f + 1] > seq.frame_start[f])}
        if seq.ignore_regions[f]:
            image["ignore_regions_x"] = [poly[:, 0].tolist() for poly in seq.ignore_regions[f]]
            image["ignore_regions_y"] = [poly[:, 1].tolist() for poly in seq.ignore_regions[f]]
        images.append(image)
        for n in range(seq.frame_start[f], seq.frame_start[f + 1]):
            annotations.append(_annotation_out(seq, n, person_points[n], image_id, len(annotations)))
    return {"images": images, "annotations": annotations,
            "categories": [{"supercategory": "person", "name": "person", "id": 1,
                            "keypoints": list(POSETRACK18.names),
                            "skeleton": [[i + 1, j + 1] for i, j in POSETRACK18.skeleton]}]}


def _annotation_out(seq: PoseTrackFile, n: int, points: List[int], image_id: int, ann_id: int) -> Dict[str, Any]:
    # poseval's 2018 reader needs the key in every annotation; null says "no track id".
    ann: Dict[str, Any] = {"id": ann_id, "image_id": image_id, "category_id": 1,
                           "track_id": int(seq.track_id[n]) if seq.has_track_id[n] else None}
    if seq.has_head_box[n]:
        x1, y1, x2, y2 = seq.head_box[n].tolist()
        ann["bbox_head"] = [x1, y1, x2 - x1, y2 - y1]
    if seq.has_box_score[n]:
        ann["score"] = float(seq.box_score[n])
    if not seq.has_annopoints[n]:
        return ann
    kps = np.zeros((POSETRACK18.num_keypoints, 3))
    scores = np.full(POSETRACK18.num_keypoints, _MISSING_SCORE_2018)
    written = np.zeros(POSETRACK18.num_keypoints, dtype=bool)
    any_score = False
    for k in points:
        slot = _SLOT_2018[seq.point_joint[k]]
        if written[slot]:
            continue  # poseval reads the first point of a joint only
        written[slot] = True
        kps[slot] = (seq.point_xy[k, 0], seq.point_xy[k, 1], 1.0)
        if seq.point_has_score[k]:
            scores[slot] = seq.point_score[k]
            any_score = True
    flat = kps.reshape(-1).tolist()
    ann["keypoints"] = [int(v) if i % 3 == 2 else v for i, v in enumerate(flat)]
    ann["num_keypoints"] = int(written.sum())
    if any_score:
        ann["scores"] = [float(s) if w else 0.0 for s, w in zip(scores.tolist(), written)]
    return ann


def write_json(document: Dict[str, Any], path: Union[str, os.PathLike]) -> None:
    """Write a PoseTrack document compactly (floats at full precision)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(document, f, separators=(",", ":"), allow_nan=False)
