"""Read, validate and convert PoseTrack annotation files (2017 ``annolist`` and 2018 COCO-style).

Both formats become one :class:`PoseTrackFile`: flat, frame-ordered arrays of the persons
("rects") of a sequence and of their points, holding exactly what the official evaluator
(poseval) reads. Nothing is filtered here; choosing the evaluated frames and applying ignore
regions is :mod:`posetrack.eval_frames`' job.

Reading follows poseval (our written description: ``../shared/eval-parity/SPEC.md`` section 2):

* A file with an ``annolist`` key is 2017 format, anything else 2018 format; GT and
  prediction files are told apart per file, so the formats can be mixed.
* 2017 scalars are one-element lists of which element 0 is read; bare scalars are accepted too.
* Joint ids are poseval's 0..14 (:data:`JOINT_NAMES`). Points whose id is null or not a joint
  id (15, 16, "nose", ...) are kept as non-joint points: they still decide whether a person
  survives an ignore region, as in poseval.
* 2018 keypoints map by name (``head_bottom`` is joint 12, poseval's "neck"); a keypoint is
  dropped only when x == y == v == 0; ``scores`` (if non-empty) are read by keypoint position.
* Only the first video of a 2018 file is read (the folder name of the first image's
  ``file_name`` up to its first ``_``); images of other videos are dropped with a warning.

Where poseval crashes, we decided (and the errors name the file, frame and field):

* A point without ``id``, ``x`` or ``y``, a non-numeric or non-finite coordinate, score or
  head-box value, a non-integer track id, malformed JSON or a wrong structure: ValueError.
* An unparsable 2018 ``file_name`` is accepted (poseval asserts PoseTrack's naming).
* A 2018 annotation without ``keypoints`` is read as a box-only person, like a 2017 rect without
  ``annopoints`` (poseval crashes on it). The 2017 -> 2018 converter writes box-only rects that
  way, so conversions round-trip.
* An ignore polygon with fewer than 3 points has no interior: it is kept (and ignores nothing).

Example:
    >>> from posetrack.posetrack_format import parse_posetrack, to_posetrack18, to_annolist
    >>> data = {"annolist": [{"image": [{"name": "v/000000.jpg"}], "annorect": [
    ...     {"x1": [0], "y1": [0], "x2": [30], "y2": [40], "track_id": [3],
    ...      "annopoints": [{"point": [{"id": [14], "x": [12.5], "y": [3.0]}]}]}]}]}
    >>> seq = parse_posetrack(data, "demo.json")
    >>> seq.num_frames, seq.num_persons, seq.point_xy.tolist()
    (1, 1, [[12.5, 3.0]])
    >>> parse_posetrack(to_posetrack18(seq), "demo18.json").point_xy.tolist()
    [[12.5, 3.0]]
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import FormatError
from .keypoints import POSETRACK17, POSETRACK18

__all__ = ["JOINT_NAMES", "NUM_JOINTS", "PoseTrackFile", "PoseTrackFormatError", "read_posetrack", "parse_posetrack",
           "empty_posetrack", "to_annolist", "to_posetrack18", "write_json"]


class PoseTrackFormatError(FormatError):
    """A PoseTrack annotation or prediction file breaks the format; the message names file, frame and field."""


#: poseval's joint names for ids 0..14 (id 12 is "neck" in 2017 files, "head_bottom" in 2018).
JOINT_NAMES: Tuple[str, ...] = ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
                                "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
                                "left_wrist", "neck", "nose", "head_top")
NUM_JOINTS = len(JOINT_NAMES)
#: 2018 keypoint names of joints 0..14 (the POSETRACK17 layout is poseval's order).
_NAMES_2018 = POSETRACK17.names
assert len(_NAMES_2018) == NUM_JOINTS

_NUMBER_TYPES = (int, float)


@dataclass(frozen=True)
class PoseTrackFile:
    """One PoseTrack sequence file (GT or predictions), format-independent.

    Persons are stored frame after frame in file order, points person after person in file
    order; ``frame_start`` and ``point_start`` delimit them. Coordinates are image pixels.

    Attributes:
        source: the file path (for messages), or a label for in-memory data.
        format: ``"2017"`` or ``"2018"``.
        image_names: (F,) image file names ('' where the file gives none).
        frame_start: (F + 1,) int64; the persons of frame f are rows ``frame_start[f]:frame_start[f+1]``.
        track_id: (N,) int64 track ids (0 where ``has_track_id`` is False).
        has_track_id: (N,) bool.
        head_box: (N, 4) float64 head box x1, y1, x2, y2 (NaN where ``has_head_box`` is False).
        has_head_box: (N,) bool.
        box_score: (N,) float64 person score (NaN where ``has_box_score`` is False).
        has_box_score: (N,) bool.
        has_annopoints: (N,) bool: the person passes poseval's keypoint test (an ``annopoints``
            list whose first element is a non-empty dict with a ``point`` key; 2018 persons pass
            when they have a ``keypoints`` list).
        point_start: (N + 1,) int64; the points of person n are ``point_start[n]:point_start[n+1]``.
        point_joint: (M,) int64 joint id 0..14 (0 where ``point_is_joint`` is False).
        point_is_joint: (M,) bool: the point's id is one of poseval's joint ids.
        point_xy: (M, 2) float64 x, y.
        point_score: (M,) float64 confidence (NaN where ``point_has_score`` is False).
        point_has_score: (M,) bool.
        ignore_regions: per frame, a tuple of (K, 2) float64 polygons (x, y vertices).
        frames_read: (F,) bool; False for frames skipped on request (they hold no persons).
        warnings: problems that did not stop reading, each naming the file.
    """

    source: str
    format: str
    image_names: Tuple[str, ...]
    frame_start: np.ndarray
    track_id: np.ndarray
    has_track_id: np.ndarray
    head_box: np.ndarray
    has_head_box: np.ndarray
    box_score: np.ndarray
    has_box_score: np.ndarray
    has_annopoints: np.ndarray
    point_start: np.ndarray
    point_joint: np.ndarray
    point_is_joint: np.ndarray
    point_xy: np.ndarray
    point_score: np.ndarray
    point_has_score: np.ndarray
    ignore_regions: Tuple[Tuple[np.ndarray, ...], ...]
    frames_read: np.ndarray
    warnings: Tuple[str, ...] = ()

    @property
    def num_frames(self) -> int:
        return len(self.image_names)

    @property
    def num_persons(self) -> int:
        return len(self.track_id)

    @property
    def person_frame(self) -> np.ndarray:
        """(N,) int64 frame index of every person."""
        return np.repeat(np.arange(self.num_frames), np.diff(self.frame_start))

    @property
    def point_person(self) -> np.ndarray:
        """(M,) int64 person index of every point."""
        return np.repeat(np.arange(self.num_persons), np.diff(self.point_start))

    def where(self, frame: int, person: Optional[int] = None) -> str:
        """'<file>: frame 3 (images/.../000003.jpg), person 1' for messages (0-based indexes)."""
        text = f"{self.source}: frame {frame}"
        if self.image_names[frame]:
            text += f" ({self.image_names[frame]})"
        if person is not None:
            text += f", person {person - int(self.frame_start[frame])}"
        return text


# ----------------------------------------------------------------------------- reading

FrameMask = Optional[Union[np.ndarray, Sequence[bool]]]


def read_posetrack(path: Union[str, os.PathLike], frames: FrameMask = None) -> PoseTrackFile:
    """Read one sequence file in either format.

    Args:
        path: the JSON file.
        frames: optional bool mask over frames; persons are read (and validated) only in these
            frames (frames beyond the mask are not read), the others come back without persons
            and with ``frames_read`` False. The evaluator reads predictions only on the frames it scores.

    Raises:
        OSError: the file cannot be read.
        ValueError: not JSON, or not a valid PoseTrack file (the message names file, frame, field).
    """
    path = str(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise PoseTrackFormatError(f"{path}: not valid JSON: {e}") from None
    return parse_posetrack(data, path, frames)


def parse_posetrack(data: Any, source: str = "<memory>", frames: FrameMask = None) -> PoseTrackFile:
    """Turn a decoded PoseTrack JSON document (2017 or 2018) into a :class:`PoseTrackFile`.

    ``frames`` is as in :func:`read_posetrack`.
    """
    if not isinstance(data, dict):
        raise PoseTrackFormatError(f"{source}: expected a JSON object with 'annolist' (2017) or "
                         f"'images'/'annotations'/'categories' (2018), got {type(data).__name__}")
    if "annolist" in data:
        return _parse_2017(data, source, frames)
    if not any(k in data for k in ("images", "annotations", "categories")):
        raise PoseTrackFormatError(f"{source}: neither 'annolist' (PoseTrack 2017) nor 'images'/'annotations'/"
                         f"'categories' (PoseTrack 2018) found; keys: {', '.join(map(str, data)) or 'none'}")
    return _parse_2018(data, source, frames)


class _Builder:
    """Collects persons and points frame by frame, then checks and packs them into arrays."""

    def __init__(self, source: str, fmt: str, frames: FrameMask):
        self.source, self.format = source, fmt
        self.mask = None if frames is None else np.asarray(frames, dtype=bool)
        self.image_names: List[str] = []
        self.frame_counts: List[int] = []
        self.frames_read: List[bool] = []
        self.regions: List[Tuple[np.ndarray, ...]] = []
        self.ref: List[int] = []            # per person: rect index in its frame (2017) or annotation index (2018)
        self.head: List[Any] = []           # per person: None or 4 raw values
        self.track: List[Any] = []
        self.score: List[Any] = []
        self.has_ap: List[bool] = []
        self.npoints: List[int] = []
        self.rows: List[Tuple[Any, Any, Any, Any]] = []   # per point: id, x, y, score
        self.warnings: List[str] = []
        self.label = ""

    def wants(self, f: int) -> bool:
        """Read frame f? (Frames beyond the mask are not read; the caller compares frame counts.)"""
        return self.mask is None or (f < len(self.mask) and bool(self.mask[f]))

    def start_frame(self, f: int, name: str, read: bool) -> None:
        self.image_names.append(name)
        self.frames_read.append(read)
        self.label = f"frame {f} ({name})" if name else f"frame {f}"

    def fail(self, where: str, message: str):
        raise PoseTrackFormatError(f"{self.source}: {where}: {message}")

    def person_label(self, n: int) -> str:
        starts = _starts(self.frame_counts)
        f = int(np.searchsorted(starts, n, side="right")) - 1
        frame = f"frame {f} ({self.image_names[f]})" if self.image_names[f] else f"frame {f}"
        kind = "annorect" if self.format == "2017" else "annotation"
        return f"{frame}, {kind} {self.ref[n]}"

    def build(self) -> PoseTrackFile:
        n = len(self.track)
        head_box, has_head = self._head_boxes()
        track_id, has_track = self._track_ids()
        box_score, has_box_score = self._scalars(self.score, "score", None)
        ids, xs, ys, scores = (list(c) for c in zip(*self.rows)) if self.rows else ([], [], [], [])
        point_person = np.repeat(np.arange(n), self.npoints)
        x = self._coordinates(xs, "x", point_person)
        y = self._coordinates(ys, "y", point_person)
        point_score, point_has_score = self._scalars(scores, "score", point_person)
        joint, is_joint = _joint_ids(ids)
        return PoseTrackFile(
            source=self.source, format=self.format, image_names=tuple(self.image_names),
            frame_start=_starts(self.frame_counts), track_id=track_id, has_track_id=has_track,
            head_box=head_box, has_head_box=has_head, box_score=box_score, has_box_score=has_box_score,
            has_annopoints=np.asarray(self.has_ap, dtype=bool).reshape(n),
            point_start=_starts(self.npoints), point_joint=joint, point_is_joint=is_joint,
            point_xy=np.stack([x, y], axis=1).reshape(-1, 2), point_score=point_score,
            point_has_score=point_has_score, ignore_regions=tuple(self.regions),
            frames_read=np.asarray(self.frames_read, dtype=bool).reshape(-1), warnings=tuple(self.warnings))

    # -- validation of collected values (fast path: one numpy conversion; slow path: find the culprit)

    def _point_label(self, k: int, point_person: np.ndarray) -> str:
        person = int(point_person[k])
        first = int(np.searchsorted(point_person, person))
        return f"{self.person_label(person)}, point {k - first}"

    def _coordinates(self, values: List[Any], field: str, point_person: np.ndarray) -> np.ndarray:
        arr, bad = _to_float(values, allow_none=False)
        if bad is not None:
            self.fail(self._point_label(bad, point_person), f"'{field}' is {values[bad]!r}, expected a finite number")
        return arr

    def _scalars(self, values: List[Any], field: str, point_person: Optional[np.ndarray]):
        """Optional scores: None means missing, anything else must be a finite number."""
        arr, bad = _to_float(values, allow_none=True)
        if bad is not None:
            place = self.person_label(bad) if point_person is None else self._point_label(bad, point_person)
            self.fail(place, f"'{field}' is {values[bad]!r}, expected a finite number")
        return arr, ~np.isnan(arr)

    def _head_boxes(self) -> Tuple[np.ndarray, np.ndarray]:
        n = len(self.head)
        has = np.fromiter((h is not None for h in self.head), dtype=bool, count=n)
        flat = [v for h in self.head if h is not None for v in h]
        arr, bad = _to_float(flat, allow_none=False)
        if bad is not None:
            person = int(np.flatnonzero(has)[bad // 4])
            self.fail(self.person_label(person), f"head box '{('x1', 'y1', 'x2', 'y2')[bad % 4]}' is {flat[bad]!r}, "
                                                 f"expected a finite number")
        out = np.full((n, 4), np.nan)
        out[has] = arr.reshape(-1, 4)
        return out, has

    def _track_ids(self) -> Tuple[np.ndarray, np.ndarray]:
        n = len(self.track)
        has = np.fromiter((t is not None for t in self.track), dtype=bool, count=n)
        if set(map(type, self.track)) <= {int, type(None)}:
            try:
                return np.array([0 if t is None else t for t in self.track], dtype=np.int64).reshape(n), has
            except OverflowError:
                pass
        out = np.zeros(n, dtype=np.int64)
        for k in np.flatnonzero(has):
            t = self.track[k]
            if isinstance(t, bool) or not isinstance(t, _NUMBER_TYPES) or not math.isfinite(t) \
                    or not float(t).is_integer():
                self.fail(self.person_label(k), f"'track_id' is {t!r}, expected an integer")
            if abs(t) >= 2 ** 62:
                self.fail(self.person_label(k), f"'track_id' {t!r} is out of range")
            out[k] = int(t)
        return out, has


def _starts(counts: Sequence[int]) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _to_float(values: List[Any], allow_none: bool) -> Tuple[np.ndarray, Optional[int]]:
    """float64 array of ``values`` (None -> NaN when allowed) and the index of the first bad value.

    Bad: not a number (strings, booleans, lists), NaN or infinite, or None when not allowed.
    """
    allowed = {float, int, type(None)} if allow_none else {float, int}
    if set(map(type, values)) <= allowed:
        try:
            arr = np.array(values, dtype=np.float64) if values else np.zeros(0)
        except OverflowError:
            arr = None
        if arr is not None:
            n_none = values.count(None) if allow_none else 0
            if int(np.isnan(arr).sum()) == n_none and not np.isinf(arr).any():
                return arr, None
    for k, v in enumerate(values):
        if not ((v is None and allow_none) or (type(v) in (int, float) and math.isfinite(v))):
            return np.zeros(0), k
    raise AssertionError("unreachable")  # pragma: no cover


def _joint_ids(ids: List[Any]) -> Tuple[np.ndarray, np.ndarray]:
    """Point ids -> (joint, is_joint). poseval compares ``id[0] == j`` for j in 0..14."""
    arr = None
    if set(map(type, ids)) <= {int}:
        try:
            arr = np.array(ids, dtype=np.int64) if ids else np.zeros(0, dtype=np.int64)
        except OverflowError:
            arr = None
    if arr is None:
        arr = np.array([_as_joint(v) for v in ids], dtype=np.int64)
    ok = (arr >= 0) & (arr < NUM_JOINTS)
    return np.where(ok, arr, 0), ok


def _as_joint(v: Any) -> int:
    if isinstance(v, (int, float)) and math.isfinite(v) and float(v).is_integer() and 0 <= v < NUM_JOINTS:
        return int(v)
    return -1


def _first(v: Any, where: str, field: str, b: _Builder) -> Any:
    """poseval reads element 0 of a one-element list; we also accept a bare scalar."""
    if isinstance(v, list):
        if not v:
            b.fail(where, f"'{field}' is an empty list")
        return v[0]
    if isinstance(v, dict):
        b.fail(where, f"'{field}' is an object, expected a number")
    return v


# ----------------------------------------------------------------------------- 2017

def _parse_2017(data: Dict[str, Any], source: str, frames: FrameMask) -> PoseTrackFile:
    annolist = data["annolist"]
    if not isinstance(annolist, list):
        raise PoseTrackFormatError(f"{source}: 'annolist' is {type(annolist).__name__}, expected a list of frames")
    b = _Builder(source, "2017", frames)
    for f, frame in enumerate(annolist):
        if not isinstance(frame, dict):
            b.fail(f"frame {f}", f"expected an object, got {type(frame).__name__}")
        read = b.wants(f)
        b.start_frame(f, _image_name_2017(frame.get("image")), read)
        b.regions.append(_regions_2017(frame.get("ignore_regions"), b) if read else ())
        rects = frame.get("annorect")
        if rects is None or not read:
            rects = []
        if not isinstance(rects, list):
            b.fail(b.label, f"'annorect' is {type(rects).__name__}, expected a list")
        b.frame_counts.append(len(rects))
        for r, rect in enumerate(rects):
            _rect_2017(rect, r, b)
    return b.build()


def _image_name_2017(image: Any) -> str:
    if isinstance(image, list) and image and isinstance(image[0], dict):
        name = image[0].get("name", "")
        return name if isinstance(name, str) else ""
    return ""


def _rect_2017(rect: Any, r: int, b: _Builder) -> None:
    if rect.__class__ is not dict:
        b.fail(f"{b.label}, annorect {r}", f"expected an object, got {type(rect).__name__}")
    b.ref.append(r)
    try:  # fast path: a head box of one-element lists
        b.head.append((rect["x1"][0], rect["y1"][0], rect["x2"][0], rect["y2"][0]))
    except (KeyError, TypeError, IndexError):
        b.head.append(_head_2017(rect, f"{b.label}, annorect {r}", b))
    tid, score = rect.get("track_id"), rect.get("score")
    b.track.append(tid[0] if tid.__class__ is list and tid else
                   None if tid is None else _first(tid, f"{b.label}, annorect {r}", "track_id", b))
    b.score.append(score[0] if score.__class__ is list and score else
                   None if score is None else _first(score, f"{b.label}, annorect {r}", "score", b))
    ap = rect.get("annopoints")
    if not ap:  # absent, null or []: a box-only rect
        b.has_ap.append(False)
        b.npoints.append(0)
        return
    if ap.__class__ is not list:
        b.fail(f"{b.label}, annorect {r}", f"'annopoints' is {type(ap).__name__}, expected a list")
    first = ap[0]
    has_ap = first.__class__ is dict and bool(first) and "point" in first
    b.has_ap.append(has_ap)
    points = first["point"] if has_ap else None
    if not points:
        b.npoints.append(0)
        return
    if points.__class__ is not list:
        b.fail(f"{b.label}, annorect {r}", f"'annopoints[0].point' is {type(points).__name__}, expected a list")
    try:  # fast path: every field a one-element list
        rows = [(p["id"][0] if p["id"] is not None else None, p["x"][0], p["y"][0],
                 p["score"][0] if p.get("score") is not None else None) for p in points]
    except (KeyError, TypeError, IndexError, AttributeError):
        rows = [_point_2017(p, f"{b.label}, annorect {r}, point {k}", b) for k, p in enumerate(points)]
    b.rows.extend(rows)
    b.npoints.append(len(rows))


def _head_2017(rect: Dict[str, Any], where: str, b: _Builder) -> Optional[List[Any]]:
    keys = ("x1", "y1", "x2", "y2")
    present = [rect.get(k) is not None for k in keys]
    if all(present):
        return [_first(rect[k], where, k, b) for k in keys]
    if any(present):
        missing = [k for k, p in zip(keys, present) if not p]
        b.fail(where, f"head box is incomplete: {', '.join(missing)} missing")
    return None


def _point_2017(p: Any, where: str, b: _Builder) -> Tuple[Any, Any, Any, Any]:
    if not isinstance(p, dict):
        b.fail(where, f"expected an object, got {type(p).__name__}")
    for key in ("id", "x", "y"):
        if key not in p:
            b.fail(where, f"no '{key}' field")
    pid = p["id"]
    pid = None if pid is None else _first(pid, where, "id", b)
    score = p.get("score")
    score = None if score is None else _first(score, where, "score", b)
    return pid, _first(p["x"], where, "x", b), _first(p["y"], where, "y", b), score


def _regions_2017(regions: Any, b: _Builder) -> Tuple[np.ndarray, ...]:
    if not regions:
        return ()
    if not isinstance(regions, list):
        b.fail(b.label, f"'ignore_regions' is {type(regions).__name__}, expected a list")
    out = []
    for k, region in enumerate(regions):
        where = f"{b.label}, ignore_regions {k}"
        points = region.get("point") if isinstance(region, dict) else None
        if points is None:
            points = []
        if not isinstance(points, list):
            b.fail(where, "expected {'point': [{'x': [..], 'y': [..]}, ...]}")
        xy = []
        for i, p in enumerate(points):
            if not isinstance(p, dict) or "x" not in p or "y" not in p:
                b.fail(f"{where}, point {i}", "expected an object with 'x' and 'y'")
            xy.append((_first(p["x"], where, "x", b), _first(p["y"], where, "y", b)))
        out.append(_polygon(xy, where, b))
    return tuple(out)


def _polygon(xy: List[Tuple[Any, Any]], where: str, b: _Builder) -> np.ndarray:
    flat = [v for pair in xy for v in pair]
    arr, bad = _to_float(flat, allow_none=False)
    if bad is not None:
        b.fail(f"{where}, point {bad // 2}", f"'{'xy'[bad % 2]}' is {flat[bad]!r}, expected a finite number")
    if len(xy) < 3:
        b.warnings.append(f"{b.source}: {where}: an ignore polygon with {len(xy)} point(s) has no interior; "
                          f"it ignores nothing (poseval crashes on it)")
    return arr.reshape(-1, 2)


# ----------------------------------------------------------------------------- 2018

def _video_id(file_name: str) -> str:
    """poseval's video id: the name of the image's folder up to the first '_'."""
    folder = os.path.basename(os.path.dirname(file_name))
    return folder.split("_")[0]


def _parse_2018(data: Dict[str, Any], source: str, frames: FrameMask) -> PoseTrackFile:
    b = _Builder(source, "2018", frames)
    slots = _categories_2018(data.get("categories"), b)
    images = data.get("images", [])
    annotations = data.get("annotations", [])
    if not isinstance(images, list):
        b.fail("images", f"expected a list, got {type(images).__name__}")
    if not isinstance(annotations, list):
        b.fail("annotations", f"expected a list, got {type(annotations).__name__}")
    kept = _images_2018(images, b)
    frame_of = {image_id: f for f, (image_id, _, _) in enumerate(kept)}
    persons: List[List[Tuple[int, Dict[str, Any]]]] = [[] for _ in kept]
    orphans = 0
    for a, ann in enumerate(annotations):
        if not isinstance(ann, dict):
            b.fail(f"annotation {a}", f"expected an object, got {type(ann).__name__}")
        f = frame_of.get(_hashable(ann.get("image_id")))
        if f is None:
            orphans += 1
            continue
        persons[f].append((a, ann))
    if orphans:
        b.warnings.append(f"{source}: {orphans} annotation(s) refer to no image of the (first) video; skipped")
    for f, (image_id, name, image) in enumerate(kept):
        read = b.wants(f)
        b.start_frame(f, name, read)
        b.regions.append(_regions_2018(image, b) if read else ())
        mine = persons[f] if read else []
        b.frame_counts.append(len(mine))
        for a, ann in mine:
            _person_2018(ann, a, slots, b)
    return b.build()


def _hashable(v: Any) -> Any:
    return v if isinstance(v, (int, str, float)) else repr(v)


def _categories_2018(categories: Any, b: _Builder) -> List[Optional[int]]:
    """Joint id (or None: dropped) of each keypoint slot of the single 'person' category."""
    if not isinstance(categories, list) or len(categories) != 1 or not isinstance(categories[0], dict):
        b.fail("categories", "expected exactly one category (PoseTrack 2018 format)")
    cat = categories[0]
    if cat.get("name") != "person":
        b.fail("categories[0].name", f"is {cat.get('name')!r}, expected 'person'")
    kps = cat.get("keypoints")
    if not isinstance(kps, list) or len(kps) not in (15, 17):
        b.fail("categories[0].keypoints", "expected a list of 15 or 17 keypoint names")
    missing = [n for n in _NAMES_2018 if n not in kps]
    if missing:
        b.fail("categories[0].keypoints", f"missing {', '.join(missing)}")
    index = {n: j for j, n in enumerate(_NAMES_2018)}
    return [index.get(n) for n in kps]


def _images_2018(images: List[Any], b: _Builder) -> List[Tuple[Any, str, Dict[str, Any]]]:
    """(image id, file name, image) of the images of the first video, in array order."""
    kept, video, dropped = [], None, 0
    for i, image in enumerate(images):
        if not isinstance(image, dict):
            b.fail(f"images[{i}]", f"expected an object, got {type(image).__name__}")
        name = image.get("file_name", "")
        if not isinstance(name, str):
            b.fail(f"images[{i}].file_name", f"is {name!r}, expected a string")
        vid = _video_id(name)
        if video is None:
            video = vid
        if vid != video:
            dropped += 1
            continue
        if "id" not in image:
            b.fail(f"images[{i}]", "no 'id' field")
        kept.append((_hashable(image["id"]), name, image))
    if dropped:
        b.warnings.append(f"{b.source}: {dropped} image(s) of other videos than {video!r} skipped "
                          f"(only the first video of a file is read, as poseval does)")
    return kept


def _regions_2018(image: Dict[str, Any], b: _Builder) -> Tuple[np.ndarray, ...]:
    rx, ry = image.get("ignore_regions_x"), image.get("ignore_regions_y")
    if rx is None and ry is None:
        return ()
    if rx is None or ry is None:
        b.fail(b.label, "'ignore_regions_x' and 'ignore_regions_y' must be given together")
    if not isinstance(rx, list) or not isinstance(ry, list) or len(rx) != len(ry):
        b.fail(b.label, "'ignore_regions_x' and 'ignore_regions_y' must be lists of equal length")
    out = []
    for k, (xs, ys) in enumerate(zip(rx, ry)):
        where = f"{b.label}, ignore region {k}"
        if not isinstance(xs, list) or not isinstance(ys, list) or len(xs) != len(ys):
            b.fail(where, "x and y must be lists of equal length")
        out.append(_polygon(list(zip(xs, ys)), where, b))
    return tuple(out)


def _person_2018(ann: Dict[str, Any], a: int, slots: List[Optional[int]], b: _Builder) -> None:
    where = f"{b.label}, annotation {a}"
    b.ref.append(a)
    box = ann.get("bbox_head")
    if box is None:
        b.head.append(None)
    elif not isinstance(box, list) or len(box) != 4:
        b.fail(where, f"'bbox_head' is {box!r}, expected [x, y, width, height]")
    else:
        arr, bad = _to_float(box, allow_none=False)
        if bad is not None:
            b.fail(where, f"'bbox_head' value {box[bad]!r} is not a finite number")
        b.head.append((float(arr[0]), float(arr[1]), float(arr[0] + arr[2]), float(arr[1] + arr[3])))
    if "track_id" not in ann:
        b.fail(where, "no 'track_id' field")
    b.track.append(ann["track_id"])
    b.score.append(ann.get("score"))
    kps = ann.get("keypoints")
    b.has_ap.append(kps is not None)
    if kps is None:  # our choice (poseval crashes): a box-only person, like a 2017 rect without annopoints
        b.npoints.append(0)
        return
    k = len(slots)
    if not isinstance(kps, list) or len(kps) != 3 * k:
        b.fail(where, f"'keypoints' must be a list of {3 * k} numbers (x, y, v per category keypoint)")
    arr, bad = _to_float(kps, allow_none=False)
    if bad is not None:
        b.fail(where, f"'keypoints' value {kps[bad]!r} (keypoint {bad // 3}) is not a finite number")
    xyv = arr.reshape(k, 3)
    scores = ann.get("scores")
    if scores is not None and not isinstance(scores, list):
        b.fail(where, f"'scores' is {type(scores).__name__}, expected a list")
    if scores and len(scores) < k:
        b.fail(where, f"'scores' has {len(scores)} values for {k} keypoints")
    # Keypoints of other names (ears) are dropped; so is a keypoint with x == y == v == 0.
    keep = [s for s in range(k)
            if slots[s] is not None and not (xyv[s, 0] == 0 and xyv[s, 1] == 0 and xyv[s, 2] == 0)]
    rows = [(slots[s], float(xyv[s, 0]), float(xyv[s, 1]), scores[s] if scores else None) for s in keep]
    b.rows.extend(rows)
    b.npoints.append(len(rows))


# ----------------------------------------------------------------------------- writing

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


_SLOT_2018 = np.array([POSETRACK18.index(n) for n in _NAMES_2018])
_MISSING_SCORE_2018 = -9999.0  # what poseval uses for a point without a score


def to_posetrack18(seq: PoseTrackFile) -> Dict[str, Any]:
    """The sequence as a PoseTrack 2018 (COCO-style) document with the 17 PoseTrack18 keypoints.

    Documented losses: non-joint points and duplicate joint points after the first are not
    written; in a person where only some points have scores, the others get -9999 (the score
    poseval gives a point without one, so scoring is unchanged); box-only rects (no annopoints)
    become annotations without ``keypoints``, which our reader reads back as box-only.
    """
    video = _video_id(next((n for n in seq.image_names if n), ""))
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
    ann: Dict[str, Any] = {"id": ann_id, "image_id": image_id, "category_id": 1}
    if seq.has_track_id[n]:
        ann["track_id"] = int(seq.track_id[n])
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


def empty_posetrack(num_frames: int, source: str = "<empty>") -> PoseTrackFile:
    """A file with ``num_frames`` frames and no persons (e.g. for a missing prediction file)."""
    z = np.zeros(0, dtype=np.int64)
    b = np.zeros(0, dtype=bool)
    return PoseTrackFile(source=source, format="2017", image_names=("",) * num_frames,
                         frame_start=np.zeros(num_frames + 1, dtype=np.int64), track_id=z, has_track_id=b,
                         head_box=np.zeros((0, 4)), has_head_box=b, box_score=np.zeros(0), has_box_score=b,
                         has_annopoints=b, point_start=np.zeros(1, dtype=np.int64), point_joint=z,
                         point_is_joint=b, point_xy=np.zeros((0, 2)), point_score=np.zeros(0),
                         point_has_score=b, ignore_regions=((),) * num_frames,
                         frames_read=np.ones(num_frames, dtype=bool))
