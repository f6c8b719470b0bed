"""AlphaPose results (``alphapose-results.json``), read as COCO-17 poses.

Documented in AlphaPose's ``docs/output.md`` ("Output format": one JSON list for all images,
COCO results style) and written by ``alphapose/utils/pPose_nms.py`` ``write_json``. Each entry is
one person::

    {"image_id": "12.jpg", "category_id": 1, "keypoints": [x1, y1, c1, ..., xK, yK, cK],
     "score": 2.31, "box": [x, y, w, h], "idx": 3}

* ``image_id`` is the image's file name. For a video AlphaPose names frame k ``"<k>.jpg"``
  (``alphapose/utils/detector.py``, 0-based), which is read as frame k. Any other name is an image
  of a folder and is placed by the image folder given as the video (never by guessing from the
  name's digits). With AlphaPose's ``--eval`` the id is an integer (the number in the image
  name), read as the 0-based frame index as in COCO results.
* ``keypoints``: 17 (COCO), 26 (Halpe), 133 (COCO-WholeBody) or 136 (Halpe) triplets; the
  first 17 are COCO-17.
* ``score`` is AlphaPose's pose-NMS proposal score, ``mean(c) + box score + 1.25 * max(c)``
  (``alphapose/utils/writer.py``), not a probability; the detector's box score is recovered by
  that formula and clipped to [0, 1].
* ``box`` (optional) is ``[x, y, w, h]`` in pixels; without it the box is the extent of the
  located keypoints. ``idx`` (optional; a track id with PoseFlow or ``--pose_track``, else the
  ids of merged detections) is read and ignored: ``track`` assigns its own ids.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Any, Dict, List, Optional, Tuple, Union

import msgspec
import numpy as np
from msgspec import Meta

from posetrack.io.formats.common import ForeignFormatError, Placement, boxes_from_keypoints, decode, to_coco17
from posetrack.types import Poses
from posetrack.validation import MAX_FRAMES, Coord, Finite, Int64, path_labeler

__all__ = ["read_poses", "looks_like", "PROPOSAL_MAX_WEIGHT"]

log = logging.getLogger(__name__)

#: Weight of the best joint score in AlphaPose's proposal score (``alphapose/utils/writer.py``).
PROPOSAL_MAX_WEIGHT = 1.25

_VIDEO_FRAME = re.compile(r"^(0|[1-9][0-9]{0,8})\.jpg$")


class Person(msgspec.Struct, gc=False):
    image_id: Union[Annotated[int, Meta(ge=0, lt=MAX_FRAMES)], str]
    keypoints: List[Coord]
    score: Finite
    category_id: Optional[Int64] = None
    box: Optional[Annotated[List[Coord], Meta(min_length=4, max_length=4)]] = None
    idx: Optional[Union[Finite, List[Any]]] = None


_LABELER = path_labeler()
_DECODER = None


def looks_like(first: Dict[str, Any]) -> bool:
    """Whether a JSON list's first object is an AlphaPose (COCO-results style) person."""
    return "image_id" in first and "keypoints" in first


def read_poses(path: Path, placement: Placement) -> List[Tuple[int, Poses]]:
    """``(frame index, COCO-17 Poses)`` per frame of an AlphaPose results file.

    Raises:
        ForeignFormatError: the content breaks the format (the message names the entry and
            field), or an image name cannot be placed.
    """
    global _DECODER
    if _DECODER is None:
        _DECODER = msgspec.json.Decoder(List[Person])
    raw = path.read_bytes()
    if raw.lstrip()[:1] != b"[":
        raise ForeignFormatError(f"{path}: expected AlphaPose results: a JSON list of people "
                                 "({\"image_id\", \"keypoints\", \"score\", ...})")
    people = decode(raw, _DECODER, path, _LABELER)
    by_frame: Dict[int, List[int]] = {}
    for i, person in enumerate(people):
        by_frame.setdefault(_frame(person.image_id, placement, path, f"entry {i}, image_id"), []).append(i)
    clipped = [0]
    out = [(frame, _poses([people[i] for i in rows], rows, path, clipped)) for frame, rows in sorted(by_frame.items())]
    if clipped[0]:
        log.warning("%s: %d box scores recovered from AlphaPose's proposal score fell outside [0, 1] and were "
                    "clipped", path, clipped[0])
    return out


def _frame(image_id: Union[int, str], placement: Placement, path: Path, where: str) -> int:
    if isinstance(image_id, int):
        return image_id
    m = _VIDEO_FRAME.match(image_id)
    if m:
        return int(m.group(1))
    return placement.frame_of_image(image_id, path, where)


def _poses(people: List[Person], rows: List[int], path: Path, clipped: List[int]) -> Poses:
    for person, row in zip(people, rows):
        if len(person.keypoints) % 3:
            raise ForeignFormatError(f"{path}: entry {row}, keypoints: {len(person.keypoints)} values, expected "
                                     "x, y, score per keypoint (a multiple of 3)")
    counts = {len(p.keypoints) for p in people}
    if len(counts) > 1:
        raise ForeignFormatError(f"{path}: entry {rows[0]}: people have different keypoint counts "
                                 f"{sorted(c // 3 for c in counts)}")
    kps = np.asarray([p.keypoints for p in people], np.float64).reshape(len(people), -1, 3)
    all_scores = kps[..., 2]
    box_scores = np.asarray([p.score for p in people]) - all_scores.mean(axis=1) \
        - PROPOSAL_MAX_WEIGHT * all_scores.max(axis=1)
    clipped[0] += int(((box_scores < -1e-4) | (box_scores > 1 + 1e-4)).sum())
    xy, scores = to_coco17(kps[..., :2].astype(np.float32), all_scores.astype(np.float32), path,
                           f"entry {rows[0]}, keypoints")
    derived = boxes_from_keypoints(xy, scores)
    boxes = np.empty((len(people), 4), np.float32)
    for i, (person, row) in enumerate(zip(people, rows)):
        if person.box is None:
            boxes[i] = derived[i]
            continue
        x, y, w, h = person.box
        if w < 0 or h < 0:
            raise ForeignFormatError(f"{path}: entry {row}, box: expected [x, y, w, h] with w, h >= 0, got {person.box}")
        boxes[i] = (x, y, x + w, y + h)
    return Poses(boxes, np.clip(box_scores, 0.0, 1.0), xy, scores)
