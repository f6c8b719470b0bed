"""OpenPose ``--write_json`` folders (one JSON file per frame), read as COCO-17 poses.

Documented in OpenPose's ``doc/02_output.md`` ("JSON Output Format", "Keypoint Ordering in
C++/Python"). Each file is ``{"version": 1.3, "people": [{"pose_keypoints_2d": [x0, y0, c0, ...],
...}]}``; a joint not found is ``0, 0, 0``. Files are named ``<video>_<frame:012d>_keypoints.json``
for a video (frame 0-based) and ``<image stem>_keypoints.json`` for a folder of images (placed
by the image folder given as the video). Coordinates are read as pixels, OpenPose's default
(``--keypoint_scale 0``); files written with another scale are not told apart by their content.

Joint mapping to COCO-17, by name (OpenPose's ``poseParameters.cpp`` part names); the neck,
mid-hip and the six foot joints have no COCO slot and are dropped:

=============== ======= =======
COCO-17         BODY_25 COCO-18
=============== ======= =======
nose            0       0
left_eye        16      15
right_eye       15      14
left_ear        18      17
right_ear       17      16
left_shoulder   5       5
right_shoulder  2       2
left_elbow      6       6
right_elbow     3       3
left_wrist      7       7
right_wrist     4       4
left_hip        12      11
right_hip       9       8
left_knee       13      12
right_knee      10      9
left_ankle      14      13
right_ankle     11      10
=============== ======= =======

OpenPose stores no person box or person score: the box is the extent of the located joints and
the score the mean confidence of the located COCO-17 joints.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, List, Optional, Tuple

import msgspec
import numpy as np

from posetrack.io.formats.common import ForeignFormatError, Placement, boxes_from_keypoints, decode
from posetrack.types import Poses
from posetrack.validation import Coord, path_labeler

__all__ = ["read_poses", "BODY_25_TO_COCO", "COCO_18_TO_COCO", "looks_like"]

#: Source index of each COCO-17 keypoint, in COCO order.
BODY_25_TO_COCO = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)
COCO_18_TO_COCO = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
_LAYOUTS = {25: ("BODY_25", BODY_25_TO_COCO), 18: ("COCO-18", COCO_18_TO_COCO)}

_VIDEO_FILE = re.compile(r"^(.*)_([0-9]{12})_keypoints\.json$")
_IMAGE_FILE = re.compile(r"^(.*)_keypoints\.json$")


class Person(msgspec.Struct, gc=False):
    pose_keypoints_2d: List[Coord]


class FrameFile(msgspec.Struct, gc=False):
    people: List[Person]
    version: Optional[Any] = None


_LABELER = path_labeler({"people": "person"})
_DECODER = None


def looks_like(folder: Path) -> bool:
    """Whether a folder holds OpenPose ``*_keypoints.json`` files."""
    return any(folder.glob("*_keypoints.json"))


def read_poses(path: Path, placement: Placement) -> List[Tuple[int, Poses]]:
    """``(frame index, COCO-17 Poses)`` for each ``*_keypoints.json`` file of the folder ``path``.

    Raises:
        ForeignFormatError: not a folder of OpenPose files, files of several videos, a file that
            breaks the format (named with its person and field), or an image that cannot be placed.
    """
    global _DECODER
    if not path.is_dir():
        raise ForeignFormatError(f"{path}: OpenPose writes one file per frame; give the folder of "
                                 "*_keypoints.json files (--write_json)")
    files = sorted(path.glob("*_keypoints.json"))
    if not files:
        raise ForeignFormatError(f"{path}: no *_keypoints.json files (OpenPose --write_json output)")
    _DECODER = _DECODER or msgspec.json.Decoder(FrameFile)
    placed = [(_frame(f, placement), f) for f in files]
    prefixes = {_VIDEO_FILE.match(f.name).group(1) for f in files if _VIDEO_FILE.match(f.name)}
    if len(prefixes) > 1:
        raise ForeignFormatError(f"{path}: holds the frames of several videos ({', '.join(sorted(prefixes))}); "
                                 "give one video's folder")
    seen = {}
    for frame, f in placed:
        if frame in seen:
            raise ForeignFormatError(f"{f}: frame {frame} is also {seen[frame].name}")
        seen[frame] = f
    return [(frame, _poses(decode(f.read_bytes(), _DECODER, f, _LABELER), f)) for frame, f in sorted(placed)]


def _frame(f: Path, placement: Placement) -> int:
    m = _VIDEO_FILE.match(f.name)
    if m:
        return int(m.group(2))
    return placement.frame_of_image(_IMAGE_FILE.match(f.name).group(1), f, "file name")


def _poses(doc: FrameFile, path: Path) -> Poses:
    if not doc.people:
        return Poses.empty(17)
    counts = {len(p.pose_keypoints_2d) for p in doc.people}
    for i, person in enumerate(doc.people):
        n = len(person.pose_keypoints_2d)
        if n not in (75, 54):
            raise ForeignFormatError(f"{path}: person {i}, pose_keypoints_2d: {n} values; expected 75 (BODY_25, "
                                     "25 x [x, y, c]) or 54 (COCO-18)")
    if len(counts) > 1:
        raise ForeignFormatError(f"{path}: people have different layouts ({sorted(c // 3 for c in counts)} keypoints)")
    kps = np.asarray([p.pose_keypoints_2d for p in doc.people], np.float32).reshape(len(doc.people), -1, 3)
    _, order = _LAYOUTS[kps.shape[1]]
    kps = kps[:, list(order)]
    xy, scores = kps[..., :2], kps[..., 2]
    located = scores > 0
    box_scores = np.where(located.any(axis=1), (scores * located).sum(axis=1) / np.maximum(located.sum(axis=1), 1), 0.0)
    return Poses(boxes_from_keypoints(xy, scores), np.clip(box_scores, 0.0, 1.0), xy, scores)
