"""MOTChallenge ``det.txt`` / ``gt.txt`` person boxes, read as detections (``--boxes``).

Format as documented on motchallenge.net (and in the MOT16 paper, Milan et al. 2016, Sec. 3.3):
one comma-separated line per box, frames counted from 1::

    det.txt:  frame, id, bb_left, bb_top, bb_width, bb_height, conf, x, y, z      (id and x, y, z are -1)
    gt.txt:   frame, id, bb_left, bb_top, bb_width, bb_height, consider, class, visibility

* MOTChallenge numbers frames from 1: frame f is read as the 0-based frame f - 1.
* Lines of 6, 7, 8 or 10 values are detections: ``conf`` (7th) is the box score and must lie in
  [0, 1] (posetrack's score range; MOT17's DPM detections, which do not, are refused with the line
  named); without it a box scores 1. posetrack's own MOT export reads back this way.
* Lines of 9 values are ground truth: only boxes marked to consider (``consider`` = 1) of the
  person classes 1 (pedestrian), 2 (person on vehicle) and 7 (static person) are kept, scoring 1.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from posetrack.io.formats.common import ForeignFormatError, read_text
from posetrack.types import Detections
from posetrack.validation import MAX_COORD, MAX_FRAMES

__all__ = ["read_boxes", "looks_like", "PERSON_CLASSES"]

#: MOT17/MOT20 ground-truth classes that are people (pedestrian, person on vehicle, static person).
PERSON_CLASSES = (1, 2, 7)
_COLUMNS = (6, 7, 8, 9, 10)


def looks_like(head: str) -> bool:
    """Whether a text file's first non-empty line is a MOTChallenge line (6 to 10 comma-separated numbers)."""
    parts = head.strip().split(",")
    if len(parts) not in _COLUMNS:
        return False
    try:
        [float(p) for p in parts]
    except ValueError:
        return False
    return True


def _values(text: str, path: Path, line: int) -> List[float]:
    parts = text.split(",")
    if len(parts) not in _COLUMNS:
        raise ForeignFormatError(f"{path}: line {line}: {len(parts)} comma-separated values; expected frame, id, "
                                 "bb_left, bb_top, bb_width, bb_height[, conf, ...] (6 to 10 values)")
    out = []
    for column, p in enumerate(parts, 1):
        try:
            v = float(p)
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or abs(v) > max(MAX_COORD, MAX_FRAMES):
            raise ForeignFormatError(f"{path}: line {line}, value {column}: expected a finite number, got {p.strip()!r}")
        out.append(v)
    return out


def read_boxes(path: Path) -> List[Tuple[int, Detections]]:
    """``(0-based frame index, Detections)`` for each frame with boxes, in frame order.

    Raises:
        ForeignFormatError: a line that breaks the format (named with its line and value).
    """
    if path.is_dir():
        raise ForeignFormatError(f"{path}: is a folder; expected a MOTChallenge det.txt or gt.txt file")
    per_frame: Dict[int, list] = {}
    text = read_text(path)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        v = _values(line, path, n)
        if not v[0].is_integer() or v[0] < 1 or v[0] > MAX_FRAMES:
            raise ForeignFormatError(f"{path}: line {n}, frame: expected an integer from 1 (MOTChallenge counts "
                                     f"frames from 1), got {v[0]:g}")
        x, y, w, h = v[2:6]
        if w < 0 or h < 0:
            raise ForeignFormatError(f"{path}: line {n}: bb_width and bb_height must not be negative, got {w:g}, {h:g}")
        if len(v) == 9:   # ground truth
            if v[6] != 1 or int(v[7]) not in PERSON_CLASSES:
                continue
            score = 1.0
        else:
            score = v[6] if len(v) > 6 else 1.0
            if not 0.0 <= score <= 1.0:
                raise ForeignFormatError(f"{path}: line {n}, conf: expected a box score in [0, 1], got {score:g}")
        per_frame.setdefault(int(v[0]) - 1, []).append((score, [x, y, x + w, y + h]))
    return [(f, Detections(np.asarray([b for _, b in rows], np.float32), np.asarray([s for s, _ in rows], np.float32)))
            for f, rows in sorted(per_frame.items())]
