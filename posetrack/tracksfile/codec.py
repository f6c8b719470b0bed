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

The file is written atomically (:func:`posetrack.io.atomic.write_atomic`: temp file, fsync,
rename). While a run is going, its finished frames are journaled by :mod:`posetrack.tracksfile.journal`.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import msgspec
import numpy as np
from msgspec import UNSET

from posetrack import validation
from posetrack.tracksfile import schema
from posetrack.errors import ConfigError, FormatError
from posetrack.keypoints import KeypointLayout, get_layout
from posetrack.types import FrameResult, Poses, VideoInfo

__all__ = ["FORMAT", "VERSION", "TracksHeader", "TrackFile", "TracksFormatError", "read_tracks",
           "write_tracks", "frame_record", "frame_to_dict", "frame_from_dict", "tracks_status"]

FORMAT = schema.TRACKS_FORMAT
VERSION = schema.TRACKS_VERSION

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


# ---------------------------------------------------------------- encoding: a pose becomes a tracks-file person

def _r(x: float, nd: int = 3) -> Optional[float]:
    x = float(x)
    return None if not math.isfinite(x) else round(x, nd)


def _listed(a: np.ndarray) -> list:
    """Nested lists of Python floats (float32 widens to float64 exactly); non-finite values become None."""
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a.astype(object), None).tolist()


def _rounded_values(p: Poses) -> Tuple[list, list, list]:
    """Boxes, box scores and ``[x, y, score]`` keypoint rows, rounded as the tracks file keeps them:
    0.01 px for coordinates, 1e-4 for scores (Python's correctly rounded ``round``)."""
    boxes = [[_r(c, 2) for c in box] for box in p.boxes.tolist()]
    scores = [_r(s, 4) for s in p.box_scores.tolist()]
    keypoints = [[[_r(x, 2), _r(y, 2), _r(s, 4)] for (x, y), s in zip(xy, sc)]
                 for xy, sc in zip(p.keypoints.tolist(), p.keypoint_scores.tolist())]
    return boxes, scores, keypoints


def _exact_values(p: Poses) -> Tuple[list, list, list]:
    """As :func:`_rounded_values`, unrounded: every float32 as the float64 it widens to (exact through JSON)."""
    keypoints = _listed(np.concatenate([p.keypoints, p.keypoint_scores[..., None]], axis=2))
    return _listed(p.boxes), _listed(p.box_scores), keypoints


def frame_record(result: FrameResult, exact: bool = False) -> schema.TrackFrame:
    """One frame as the schema's ``frames`` entry: where a pose becomes a tracks-file person.

    ``exact``: floats unrounded (the journal's frame lines, read back bit for bit by
    :func:`frame_from_dict`); otherwise rounded as in the tracks file (0.01 px, scores to 1e-4,
    times to 1 us). Non-finite values become null (a joint not located).
    """
    boxes, scores, keypoints = (_exact_values if exact else _rounded_values)(result.poses)
    ids, interpolated = result.track_ids, result.interpolated
    people = [schema.TrackPerson(track_id=None if ids is None else int(ids[i]), bbox=boxes[i], score=scores[i],
                                 keypoints=keypoints[i],
                                 interpolated=True if interpolated is not None and interpolated[i] else UNSET)
              for i in range(len(boxes))]
    time = UNSET if result.time is None else float(result.time) if exact else _r(result.time, 6)
    return schema.TrackFrame(frame=int(result.frame), time=time, cut=True if result.cut else UNSET, people=people)


def frame_to_dict(result: FrameResult) -> Dict[str, Any]:
    """One frame in the schema's ``frames`` entry form, as Python objects (rounded as in the file)."""
    return msgspec.to_builtins(frame_record(result))


def _header_record(h: TracksHeader, complete: bool) -> schema.TracksHeaderRecord:
    v = h.video
    return schema.TracksHeaderRecord(
        video=schema.VideoRecord(path=v.path, fps=v.fps, width=v.width, height=v.height, frames=v.frames),
        keypoint_layout=h.layout.name, keypoints=list(h.layout.names), skeleton=[list(p) for p in h.layout.skeleton],
        settings=h.settings, status="complete" if complete else "partial")


# ---------------------------------------------------------------- decoding

def _fail(path, where: str, msg: str):
    raise TracksFormatError(f"{path}: {where}: {msg}")


_POSETRACK_KEYS = ("annolist", "images", "annotations")


