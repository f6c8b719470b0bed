"""Ultralytics YOLO pose results, saved as JSON or as ``save_txt`` labels, read as COCO-17 poses.

Documented in Ultralytics' "Predict" mode guide (``Results`` methods ``to_json``/``summary`` and
``save_txt``) and written by ``ultralytics/engine/results.py``.

JSON: one entry per frame, in frame order from frame 0, each the list ``Results.to_json()`` (or
``summary()``) gives for that frame, e.g. ``[json.loads(r.to_json()) for r in model(video, stream=True)]``::

    [[{"name": "person", "class": 0, "confidence": 0.91,
       "box": {"x1": 10.2, "y1": 20.5, "x2": 80.1, "y2": 200.7}, "track_id": 1,
       "keypoints": {"x": [...17], "y": [...17], "visible": [...17]}}, ...], ...]

Coordinates are pixels, or normalised by the frame size when written with ``normalize=True``:
a file whose every coordinate lies within [0, 1] is read as normalised (logged) and scaled by the
video's frame size.

Labels (``save_txt=True``): a folder of ``.txt`` files, one line per person::

    class cx cy w h  x1 y1 v1 ... x17 y17 v17  [conf] [track_id]

box centre, size and keypoints normalised by the frame size (so the video's size is needed).
Ultralytics names a video's files ``<video stem>_<frame>.txt`` with ``frame`` counted from 1
(``ultralytics/data/loaders.py``), read as frame ``frame - 1`` (with ``vid_stride`` 1, its
default), and an image's ``<image stem>.txt`` (placed by the image folder given as the video).
With ``save_conf`` the box confidence follows the keypoints; when tracking, the track id comes
last (read and ignored). A single value after the keypoints is the confidence if it has a
fractional part, else a track id; without a confidence every box scores 1. Lines of classes
other than 0 (person) are skipped.
"""
from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Annotated, Dict, List, Optional, Tuple

import msgspec
import numpy as np
from msgspec import Meta

from posetrack.io.formats.common import ForeignFormatError, Placement, decode, read_text, to_coco17
from posetrack.types import Poses
from posetrack.validation import MAX_COORD, Coord, Finite, Int64, path_labeler

__all__ = ["read_poses", "looks_like_json", "looks_like_labels"]

log = logging.getLogger(__name__)


class Box(msgspec.Struct, gc=False):
    x1: Coord
    y1: Coord
    x2: Coord
    y2: Coord


class Keypoints(msgspec.Struct, gc=False):
    x: List[Coord]
    y: List[Coord]
    visible: Optional[List[Finite]] = None


class Detection(msgspec.Struct, gc=False, rename={"cls": "class"}):
    box: Box
    keypoints: Keypoints
    confidence: Annotated[float, Meta(ge=0.0, le=1.0)]
    cls: Optional[Int64] = None
    name: Optional[str] = None
    track_id: Optional[Int64] = None


_LABELER = path_labeler()
_DECODER = None
_VIDEO_LABEL = re.compile(r"^(.*)_([1-9][0-9]{0,8})$")


def looks_like_json(first: object) -> bool:
    """Whether a JSON list's first entry is one frame's Ultralytics results (a list, maybe empty)."""
    return isinstance(first, list)


def looks_like_labels(folder: Path) -> bool:
    """Whether a folder holds ``.txt`` label files."""
    return any(folder.glob("*.txt"))


def read_poses(path: Path, placement: Placement) -> List[Tuple[int, Poses]]:
    """``(frame index, COCO-17 Poses)`` per frame of a results JSON file or a labels folder.

    Raises:
        ForeignFormatError: the content breaks the format (naming the file, frame or line, and
            field), normalised coordinates without a known frame size, or an unplaceable image.
    """
    if path.is_dir():
        return _read_labels(path, placement)
    global _DECODER
    _DECODER = _DECODER or msgspec.json.Decoder(List[List[Detection]])
    raw = path.read_bytes()
    frames = decode(raw, _DECODER, path, _LABELER)
    out = [(i, _json_poses(dets, path, i)) for i, dets in enumerate(frames)]
    if _normalised(out):
        size = _frame_size(placement, path, "coordinates all within [0, 1] (written with normalize=True)")
        log.info("%s: every coordinate is within [0, 1]: read as normalised and scaled by the %dx%d frame",
                 path, *size)
        out = [(i, _scaled(p, size)) for i, p in out]
    return out


