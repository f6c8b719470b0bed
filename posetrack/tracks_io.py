"""The tracks file (``tracks.json``): schema, validation, atomic writes and a crash journal.

Schema, version 1 (documented in the README)::

    {
      "format": "posetrack-tracks", "version": 1,
      "status": "complete" | "partial",
      "video": {"path", "fps", "width", "height", "frames"},
      "keypoint_layout": "coco", "keypoints": [names], "skeleton": [[i, j], ...],
      "settings": {...},                       # models, weights, thresholds
      "frames": [{"frame": 0, "people": [
          {"track_id": 3 | null, "bbox": [x1, y1, x2, y2], "score": 0.98,
           "keypoints": [[x, y, score], ...]}]}]
    }

The file is written atomically (:func:`posetrack.atomic.write_atomic`: temp file, fsync,
rename). While a run is going, its finished frames are journaled by :mod:`posetrack.journal`.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from .errors import ConfigError, FormatError
from .keypoints import KeypointLayout, get_layout
from .structures import FrameResult, Poses, VideoInfo

__all__ = ["FORMAT", "VERSION", "TracksHeader", "TrackFile", "TracksFormatError", "read_tracks",
           "write_tracks", "frame_to_dict", "frame_from_dict"]

FORMAT = "posetrack-tracks"
VERSION = 1

PathLike = Union[str, os.PathLike]


class TracksFormatError(FormatError):
    """A tracks file does not follow the schema; the message names file, frame and field."""


@dataclass(frozen=True)
class TracksHeader:
    """Everything in a tracks file except the frames."""

    video: VideoInfo
    layout: KeypointLayout
    settings: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrackFile:
    """A whole tracks file. ``frames`` is sorted by frame index, one entry per processed frame."""

    header: TracksHeader
    frames: Tuple[FrameResult, ...]
    complete: bool = True

    @property
    def layout(self) -> KeypointLayout:
        return self.header.layout

    def by_frame(self) -> Dict[int, FrameResult]:
        return {f.frame: f for f in self.frames}


# ---------------------------------------------------------------- encoding

def _r(x: float, nd: int = 3) -> Optional[float]:
    x = float(x)
    return None if not math.isfinite(x) else round(x, nd)


def _header_dict(h: TracksHeader) -> Dict[str, Any]:
    v = h.video
    return {
        "format": FORMAT,
        "version": VERSION,
        "video": {"path": v.path, "fps": v.fps, "width": v.width, "height": v.height, "frames": v.frames},
        "keypoint_layout": h.layout.name,
        "keypoints": list(h.layout.names),
        "skeleton": [list(p) for p in h.layout.skeleton],
        "settings": h.settings,
    }


def frame_to_dict(fr: FrameResult) -> Dict[str, Any]:
    """One frame in the schema's ``frames`` entry form."""
    p = fr.poses
    people = []
    for i in range(len(p)):
        kps = [[_r(x, 2), _r(y, 2), _r(s, 4)] for (x, y), s in zip(p.keypoints[i].tolist(), p.keypoint_scores[i].tolist())]
        person = {
            "track_id": None if fr.track_ids is None else int(fr.track_ids[i]),
            "bbox": [_r(c, 2) for c in p.boxes[i].tolist()],
            "score": _r(p.box_scores[i], 4),
            "keypoints": kps,
        }
        if fr.interpolated is not None and fr.interpolated[i]:
            person["interpolated"] = True
        people.append(person)
    out = {"frame": int(fr.frame)}
    if fr.time is not None:
        out["time"] = _r(fr.time, 6)
    out["people"] = people
    return out


# ---------------------------------------------------------------- decoding

def _fail(path, where: str, msg: str):
    raise TracksFormatError(f"{path}: {where}: {msg}")


def _header_from(d: Dict[str, Any], path) -> TracksHeader:
    if not isinstance(d, dict):
        _fail(path, "top level", "expected a JSON object")
    if d.get("format", FORMAT) != FORMAT:
        _fail(path, "format", f"expected {FORMAT!r}, got {d.get('format')!r}")
    version = d.get("version")
    if version != VERSION:
        _fail(path, "version", f"this posetrack reads version {VERSION}, the file has {version!r}")
    try:
        v = d["video"]
        video = VideoInfo(path=str(v["path"]), fps=float(v["fps"]), width=int(v["width"]),
                          height=int(v["height"]), frames=int(v["frames"]))
    except (KeyError, TypeError, ValueError) as e:
        _fail(path, "video", f"missing or bad field ({e})")
    names = d.get("keypoints")
    layout_name = d.get("keypoint_layout")
    if layout_name is None:  # a file from another tool: match the layout by names
        matches = [n for n in ("coco", "posetrack18", "posetrack17") if list(get_layout(n).names) == names]
        if not matches:
            _fail(path, "keypoints", "names match no known layout (coco, posetrack18, posetrack17)")
        layout_name = matches[0]
    try:
        layout = get_layout(layout_name)
    except ConfigError as e:
        _fail(path, "keypoint_layout", str(e))
    if names is not None and list(names) != list(layout.names):
        _fail(path, "keypoints", f"names do not match layout {layout.name!r}")
    return TracksHeader(video=video, layout=layout, settings=dict(d.get("settings") or {}))