def _check_head(d: Any, path) -> None:
    """Format and version first, so a file of another version is named as such (not by its first odd field)."""
    if not isinstance(d, (dict, schema.TracksHead)):
        _fail(path, "top level", f"expected a JSON object, got {type(d).__name__}")
    fmt = d.get("format", FORMAT) if isinstance(d, dict) else d.format
    version = d.get("version") if isinstance(d, dict) else d.version
    keys = {k for k in _POSETRACK_KEYS if (k in d if isinstance(d, dict) else getattr(d, k) is not msgspec.UNSET)}
    if version is None and ("annolist" in keys or {"images", "annotations"} <= keys):
        kind = "2017 (annolist)" if "annolist" in keys else "2018 (images + annotations)"
        _fail(path, "top level", f"this is a PoseTrack {kind} annotation file, not a posetrack tracks file "
                                 "(PoseTrack files are scored with `posetrack eval` / posetrack.evaluate)")
    if fmt != FORMAT:
        _fail(path, "format", f"expected {FORMAT!r}, got {fmt!r}")
    if version != VERSION or isinstance(version, bool):
        _fail(path, "version", f"this posetrack reads version {VERSION}, the file has {version!r}")


def _header_of(rec: schema.TracksHeaderRecord, path) -> TracksHeader:
    v = rec.video
    video = VideoInfo(path=v.path, fps=v.fps, width=v.width, height=v.height, frames=v.frames)
    names = rec.keypoints
    layout_name = rec.keypoint_layout
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
    for i, (a, b) in enumerate(rec.skeleton or ()):
        if max(a, b) >= layout.num_keypoints:
            _fail(path, f"skeleton[{i}]", f"joint {max(a, b)} does not exist: layout {layout.name!r} has "
                                          f"{layout.num_keypoints} keypoints")
    _check_run_range(rec.settings, path)
    return TracksHeader(video=video, layout=layout, settings=dict(rec.settings))


_RUN_RANGE_KEYS = ("start", "end", "stride")


def _check_run_range(settings: Dict[str, Any], path) -> None:
    """``settings.start/end/stride`` (read back by ``posetrack render``) must be a run's frame range."""
    given = {k: settings[k] for k in _RUN_RANGE_KEYS if k in settings}
    if not given:
        return
    rng = validation.convert(given, schema.RunRange, str(path),
                         lambda p, doc: schema.tracks_labeler(["settings", *p], {"settings": doc}), TracksFormatError)
    if rng.end is not None and rng.end <= (rng.start or 0):
        _fail(path, "settings.end", f"must be greater than settings.start ({rng.start}), got {rng.end}")


def _frame_of(rec: schema.TrackFrame, num_keypoints: int, path) -> FrameResult:
    """One validated ``frames`` entry as a :class:`FrameResult`.

    Keypoint rule: an x or y of null means the joint was not located (NaN in memory, drawn nowhere);
    a score of null reads as 0. A box score left out or null reads as 1.
    """
    idx = rec.frame
    people = rec.people
    n = len(people)
    for i, person in enumerate(people):
        if len(person.keypoints) != num_keypoints:
            _fail(path, f"frame {idx}, person {i}, keypoints",
                  f"expected {num_keypoints} keypoints of the file's layout, got {len(person.keypoints)}")
    boxes = np.asarray([p.bbox for p in people], dtype=np.float64).reshape(n, 4).astype(np.float32)
    inverted = np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    if len(inverted):
        i = int(inverted[0])
        _fail(path, f"frame {idx}, person {i}, bbox",
              f"expected [x1, y1, x2, y2] with x2 >= x1 and y2 >= y1, got {[float(v) for v in boxes[i]]}")
    scores = np.asarray([1.0 if p.score is None else p.score for p in people], dtype=np.float32).reshape(n)
    kps = np.asarray([p.keypoints for p in people], dtype=np.float64).reshape(n, num_keypoints, 3)
    ids = [p.track_id for p in people]
    interpolated = np.asarray([p.interpolated is True for p in people], dtype=bool).reshape(n)
    track_ids = None
    if n and all(t is not None for t in ids):
        track_ids = np.asarray(ids, dtype=np.int64)
        if len(set(ids)) != n:
            _fail(path, f"frame {idx}, track_id", "the same track id appears twice in one frame")
    elif any(t is not None for t in ids):
        _fail(path, f"frame {idx}, track_id", "some people have a track id and some do not")
    poses = Poses(boxes, scores, kps[..., :2].astype(np.float32),
                  np.nan_to_num(kps[..., 2], nan=0.0).astype(np.float32))
    return FrameResult(frame=idx, poses=poses, track_ids=track_ids, time=None if rec.time is UNSET else rec.time,
                       interpolated=interpolated, cut=rec.cut is True)


