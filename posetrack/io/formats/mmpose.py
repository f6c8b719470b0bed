"""mmpose ``MMPoseInferencer`` predictions (mmpose 1.x), read as COCO-17 poses.

Documented in mmpose's "Inference with existing models" guide (``docs/en/user_guides/inference.md``,
"Dump Results") and written by ``mmpose/apis/inferencers/base_mmpose_inferencer.py``. Three
shapes are read, told apart by their content:

* a video's predictions file (``pred_out_dir`` with a video input): a list with one entry per
  frame, ``{"frame_id": i, "instances": [...]}``; ``frame_id`` is the 0-based frame index
  (mmpose numbers the frames with ``enumerate``);
* the inferencer's results dumped as JSON (``predictions`` without ``visualization``): one
  ``{"predictions": [[...instances of image 1], ...]}`` per frame, or a list of them; frames are
  numbered by position, from 0, in the order the inferencer yielded them;
* a folder of per-image predictions (``pred_out_dir`` with an image folder): ``<image stem>.json``
  per image, each the image's list of instances, placed by the image folder given as the video.

Each instance: ``keypoints`` ([x, y] per keypoint, frame pixels), ``keypoint_scores``, and
optionally ``bbox`` ([x1, y1, x2, y2]; mmpose 1.x writes it wrapped in a one-element list) and
``bbox_score``. A missing ``bbox`` is the extent of the located keypoints; a missing ``bbox_score``
reads as 1 (mmpose leaves it out when no detector ran). 17 (COCO), 26 (Halpe) and 133
(COCO-WholeBody) keypoints are read; their first 17 are COCO-17.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional, Tuple, Union

import msgspec
import numpy as np
from msgspec import Meta

from posetrack.io.formats.common import ForeignFormatError, Placement, boxes_from_keypoints, decode, to_coco17
from posetrack.types import Poses
from posetrack.validation import MAX_FRAMES, Coord, Finite, path_labeler

__all__ = ["read_poses", "looks_like"]

Point2 = Annotated[List[Coord], Meta(min_length=2, max_length=2)]
Box4 = Annotated[List[Coord], Meta(min_length=4, max_length=4)]


class Instance(msgspec.Struct, gc=False):
    keypoints: List[Point2]
    keypoint_scores: List[Finite]
    bbox: Optional[List[Union[Coord, Box4]]] = None
    bbox_score: Optional[Finite] = None


class VideoFrame(msgspec.Struct, gc=False):
    frame_id: Annotated[int, Meta(ge=0, lt=MAX_FRAMES)]
    instances: List[Instance]


class Result(msgspec.Struct, gc=False):
    predictions: List[List[Instance]]


_LABELER = path_labeler({"instances": "person", "predictions": "image"})
_DECODERS = {}


def _decoder(kind):
    if kind not in _DECODERS:
        _DECODERS[kind] = msgspec.json.Decoder(kind)
    return _DECODERS[kind]


def looks_like(first: dict) -> bool:
    """Whether a JSON list's first object (or the document) is an mmpose predictions entry."""
    return ("instances" in first and "frame_id" in first) or "predictions" in first \
        or ("keypoints" in first and "keypoint_scores" in first)


