"""Read, validate and convert PoseTrack annotation files (2017 ``annolist`` and 2018 COCO-style).

Both formats become one :class:`PoseTrackFile`: flat, frame-ordered arrays of the persons
("rects") of a sequence and of their points, holding exactly what the official evaluator
(poseval) reads. Nothing is filtered here; choosing the evaluated frames and applying ignore
regions is :mod:`posetrack.eval.frames`' job.

Decoding and validation are one msgspec pass over typed structs (:mod:`posetrack.validation`); what
is read follows poseval (its written specification, SPEC.md section 2, in the project's reference data):

* A file with an ``annolist`` key is 2017 format, anything else 2018 format; GT and
  prediction files are told apart per file, so the formats can be mixed.
* 2017 scalars are one-element lists (element 0 is poseval's value); a bare scalar or a list of
  another length is an error.
* Joint ids are poseval's 0..14 (:data:`JOINT_NAMES`). Points whose id is null or another integer
  (15, 16, ...) are kept as non-joint points: they still decide whether a person survives an
  ignore region, as in poseval. A non-integer id ("nose", 3.0) is an error.
* 2018 keypoints map by name (``head_bottom`` is joint 12, poseval's "neck"); a keypoint is
  dropped only when x == y == v == 0; ``scores`` (if non-empty) are read by keypoint position.
* Only the first video of a 2018 file is read (the folder name of the first image's
  ``file_name`` up to its first ``_``); images of other videos are dropped with a warning.

Where poseval crashes or reads garbage, we decided (:class:`PoseTrackFormatError`, a ValueError,
whose one-line message names the file, frame, person and field):

* A point without ``id``, ``x`` or ``y``; a value of the wrong type (a string, list, object or
  boolean where a number belongs); ``NaN``/``Infinity`` or a number that overflows a float; a
  coordinate beyond ±:data:`posetrack.validation.MAX_COORD` px; a track id that is not an integer
  or does not fit int64; a head box with a side over :data:`posetrack.eval.schema.MAX_HEAD_SIDE` px
  (it would make every prediction match); a 2018 ``keypoints`` list that is not 3 numbers per
  category keypoint, ``scores`` of another length than the keypoints; two images with one id;
  invalid UTF-8; malformed JSON.
* An unparsable 2018 ``file_name`` is accepted (poseval asserts PoseTrack's naming).
* A 2018 annotation without ``keypoints`` is read as a box-only person, like a 2017 rect without
  ``annopoints`` (poseval crashes on it). The 2017 -> 2018 converter writes box-only rects that
  way, so conversions round-trip.
* An ignore polygon with fewer than 3 points has no interior: it is kept (and ignores nothing).

Example:
    >>> from posetrack.eval.formats import parse_posetrack, to_posetrack18, to_annolist
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
import os
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import msgspec
import numpy as np

from posetrack import validation
from posetrack.eval import schema
from posetrack.errors import FormatError
from posetrack.keypoints import POSETRACK17, POSETRACK18, POSEVAL_JOINT_NAMES, POSEVAL_MISSING_SCORE

__all__ = ["JOINT_NAMES", "NUM_JOINTS", "PoseTrackFile", "PoseTrackSource", "PoseTrackFormatError", "read_posetrack",
           "load_posetrack", "pack_posetrack", "parse_posetrack",
           "empty_posetrack", "to_annolist", "to_posetrack18", "write_json"]


class PoseTrackFormatError(FormatError):
    """A PoseTrack annotation or prediction file breaks the format; the message names file, frame and field."""


#: poseval's joint names for ids 0..14 (id 12 is "neck" in its reports, "head_bottom" in 2018 files).
JOINT_NAMES: Tuple[str, ...] = POSEVAL_JOINT_NAMES
NUM_JOINTS = len(JOINT_NAMES)
#: 2018 keypoint names of joints 0..14 (the POSETRACK17 layout is poseval's order).
_NAMES_2018 = POSETRACK17.names
assert len(_NAMES_2018) == NUM_JOINTS



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
        image_ids: (F,) the 2018 image id of each frame (None where skipped); () for 2017 files.
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
    image_ids: Tuple[Any, ...] = ()

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


@dataclass(frozen=True)
class PoseTrackSource:
    """A decoded, validated PoseTrack file whose frames are not yet packed into arrays.

    Lets the evaluator pair the frames of a prediction file with the GT's (by image name or
    id) before packing only the frames it scores, in the GT's order.

    Attributes:
        source: the file path (for messages).
        format: ``"2017"`` or ``"2018"``.
        image_names: (F,) per frame: the 2017 image name or 2018 ``file_name`` ('' if none).
        image_ids: (F,) per frame: the 2018 image id; () for 2017 files.
        document: the decoded :class:`posetrack.eval.schema.PoseTrackDocument`.
        warnings: problems that did not stop reading.
    """

    source: str
    format: str
    image_names: Tuple[str, ...]
    image_ids: Tuple[Any, ...]
    document: schema.PoseTrackDocument
    warnings: Tuple[str, ...] = ()
    _frames: Tuple[Any, ...] = ()     # 2017: Frame17 per frame; 2018: Image18 per frame (first video)
    _slots: Tuple[Optional[int], ...] = ()   # 2018: joint id (or None) of each category keypoint

    @property
    def num_frames(self) -> int:
        return len(self.image_names)

    def label(self, f: int) -> str:
        """'frame 3 (images/.../000003.jpg)' for messages."""
        return f"frame {f} ({self.image_names[f]})" if self.image_names[f] else f"frame {f}"


def load_posetrack(path: Union[str, os.PathLike]) -> PoseTrackSource:
    """Decode and validate one sequence file in either format (all frames), without packing it.

    Raises:
        OSError: the file cannot be read.
        PoseTrackFormatError: invalid UTF-8 or JSON, or a value that breaks the format; the
            message names the file, the frame and the field.
    """
    path = str(path)
    with open(path, "rb") as f:
        raw = f.read()
    validation.check_utf8(raw, path, PoseTrackFormatError)
    if not raw.lstrip()[:1] == b"{":
        _top_level_error(raw, path)
    doc = validation.decode_json(raw, schema.POSETRACK_DECODER, path, schema.posetrack_labeler, PoseTrackFormatError)
    return _source(doc, path)


def _top_level_error(raw: bytes, path: str) -> None:
    try:
        kind = type(msgspec.json.decode(raw)).__name__
    except msgspec.DecodeError:
        validation.decode_json(raw, schema.POSETRACK_DECODER, path, schema.posetrack_labeler, PoseTrackFormatError)
        raise AssertionError("unreachable")  # pragma: no cover
    raise PoseTrackFormatError(f"{path}: expected a JSON object with 'annolist' (2017) or "
                               f"'images'/'annotations'/'categories' (2018), got {kind}")


def read_posetrack(path: Union[str, os.PathLike], frames: FrameMask = None) -> PoseTrackFile:
    """Read one sequence file in either format.

    Args:
        path: the JSON file.
        frames: optional bool mask over frames; persons are packed only in these frames (frames
            beyond the mask are not packed), the others come back without persons and with
            ``frames_read`` False. Every frame is validated either way.

    Raises:
        OSError: the file cannot be read.
        PoseTrackFormatError: not JSON, or not a valid PoseTrack file (the message names file, frame, field).
    """
    src = load_posetrack(path)
    return pack_posetrack(src, _order_of_mask(frames, src.num_frames))


def parse_posetrack(data: Any, source: str = "<memory>", frames: FrameMask = None) -> PoseTrackFile:
    """Turn a decoded PoseTrack JSON document (2017 or 2018, as Python objects) into a :class:`PoseTrackFile`.

    Validated exactly as a file is (``NaN`` and infinities are refused by the same bounds).
    ``frames`` is as in :func:`read_posetrack`.
    """
    if not isinstance(data, dict):
        raise PoseTrackFormatError(f"{source}: expected a JSON object with 'annolist' (2017) or "
                                   f"'images'/'annotations'/'categories' (2018), got {type(data).__name__}")
    doc = validation.convert(data, schema.PoseTrackDocument, source, schema.posetrack_labeler, PoseTrackFormatError)
    src = _source(doc, source)
    return pack_posetrack(src, _order_of_mask(frames, src.num_frames))


def _order_of_mask(frames: FrameMask, n: int) -> np.ndarray:
    """Frame order for :func:`pack_posetrack`: all frames, those outside the mask as -1 (not read)."""
    order = np.arange(n, dtype=np.int64)
    if frames is not None:
        mask = np.zeros(n, dtype=bool)
        given = np.asarray(frames, dtype=bool).reshape(-1)[:n]
        mask[:len(given)] = given
        order[~mask] = -1
    return order


def _source(doc: schema.PoseTrackDocument, source: str) -> PoseTrackSource:
    if doc.annolist is not msgspec.UNSET:
        names = tuple(f.image[0].name if f.image else "" for f in doc.annolist)
        sizes = [(f, len(r.point)) for f, frame in enumerate(doc.annolist) for r in (frame.ignore_regions or ())]
        return PoseTrackSource(source, "2017", names, (), doc, _polygon_warnings(source, names, sizes),
                               tuple(doc.annolist))
    if doc.categories is msgspec.UNSET and not doc.images and not doc.annotations:
        raise PoseTrackFormatError(f"{source}: neither 'annolist' (PoseTrack 2017) nor 'images'/'annotations'/"
                                   f"'categories' (PoseTrack 2018) found")
    slots = _categories_2018(doc.categories, source)
    warnings: List[str] = []
    images = _images_2018(doc.images, source, warnings)
    sizes = [(f, len(x)) for f, im in enumerate(images) for x in (im.ignore_regions_x or ())]
    warnings.extend(_polygon_warnings(source, tuple(im.file_name for im in images), sizes))
    known = {im.id for im in images}
    orphans = sum(ann.image_id not in known for ann in doc.annotations)
    if orphans:
        warnings.append(f"{source}: {orphans} annotation(s) refer to no image of the (first) video; skipped")
    return PoseTrackSource(source, "2018", tuple(im.file_name for im in images), tuple(im.id for im in images), doc,
                           tuple(warnings), tuple(images), tuple(slots))


def _polygon_warnings(source: str, names: Sequence[str], sizes: List[Tuple[int, int]]) -> Tuple[str, ...]:
    """An ignore polygon needs 3 vertices to have an interior (poseval crashes on fewer; we ignore nothing)."""
    small = [(f, k) for f, k in sizes if k < 3]
    if not small:
        return ()
    f, k = small[0]
    where = f"frame {f} ({names[f]})" if names[f] else f"frame {f}"
    return (f"{source}: {where}: an ignore polygon with {k} point(s) has no interior; it ignores nothing "
            f"(poseval crashes on it){f'; {len(small)} such polygons in the file' if len(small) > 1 else ''}",)


def pack_posetrack(src: PoseTrackSource, order: Optional[np.ndarray] = None) -> PoseTrackFile:
    """Pack the frames of a decoded file into a :class:`PoseTrackFile`, in the given order.

    Args:
        src: from :func:`load_posetrack`.
        order: (F',) int; output frame k holds file frame ``order[k]``, or no persons where it is
            -1 (``frames_read`` False). None: every frame in file order.

    Raises:
        PoseTrackFormatError: a value that the types alone cannot check is wrong (an incomplete
            or oversized head box, a keypoint list of the wrong length).
    """
    order = np.arange(src.num_frames) if order is None else np.asarray(order, dtype=np.int64)
    picked = order.tolist()
    names = tuple(src.image_names[f] if f >= 0 else "" for f in picked)
    ids = tuple(src.image_ids[f] if f >= 0 else None for f in picked) if src.format == "2018" else ()
    if src.format == "2017":
        persons, regions, refs = _persons_2017(src, picked)
    else:
        persons, regions, refs = _persons_2018(src, picked)
    counts = [len(p) for p in persons]
    frame_start = _starts(counts)
    flat = list(chain.from_iterable(persons))
    read = np.asarray([f >= 0 for f in picked], dtype=bool).reshape(-1)
    labels = _PersonLabels(src, picked, frame_start, refs)
    if src.format == "2017":
        arrays = _pack_2017(flat, labels)
    else:
        arrays = _pack_2018(flat, src._slots, labels)
    return PoseTrackFile(source=src.source, format=src.format, image_names=names, frame_start=frame_start,
                         ignore_regions=tuple(regions), frames_read=read, warnings=src.warnings, image_ids=ids,
                         **arrays)


class _PersonLabels:
    """'frame 3 (name), annorect 1' for person n of the packed file (messages only)."""

    def __init__(self, src: PoseTrackSource, picked: List[int], frame_start: np.ndarray, refs: List[int]):
        self.src, self.picked, self.frame_start, self.refs = src, picked, frame_start, refs

    def __call__(self, n: int) -> str:
        k = int(np.searchsorted(self.frame_start, n, side="right")) - 1
        kind = "annorect" if self.src.format == "2017" else "annotation"
        return f"{self.src.source}: {self.src.label(self.picked[k])}, {kind} {self.refs[n]}"


def _starts(counts: Sequence[int]) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _unwrap(items: List[Any], field: str, dtype=np.float64) -> Tuple[np.ndarray, np.ndarray]:
    """2017 scalars ``item.<field>`` (``(v,)`` or None) -> (values with 0 where missing, present)."""
    n = len(items)
    try:  # in C, no Python loop: every item has the value
        return np.fromiter(map(itemgetter(0), map(attrgetter(field), items)), dtype, n), np.ones(n, dtype=bool)
    except TypeError:  # a None
        pass
    values = list(map(attrgetter(field), items))
    if values.count(None) == n:  # e.g. GT points: no scores
        return np.zeros(n, dtype=dtype), np.zeros(n, dtype=bool)
    has = np.fromiter((v is not None for v in values), bool, n)
    return np.fromiter((0 if v is None else v[0] for v in values), dtype, n), has


def _optional(values: List[Any], dtype=np.float64) -> Tuple[np.ndarray, np.ndarray]:
    """2018 optional numbers (``v`` or None) -> (values with 0 where missing, present)."""
    n = len(values)
    if values.count(None) == 0:
        return np.fromiter(values, dtype, n), np.ones(n, dtype=bool)
    has = np.fromiter((v is not None for v in values), bool, n)
    return np.fromiter((0 if v is None else v for v in values), dtype, n), has


def _check_head_boxes(box: np.ndarray, has: np.ndarray, label: Callable[[int], str]) -> None:
    side = np.abs(box[:, 2:] - box[:, :2]).max(axis=1, initial=0.0) if len(box) else np.zeros(0)
    bad = np.flatnonzero(has & (side > schema.MAX_HEAD_SIDE))
    if len(bad):
        n = int(bad[0])
        w, h = np.abs(box[n, 2:] - box[n, :2]).tolist()
        raise PoseTrackFormatError(f"{label(n)}: head box is {w:g} x {h:g} pixels; no head is larger than "
                                   f"{schema.MAX_HEAD_SIDE:g} pixels (a corrupt value would make every "
                                   f"prediction match)")


def _joints(ids: np.ndarray, has_id: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """poseval compares ``id[0] == j`` for j in 0..14: other ids and null ids are no joints."""
    ok = has_id & (ids >= 0) & (ids < NUM_JOINTS)
    return np.where(ok, ids, 0), ok


# ----------------------------------------------------------------------------- 2017

def _persons_2017(src: PoseTrackSource, picked: List[int]):
    frames = src._frames
    persons, regions, refs = [], [], []
    for f in picked:
        frame = frames[f] if f >= 0 else None
        rects = (frame.annorect or []) if frame is not None else []
        persons.append(rects)
        refs.extend(range(len(rects)))
        regions.append(_regions_2017(frame.ignore_regions) if frame is not None and frame.ignore_regions else ())
    return persons, regions, refs


def _regions_2017(regions: List[schema.Region17]) -> Tuple[np.ndarray, ...]:
    out = []
    for region in regions:
        x, _ = _unwrap(region.point, "x")
        y, _ = _unwrap(region.point, "y")
        out.append(np.stack([x, y], axis=1).reshape(-1, 2))
    return tuple(out)


def _pack_2017(rects: List[schema.Rect17], label: Callable[[int], str]) -> Dict[str, np.ndarray]:
    n = len(rects)
    corners = [_unwrap(rects, k) for k in ("x1", "y1", "x2", "y2")]
    head_box = np.stack([c[0] for c in corners], axis=1).reshape(n, 4)
    present = np.stack([c[1] for c in corners], axis=1).reshape(n, 4)
    has_head = present.all(axis=1)
    partial = np.flatnonzero(present.any(axis=1) & ~has_head)
    if len(partial):
        k = int(partial[0])
        missing = [c for c, p in zip(("x1", "y1", "x2", "y2"), present[k]) if not p]
        raise PoseTrackFormatError(f"{label(k)}: head box is incomplete: {', '.join(missing)} missing")
    head_box[~has_head] = np.nan
    _check_head_boxes(head_box, has_head, label)
    track_id, has_track = _unwrap(rects, "track_id", np.int64)
    box_score, has_box_score = _unwrap(rects, "score")
    box_score[~has_box_score] = np.nan
    # poseval's keypoint test: annopoints is a non-empty list whose first element has a 'point' key.
    point_lists = [ap[0].point if ap else None for ap in map(attrgetter("annopoints"), rects)]
    has_ap = np.fromiter((p is not None for p in point_lists), bool, n)
    point_lists = [() if p is None else p for p in point_lists]
    npoints = list(map(len, point_lists))
    points = list(chain.from_iterable(point_lists))
    ids, has_id = _unwrap(points, "id", np.int64)
    x, _ = _unwrap(points, "x")
    y, _ = _unwrap(points, "y")
    score, has_score = _unwrap(points, "score")
    score[~has_score] = np.nan
    joint, is_joint = _joints(ids, has_id)
    return dict(track_id=track_id, has_track_id=has_track, head_box=head_box, has_head_box=has_head,
                box_score=box_score, has_box_score=has_box_score, has_annopoints=has_ap,
                point_start=_starts(npoints), point_joint=joint, point_is_joint=is_joint,
                point_xy=np.stack([x, y], axis=1).reshape(-1, 2), point_score=score, point_has_score=has_score)


# ----------------------------------------------------------------------------- 2018

def _video_id(file_name: str) -> str:
    """poseval's video id: the name of the image's folder up to the first '_'."""
    folder = os.path.basename(os.path.dirname(file_name))
    return folder.split("_")[0]


def _categories_2018(categories: Any, source: str) -> List[Optional[int]]:
    """Joint id (or None: dropped) of each keypoint slot of the single 'person' category."""
    if categories is msgspec.UNSET or len(categories) != 1:
        raise PoseTrackFormatError(f"{source}: categories: expected exactly one category (PoseTrack 2018 format)")
    cat = categories[0]
    if cat.name != "person":
        raise PoseTrackFormatError(f"{source}: categories[0].name: is {cat.name!r}, expected 'person'")
    kps = cat.keypoints
    if len(kps) not in (15, 17):
        raise PoseTrackFormatError(f"{source}: categories[0].keypoints: expected a list of 15 or 17 keypoint "
                                   f"names, got {len(kps)}")
    missing = [n for n in _NAMES_2018 if n not in kps]
    if missing:
        raise PoseTrackFormatError(f"{source}: categories[0].keypoints: missing {', '.join(missing)}")
    index = {n: j for j, n in enumerate(_NAMES_2018)}
    return [index.get(n) for n in kps]


def _images_2018(images: List[schema.Image18], source: str, warnings: List[str]) -> List[schema.Image18]:
    """The images of the first video, in array order; a repeated image id is an error."""
    seen: Dict[Any, int] = {}
    for i, image in enumerate(images):
        if image.id in seen:
            raise PoseTrackFormatError(f"{source}: images {seen[image.id]} and {i} have the same id {image.id!r} "
                                       f"(a frame listed twice)")
        seen[image.id] = i
        if not image.file_name:         # poseval takes the video and the frame from it (and crashes without)
            raise PoseTrackFormatError(f"{source}: image {i}: 'file_name' is missing or empty (PoseTrack 2018 "
                                       f"images name their file: the video and frame are read from it)")
        rx, ry = image.ignore_regions_x, image.ignore_regions_y
        if (rx is None) != (ry is None):
            raise PoseTrackFormatError(f"{source}: image {i}: 'ignore_regions_x' and 'ignore_regions_y' must be "
                                       f"given together")
        if rx is not None and (len(rx) != len(ry) or any(len(a) != len(b) for a, b in zip(rx, ry))):
            raise PoseTrackFormatError(f"{source}: image {i}: 'ignore_regions_x' and 'ignore_regions_y' must be "
                                       f"lists of equal length")
    if not images:
        return []
    video = _video_id(images[0].file_name)
    kept = [im for im in images if _video_id(im.file_name) == video]
    if len(kept) < len(images):
        warnings.append(f"{source}: {len(images) - len(kept)} image(s) of other videos than {video!r} skipped "
                        f"(only the first video of a file is read, as poseval does)")
    return kept


def _persons_2018(src: PoseTrackSource, picked: List[int]):
    frame_of = {image_id: f for f, image_id in enumerate(src.image_ids)}
    by_frame: List[List[int]] = [[] for _ in src.image_ids]
    for a, ann in enumerate(src.document.annotations):
        f = frame_of.get(ann.image_id)
        if f is not None:
            by_frame[f].append(a)
    anns = src.document.annotations
    persons, regions, refs = [], [], []
    for f in picked:
        mine = by_frame[f] if f >= 0 else []
        persons.append([anns[a] for a in mine])
        refs.extend(mine)
        image = src._frames[f] if f >= 0 else None
        if image is not None and image.ignore_regions_x:
            regions.append(tuple(np.stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)],
                                          axis=1).reshape(-1, 2)
                                 for x, y in zip(image.ignore_regions_x, image.ignore_regions_y)))
        else:
            regions.append(())
    return persons, regions, refs


def _pack_2018(anns: List[schema.Annotation18], slots: Sequence[Optional[int]],
               label: Callable[[int], str]) -> Dict[str, np.ndarray]:
    n, k = len(anns), len(slots)
    boxes = [a.bbox_head for a in anns]
    has_head = np.fromiter((b is not None for b in boxes), bool, n)
    head_box = np.full((n, 4), np.nan)
    if has_head.any():
        xywh = np.asarray([b for b in boxes if b is not None], dtype=np.float64).reshape(-1, 4)
        head_box[has_head] = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    _check_head_boxes(head_box, has_head, label)
    track_id, has_track = _optional([a.track_id for a in anns], np.int64)
    box_score, has_box_score = _optional([a.score for a in anns])
    box_score[~has_box_score] = np.nan
    has_kps = np.fromiter((a.keypoints is not None for a in anns), bool, n)
    with_kps = np.flatnonzero(has_kps)
    for i in with_kps.tolist():
        a = anns[i]
        if len(a.keypoints) != 3 * k:
            raise PoseTrackFormatError(f"{label(i)}: 'keypoints' must be a list of {3 * k} numbers (x, y, v per "
                                       f"category keypoint), got {len(a.keypoints)}")
        if a.scores and len(a.scores) != k:
            raise PoseTrackFormatError(f"{label(i)}: 'scores' has {len(a.scores)} values for {k} keypoints")
    xyv = np.asarray([anns[i].keypoints for i in with_kps.tolist()], dtype=np.float64).reshape(-1, k, 3)
    scores = np.full((len(with_kps), k), np.nan)
    scored = np.fromiter((bool(anns[i].scores) for i in with_kps.tolist()), bool, len(with_kps))
    if scored.any():
        scores[scored] = np.asarray([anns[i].scores for i in with_kps[scored].tolist()], dtype=np.float64)
    # Keypoints of other names (ears) are dropped; so is a keypoint with x == y == v == 0 (poseval).
    slot_joint = np.array([-1 if s is None else s for s in slots], dtype=np.int64)
    keep = (slot_joint >= 0)[None, :] & ~(xyv == 0).all(axis=2)
    npoints = np.zeros(n, dtype=np.int64)
    npoints[with_kps] = keep.sum(axis=1)
    joint = np.broadcast_to(slot_joint, keep.shape)[keep]
    score = scores[keep]
    return dict(track_id=track_id, has_track_id=has_track, head_box=head_box, has_head_box=has_head,
                box_score=box_score, has_box_score=has_box_score, has_annopoints=has_kps,
                point_start=_starts(npoints.tolist()), point_joint=joint, point_is_joint=np.ones(len(joint), bool),
                point_xy=xyv[keep][:, :2].reshape(-1, 2), point_score=score, point_has_score=~np.isnan(score))



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
_MISSING_SCORE_2018 = POSEVAL_MISSING_SCORE  # what poseval uses for a point without a score


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