def frame_from_dict(d: Dict[str, Any], num_keypoints: int, path="<tracks>", where: str = "") -> FrameResult:
    """Parse and validate one ``frames`` entry given as Python objects."""
    rec = validation.convert(d, schema.TrackFrame, str(path), _frame_labeler(d, where), TracksFormatError)
    return _frame_of(rec, num_keypoints, path)


def _frame_labeler(d: Any, where: str) -> validation.Labeler:
    def label(path: List[validation.Segment], doc: Any) -> str:
        return schema.tracks_labeler(["frames", 0] + path, {"frames": [d]}) if isinstance(d, dict) \
            else (where or "frames")
    return label


def _frames_from(items: Iterable[Any], header: TracksHeader, path, duplicates: bool = True) -> Tuple[FrameResult, ...]:
    """Frames sorted by index. ``duplicates``: a repeated frame index keeps the last entry (a journal
    repeats frames after a resume); otherwise it is an error."""
    frames: Dict[int, FrameResult] = {}
    k = header.layout.num_keypoints
    for i, d in enumerate(items):
        fr = _frame_of(d, k, path) if isinstance(d, schema.TrackFrame) else \
            frame_from_dict(d, k, path, where=f"frames[{i}]")
        if not duplicates and fr.frame in frames:
            _fail(path, f"frame {fr.frame}", f"listed twice (frames[{i}] repeats an earlier entry)")
        frames[fr.frame] = fr
    ordered = tuple(frames[k] for k in sorted(frames))
    total = header.video.frames
    if total is not None and ordered and ordered[-1].frame >= total:
        _fail(path, f"frame {ordered[-1].frame}", f"beyond the video's {total} frames (video.frames)")
    last = None
    for fr in ordered:
        if fr.time is not None:
            if last is not None and fr.time < last.time:
                _fail(path, f"frame {fr.frame}, time", f"{fr.time} s is earlier than frame {last.frame}'s "
                                                       f"{last.time} s (times must not go back)")
            last = fr
    return ordered


def read_tracks(path: PathLike) -> TrackFile:
    """Read and validate a tracks file (one msgspec pass; see :mod:`posetrack.validation`).

    Raises:
        FileNotFoundError: no such file.
        TracksFormatError: bad JSON, bad UTF-8, or a value that breaks the schema (a wrong type, a
            non-finite or out-of-range number, a list of the wrong length, a frame listed twice);
            the message names the file, the frame, the person and the field.
    """
    path = Path(path)
    if path.is_dir():
        raise TracksFormatError(f"{path}: is a folder; a tracks file (JSON) is expected")
    raw = path.read_bytes()
    validation.check_utf8(raw, str(path), TracksFormatError)
    head = validation.decode_json(raw, schema.TRACKS_HEAD_DECODER, str(path), schema.tracks_labeler, TracksFormatError)
    try:
        _check_head(head, path)
    except TracksFormatError:
        posetrack_file = any(getattr(head, k) is not msgspec.UNSET for k in _POSETRACK_KEYS)
        if head.version is None and not posetrack_file:   # a misspelled "version" reads as none: name the key
            validation.decode_json(raw, schema.TRACKS_DECODER, str(path), schema.tracks_labeler, TracksFormatError)
        raise
    doc = validation.decode_json(raw, schema.TRACKS_DECODER, str(path), schema.tracks_labeler, TracksFormatError)
    header = _header_of(doc, path)
    frames = _frames_from(doc.frames, header, path, duplicates=False)
    return TrackFile(header=header, frames=frames, complete=doc.status == "complete")


def tracks_status(path: PathLike) -> Optional[str]:
    """The ``status`` of a tracks file ("complete" or "partial"; left out reads as "complete"), read
    from its head alone, without validating its frames; None when the file is not a readable JSON object.
    """
    try:
        head = schema.TRACKS_HEAD_DECODER.decode(Path(path).read_bytes())
    except (OSError, msgspec.DecodeError):
        return None
    return head.status if isinstance(head.status, str) else None


def write_tracks(path: PathLike, tracks: TrackFile) -> None:
    """Write a tracks file atomically (a reader never sees half a file; a failure leaves no ``.tmp``).

    Raises:
        OSError: the file cannot be written; ``filename`` names ``path``.
    """
    from posetrack.io.atomic import write_atomic

    head = validation.encode_json(_header_record(tracks.header, tracks.complete)).decode()

    def lines():
        # One frame per line: small diffs, easy to grep, still one JSON document.
        yield head[:-1] + ', "frames": [\n'
        for i, fr in enumerate(tracks.frames):
            yield ("," if i else "") + validation.encode_json(frame_record(fr)).decode() + "\n"
        yield "]}\n"

    write_atomic(path, lines())