def read_poses(path: Path, placement: Placement) -> List[Tuple[int, Poses]]:
    """``(frame index, COCO-17 Poses)`` per frame of an mmpose predictions file or folder.

    Raises:
        ForeignFormatError: the content breaks the format (the message names the file, entry,
            person and field), or a folder's image cannot be placed.
    """
    if path.is_dir():
        return _read_folder(path, placement)
    raw = path.read_bytes()
    head = raw.lstrip()[:1]
    if head == b"{":
        result = decode(raw, _decoder(Result), path, _LABELER)
        return [(i, _poses(inst, path, f"image {i}")) for i, inst in enumerate(result.predictions)]
    first = _first_keys(raw)
    if "frame_id" in first or "instances" in first:
        frames = decode(raw, _decoder(List[VideoFrame]), path, _LABELER)
        out, seen = [], set()
        for i, fr in enumerate(frames):
            if fr.frame_id in seen:
                raise ForeignFormatError(f"{path}: entry {i}, frame_id: frame {fr.frame_id} is listed twice")
            seen.add(fr.frame_id)
            out.append((fr.frame_id, _poses(fr.instances, path, f"frame {fr.frame_id}")))
        return out
    if "predictions" in first:
        results = decode(raw, _decoder(List[Result]), path, _LABELER)
        images = [inst for r in results for inst in r.predictions]
        return [(i, _poses(inst, path, f"frame {i}")) for i, inst in enumerate(images)]
    if "keypoints" in first and "keypoint_scores" in first:
        raise ForeignFormatError(f"{path}: holds one image's mmpose instances; give the folder of per-image "
                                 "files (pred_out_dir), or the video's predictions file")
    raise ForeignFormatError(f"{path}: expected mmpose predictions: a list of {{\"frame_id\", \"instances\"}} "
                             "(a video's pred_out_dir file) or of {\"predictions\": [[...]]} (inferencer results)")


def _first_keys(raw: bytes) -> dict:
    try:
        items = msgspec.json.decode(raw, type=List[msgspec.Raw])
        return msgspec.json.decode(items[0], type=dict) if items else {}
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return {}


def _read_folder(folder: Path, placement: Placement) -> List[Tuple[int, Poses]]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ForeignFormatError(f"{folder}: no .json files; expected mmpose's per-image predictions (pred_out_dir)")
    decoder = _decoder(List[Instance])
    out = []
    for f in files:
        frame = placement.frame_of_image(f.stem, f, "file name")
        out.append((frame, _poses(decode(f.read_bytes(), decoder, f, _LABELER), f, "")))
    if len({f for f, _ in out}) != len(out):
        raise ForeignFormatError(f"{folder}: two files name the same image")
    return out


def _box(inst: Instance, path: Path, where: str) -> Optional[List[float]]:
    b = inst.bbox
    if b is None:
        return None
    if len(b) == 1 and isinstance(b[0], list):
        b = b[0]
    if len(b) != 4 or not all(isinstance(v, float) for v in b):
        raise ForeignFormatError(f"{path}: {where}, bbox: expected [x1, y1, x2, y2] or [[x1, y1, x2, y2]], got {b}")
    if b[2] < b[0] or b[3] < b[1]:
        raise ForeignFormatError(f"{path}: {where}, bbox: expected x2 >= x1 and y2 >= y1, got {b}")
    return list(b)


def _poses(instances: List[Instance], path: Path, where: str) -> Poses:
    prefix = f"{where}, " if where else ""
    if not instances:
        return Poses.empty(17)
    counts = {len(i.keypoints) for i in instances}
    for p, inst in enumerate(instances):
        if len(inst.keypoint_scores) != len(inst.keypoints):
            raise ForeignFormatError(f"{path}: {prefix}person {p}, keypoint_scores: {len(inst.keypoint_scores)} "
                                     f"scores for {len(inst.keypoints)} keypoints")
    if len(counts) > 1:
        raise ForeignFormatError(f"{path}: {prefix}people have different keypoint counts {sorted(counts)}")
    xy = np.asarray([i.keypoints for i in instances], np.float32)
    scores = np.asarray([i.keypoint_scores for i in instances], np.float32)
    xy, scores = to_coco17(xy, scores, path, f"{prefix}person 0, keypoints")
    given = [_box(inst, path, f"{prefix}person {p}") for p, inst in enumerate(instances)]
    derived = boxes_from_keypoints(xy, scores)
    boxes = np.asarray([b if b is not None else derived[p] for p, b in enumerate(given)], np.float32)
    box_scores = np.asarray([1.0 if i.bbox_score is None else i.bbox_score for i in instances], np.float32)
    return Poses(boxes, box_scores, xy, scores)
