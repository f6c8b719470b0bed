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

import os
from itertools import chain
from typing import Any, List, Optional, Sequence, Tuple, Union

import msgspec
import numpy as np

from posetrack import validation
from posetrack.eval import schema
from posetrack.eval.format2017 import pack_2017, persons_2017
from posetrack.eval.format2018 import categories_2018, images_2018, pack_2018, persons_2018
from posetrack.eval.posetrack_file import (JOINT_NAMES, NUM_JOINTS, PoseTrackFile, PoseTrackFormatError,
                                           PoseTrackSource, empty_posetrack, starts)
from posetrack.eval.writers import to_annolist, to_posetrack18, write_json

__all__ = ["JOINT_NAMES", "NUM_JOINTS", "PoseTrackFile", "PoseTrackSource", "PoseTrackFormatError", "read_posetrack",
           "load_posetrack", "pack_posetrack", "parse_posetrack",
           "empty_posetrack", "to_annolist", "to_posetrack18", "write_json"]

FrameMask = Optional[Union[np.ndarray, Sequence[bool]]]


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
    slots = categories_2018(doc.categories, source)
    warnings: List[str] = []
    images = images_2018(doc.images, source, warnings)
    sizes = [(f, len(x)) for f, im in enumerate(images) for x in (im.ignore_regions_x or ())]
    warnings.extend(_polygon_warnings(source, tuple(im.file_name for im in images), sizes))
    known = {im.id for im in images}
    orphans = sum(ann.image_id not in known for ann in doc.annotations)
    if orphans:
        warnings.append(f"{source}: {orphans} annotation(s) refer to no image of the (first) video; skipped")
    box_only = sum(ann.keypoints is None and ann.image_id in known for ann in doc.annotations)
    if box_only:
        warnings.append(f"{source}: {box_only} annotation(s) without 'keypoints' read as box-only persons (no joint "
                        f"to score; poseval stops on them)")
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
        persons, regions, refs = persons_2017(src, picked)
    else:
        persons, regions, refs = persons_2018(src, picked)
    counts = [len(p) for p in persons]
    frame_start = starts(counts)
    flat = list(chain.from_iterable(persons))
    read = np.asarray([f >= 0 for f in picked], dtype=bool).reshape(-1)
    labels = _PersonLabels(src, picked, frame_start, refs)
    if src.format == "2017":
        arrays = pack_2017(flat, labels)
    else:
        arrays = pack_2018(flat, src._slots, labels)
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