def frame_from_dict(d: Dict[str, Any], num_keypoints: int, path="<tracks>", where: str = "") -> FrameResult:
    """Parse and validate one ``frames`` entry."""
    if not isinstance(d, dict) or "frame" not in d:
        _fail(path, where or "frames", "entry without a 'frame' index")
    idx = d["frame"]
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        _fail(path, f"frame {idx!r}", "'frame' must be a non-negative integer")
    people = d.get("people", [])
    if not isinstance(people, list):
        _fail(path, f"frame {idx}", "'people' must be a list")
    n = len(people)
    boxes = np.zeros((n, 4), np.float32)
    scores = np.zeros((n,), np.float32)
    kps = np.zeros((n, num_keypoints, 3), np.float32)
    ids: List[Optional[int]] = []
    interpolated = np.zeros(n, bool)
    for i, person in enumerate(people):
        at = f"frame {idx}, person {i}"
        try:
            boxes[i] = np.asarray(person["bbox"], dtype=np.float64)
            s = person.get("score", 1.0)
            scores[i] = 1.0 if s is None else float(s)
            arr = np.asarray([[np.nan if c is None else c for c in k] for k in person["keypoints"]], dtype=np.float64)
        except KeyError as e:
            _fail(path, at, f"missing field {e.args[0]!r}")
        except (TypeError, ValueError) as e:
            _fail(path, at, f"non-numeric bbox, score or keypoints ({e})")
        if arr.shape != (num_keypoints, 3):
            _fail(path, f"{at}, keypoints", f"expected {num_keypoints}x3 values, got shape {arr.shape}")
        if not np.isfinite(boxes[i]).all():
            _fail(path, f"{at}, bbox", "NaN or infinite coordinate")
        kps[i] = arr
        tid = person.get("track_id")
        if tid is not None and (isinstance(tid, bool) or not isinstance(tid, int) or tid < 0):
            _fail(path, f"{at}, track_id", f"expected a non-negative integer or null, got {tid!r}")
        ids.append(tid)
        flag = person.get("interpolated", False)
        if not isinstance(flag, bool):
            _fail(path, f"{at}, interpolated", f"expected true or false, got {flag!r}")
        interpolated[i] = flag
    time = d.get("time")
    if time is not None and (isinstance(time, bool) or not isinstance(time, (int, float)) or not math.isfinite(time)
                             or time < 0):
        _fail(path, f"frame {idx}, time", f"expected a non-negative number of seconds or null, got {time!r}")
    track_ids = None
    if n and all(t is not None for t in ids):
        track_ids = np.asarray(ids, dtype=np.int64)
        if len(set(ids)) != n:
            _fail(path, f"frame {idx}, track_id", "the same track id appears twice in one frame")
    elif any(t is not None for t in ids):
        _fail(path, f"frame {idx}, track_id", "some people have a track id and some do not")
    poses = Poses(boxes, scores, kps[..., :2], np.nan_to_num(kps[..., 2], nan=0.0))
    return FrameResult(frame=idx, poses=poses, track_ids=track_ids, time=time, interpolated=interpolated)


def _frames_from(items: Iterable[Dict[str, Any]], header: TracksHeader, path) -> Tuple[FrameResult, ...]:
    frames = {}
    for i, d in enumerate(items):
        fr = frame_from_dict(d, header.layout.num_keypoints, path, where=f"frames[{i}]")
        frames[fr.frame] = fr  # a journal may repeat a frame after a resume; the last write wins
    return tuple(frames[k] for k in sorted(frames))


def read_tracks(path: PathLike) -> TrackFile:
    """Read and validate a tracks file.

    Raises:
        FileNotFoundError: no such file.
        TracksFormatError: bad JSON or schema; the message names the frame and field.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise TracksFormatError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    header = _header_from(data, path)
    frames_in = data.get("frames")
    if not isinstance(frames_in, list):
        _fail(path, "frames", "expected a list")
    frames = _frames_from(frames_in, header, path)
    return TrackFile(header=header, frames=frames, complete=data.get("status", "complete") == "complete")


def write_tracks(path: PathLike, tracks: TrackFile) -> None:
    """Write a tracks file atomically (a reader never sees half a file; a failure leaves no ``.tmp``).

    Raises:
        OSError: the file cannot be written; ``filename`` names ``path``.
    """
    body = _header_dict(tracks.header)
    body["status"] = "complete" if tracks.complete else "partial"
    from .atomic import write_atomic

    def lines():
        # One frame per line: small diffs, easy to grep, still one JSON document.
        yield json.dumps(body)[:-1] + ', "frames": [\n'
        for i, fr in enumerate(tracks.frames):
            yield ("," if i else "") + json.dumps(frame_to_dict(fr)) + "\n"
        yield "]}\n"

    write_atomic(path, lines())