def _json_poses(dets: List[Detection], path: Path, frame: int) -> Poses:
    dets = [d for d in dets if d.cls in (None, 0)]
    if not dets:
        return Poses.empty(17)
    for p, d in enumerate(dets):
        k = d.keypoints
        if len(k.x) != len(k.y) or (k.visible is not None and len(k.visible) != len(k.x)):
            raise ForeignFormatError(f"{path}: frame {frame}, person {p}, keypoints: x, y and visible differ in length")
        if d.box.x2 < d.box.x1 or d.box.y2 < d.box.y1:
            raise ForeignFormatError(f"{path}: frame {frame}, person {p}, box: expected x2 >= x1 and y2 >= y1")
    counts = {len(d.keypoints.x) for d in dets}
    if len(counts) > 1:
        raise ForeignFormatError(f"{path}: frame {frame}: people have different keypoint counts {sorted(counts)}")
    xy = np.asarray([[d.keypoints.x, d.keypoints.y] for d in dets], np.float32).transpose(0, 2, 1)
    scores = np.asarray([d.keypoints.visible if d.keypoints.visible is not None else [1.0] * len(d.keypoints.x)
                         for d in dets], np.float32)
    xy, scores = to_coco17(xy, scores, path, f"frame {frame}, person 0, keypoints")
    boxes = np.asarray([[d.box.x1, d.box.y1, d.box.x2, d.box.y2] for d in dets], np.float32)
    return Poses(boxes, np.asarray([d.confidence for d in dets], np.float32), xy, scores)


def _normalised(frames: List[Tuple[int, Poses]]) -> bool:
    people = [p for _, p in frames if len(p)]
    if not people:
        return False
    return all(float(np.abs(p.boxes).max()) <= 1.0 and float(np.abs(p.keypoints).max()) <= 1.0 for p in people)


def _frame_size(placement: Placement, path: Path, why: str) -> Tuple[int, int]:
    if placement.frame_size is None:
        raise ForeignFormatError(f"{path}: {why}; the frame size is needed to scale them: give the video")
    return placement.frame_size


def _scaled(poses: Poses, size: Tuple[int, int]) -> Poses:
    w, h = size
    return Poses(poses.boxes * np.float32([w, h, w, h]), poses.box_scores, poses.keypoints * np.float32([w, h]),
                 poses.keypoint_scores)


# ---------------------------------------------------------------- txt labels

def _read_labels(folder: Path, placement: Placement) -> List[Tuple[int, Poses]]:
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise ForeignFormatError(f"{folder}: no .txt label files (Ultralytics save_txt output)")
    size = _frame_size(placement, folder, "Ultralytics labels are normalised")
    stems = {_VIDEO_LABEL.match(f.stem).group(1) for f in files if _VIDEO_LABEL.match(f.stem)}
    if len(stems) > 1:
        raise ForeignFormatError(f"{folder}: holds the labels of several videos ({', '.join(sorted(stems))}); "
                                 "give one video's labels")
    out: Dict[int, Poses] = {}
    for f in files:
        m = _VIDEO_LABEL.match(f.stem)
        frame = int(m.group(2)) - 1 if m else placement.frame_of_image(f.stem, f, "file name")
        if frame in out:
            raise ForeignFormatError(f"{f}: a second file for frame {frame}")
        out[frame] = _scaled(_label_poses(f), size)
    return sorted(out.items())


def _number(text: str, f: Path, line: int, column: int) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > MAX_COORD:
        raise ForeignFormatError(f"{f}: line {line}, value {column + 1}: expected a finite number, got {text!r}")
    return value


def _label_poses(f: Path) -> Poses:
    rows = []
    for n, text in enumerate(read_text(f).splitlines(), 1):
        if not text.strip():
            continue
        values = [_number(t, f, n, c) for c, t in enumerate(text.split())]
        rows.append(_label_row(values, f, n))
    rows = [r for r in rows if r is not None]
    if not rows:
        return Poses.empty(17)
    boxes, scores, xy, kscores = (np.asarray([r[i] for r in rows], np.float32) for i in range(4))
    return Poses(boxes, scores, xy, kscores)


def _label_row(values: List[float], f: Path, line: int):
    n = len(values) - 5
    if n in (51, 52, 53):
        dims, extra = 3, n - 51
    elif n in (34, 35, 36):
        dims, extra = 2, n - 34
    else:
        raise ForeignFormatError(f"{f}: line {line}: {len(values)} values; expected class, cx, cy, w, h, then 17 "
                                 "keypoints as x, y[, visibility], then an optional confidence and track id")
    if values[0] != 0:
        return None
    cx, cy, w, h = values[1:5]
    if w < 0 or h < 0:
        raise ForeignFormatError(f"{f}: line {line}: box width and height must not be negative")
    kps = np.asarray(values[5:5 + 17 * dims], np.float32).reshape(17, dims)
    kscores = kps[:, 2] if dims == 3 else np.ones(17, np.float32)
    tail = values[5 + 17 * dims:]
    conf = 1.0
    if extra == 2 or (extra == 1 and not float(tail[0]).is_integer()):
        conf = tail[0]
        if not 0.0 <= conf <= 1.0:
            raise ForeignFormatError(f"{f}: line {line}, confidence: expected a number in [0, 1], got {conf}")
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], conf, kps[:, :2], kscores
