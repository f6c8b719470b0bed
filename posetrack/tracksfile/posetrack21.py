"""PoseTrack21 files (``posetrack_data``): their schema, read by ``posetrack eval``, and the prediction writer.

The format (anDoer/PoseTrack21 ``doc/dataset_structure.md``, and what its evaluation kit reads, SPEC.md
section 1 in the project's reference data) is COCO-style, one file per sequence::

    {"images": [{"id": 10003420000, "file_name": "images/val/000342_mpii_test/000000.jpg",
                 "frame_id": 10003420000, "is_labeled": true, "ignore_regions_x": [[...]], ...}],
     "annotations": [{"image_id": 10003420000, "track_id": 0, "keypoints": [x, y, v, ... 17 times],
                      "scores": [17 values], "bbox_head": [x, y, w, h], "person_id": 1024, ...}],
     "categories": [{"name": "person", "keypoints": ["nose", "head_bottom", ...], ...}]}

The 17 keypoints are in :data:`KEYPOINTS` order (the ears are placeholders: the kit drops them).
``person_id`` and ``has_labeled_person`` exist only in PoseTrack21 ground truth: ``posetrack eval``
recognises a PoseTrack21 GT file by them (``--format posetrack21`` names the format instead).

Strictness: at the three container levels (the document, an image, an annotation) every key must be
one of the format's own (the fields below, plus the keys PoseTrack, the kit's submissions and COCO
write there: ``info``, ``width``, ``area``, ...), so that a misspelled container key (``annotation``,
``keypoint``, ``ignore_region_x``) is an error naming the closest valid key instead of an empty list.
Fields the kit never reads (``bbox``, ``vid_id``, ...) are accepted with any value.

Writer (:func:`export_posetrack21`): one image per frame of the sequence and one annotation per
tracked person, which the official kit reads as it is:

* with a GT file, its images are copied (``id``, ``file_name``, ``frame_id``) and frame k of the
  tracks is the k-th GT image (the kit pairs frames by position and checks the ids);
* without one, image ids follow PoseTrack's own numbering, ``10000000000 + 10000 * video + frame``,
  where ``video`` is the number the source's name starts with (``000342`` in
  ``000342_mpii_test.mp4`` or in an image folder ``000342_mpii_test/``, else 0) and ``frame`` the
  0-based frame index; ``file_name`` is ``<source name>/<frame:06d>.jpg``;
* keypoints are mapped to PoseTrack's joints as the 2017/2018 exports map them
  (:func:`posetrack.tracksfile.exports.to_posetrack15`); ears, joints not located, non-finite
  values and joints scored <= 0 are written as ``0, 0, 0`` with score 0; visibility is 1 otherwise;
* ``track_id`` is the track id (required: the kit reads it for every person), ``score`` the box
  score, ``bbox`` the box as ``[x, y, w, h]``. ``person_id`` (PoseTrack21's identity across
  videos, for its re-identification metric) is not written: a tracker's ids are per video.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, List, Optional, Sequence, Union

import msgspec
import numpy as np
from msgspec import Meta

from posetrack import validation
from posetrack.errors import FormatError, InputError
from posetrack.keypoints import POSETRACK17, POSETRACK18
from posetrack.validation import MAX_COORD, Coord, Finite, Int64

__all__ = ["KEYPOINTS", "UnusedImageKeys", "UnusedAnnotationKeys", "Image21", "Annotation21", "Category21", "Document21", "PoseTrack21FormatError",
           "decode_posetrack21", "posetrack21_images", "gt_images", "export_posetrack21", "write_posetrack21",
           "image_label", "annotation_label"]

#: The 17 keypoint slots of a PoseTrack21 person, in file order (PoseTrack 2018's, COCO's with the eyes
#: replaced by head_bottom and head_top).
KEYPOINTS = POSETRACK18.names
#: PoseTrack's image ids: 10000000000 + 10000 * video number + frame index.
IMAGE_ID_BASE = 10_000_000_000
FRAMES_PER_VIDEO_ID = 10_000

ImageId = Union[Int64, str]
#: A keypoint value: kept as an int when the file writes an integer (the kit then truncates the
#: frame's scores to integers, a quirk reproduced by the evaluation).
KeypointValue = Union[Annotated[int, Meta(ge=-int(MAX_COORD), le=int(MAX_COORD))], Coord]
Box = Annotated[List[Coord], Meta(min_length=4, max_length=4)]
#: A field the kit never reads: any JSON value (None when absent, and then not written).
Unused = Any
NOTHING = None


class PoseTrack21FormatError(FormatError):
    """A PoseTrack21 file breaks the format; the message names the file, frame, person and field."""


class UnusedImageKeys(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """Image keys that PoseTrack 2018/21 files, the kit's submissions and COCO write and no evaluator reads
    (any value is accepted). Shared by the PoseTrack 2018 schema (:mod:`posetrack.eval.schema`)."""

    frame_id: Unused = NOTHING
    vid_id: Unused = NOTHING
    nframes: Unused = NOTHING
    image_id: Unused = NOTHING
    has_no_densepose: Unused = NOTHING
    width: Unused = NOTHING
    height: Unused = NOTHING
    license: Unused = NOTHING
    coco_url: Unused = NOTHING
    flickr_url: Unused = NOTHING
    date_captured: Unused = NOTHING


class UnusedAnnotationKeys(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """Annotation keys of PoseTrack 2018/21 and COCO files that no evaluator reads (any value is accepted)."""

    bbox: Unused = NOTHING
    id: Unused = NOTHING
    category_id: Unused = NOTHING
    num_keypoints: Unused = NOTHING
    area: Unused = NOTHING
    iscrowd: Unused = NOTHING
    segmentation: Unused = NOTHING


class Image21(UnusedImageKeys, forbid_unknown_fields=True):
    """One frame. The kit reads ``id``, ``is_labeled`` (GT) and the ignore regions (GT: one list of
    x and one of y coordinates per polygon)."""

    id: ImageId
    file_name: str = ""
    is_labeled: Optional[bool] = None
    has_labeled_person: Optional[bool] = None
    ignore_regions_x: Optional[List[List[Coord]]] = None
    ignore_regions_y: Optional[List[List[Coord]]] = None


class Annotation21(UnusedAnnotationKeys, forbid_unknown_fields=True):
    """One person in one frame: ``keypoints`` holds x, y, v for each of the 17 :data:`KEYPOINTS`
    (v is ignored), ``scores`` one confidence per keypoint (predictions), ``bbox_head`` the head box
    ``[x, y, w, h]`` (GT)."""

    image_id: ImageId
    track_id: Optional[Int64] = None
    keypoints: Optional[List[KeypointValue]] = None
    scores: Optional[List[Finite]] = None
    bbox_head: Optional[Box] = None
    score: Optional[Finite] = None
    person_id: Unused = NOTHING


class Category21(msgspec.Struct, omit_defaults=True, gc=False):
    name: str = ""
    keypoints: List[str] = []
    id: Unused = NOTHING
    supercategory: Unused = NOTHING
    skeleton: Unused = NOTHING


class Document21(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """A sequence file: both lists are required (the kit reads them unconditionally), categories optional."""

    images: List[Image21]
    annotations: List[Annotation21]
    categories: Optional[List[Category21]] = None
    info: Unused = NOTHING
    licenses: Unused = NOTHING


_DECODER: Optional[msgspec.json.Decoder] = None


def _labeler(path: List[validation.Segment], doc: Any) -> str:
    """``$.annotations[5].keypoints[7]`` -> 'frame 3 (file name), annotation 5, 'keypoints' value 7 (keypoint 2)'."""
    parts: List[str] = []
    i = 0
    while i < len(path):
        seg, nxt = path[i], path[i + 1] if i + 1 < len(path) else None
        if seg == "images" and isinstance(nxt, int):
            parts.append(image_label(doc, nxt))
        elif seg == "annotations" and isinstance(nxt, int):
            parts.append(annotation_label(doc, nxt))
        elif seg in ("keypoints", "scores") and isinstance(nxt, int):
            per = 3 if seg == "keypoints" else 1
            parts.append(f"'{seg}' value {nxt} (keypoint {nxt // per}"
                         f"{f', {KEYPOINTS[nxt // per]}' if nxt // per < len(KEYPOINTS) else ''})")
        elif isinstance(seg, str):
            parts.append(f"'{seg}'" if nxt is None or isinstance(nxt, int) and i + 2 == len(path) else seg)
            if isinstance(nxt, int):
                parts[-1] += f"[{nxt}]"
        else:
            parts.append(f"[{seg}]")
            i += 1
            continue
        i += 2 if isinstance(nxt, int) else 1
    return ", ".join(parts)


def image_label(doc: Any, i: int, noun: str = "frame") -> str:
    """'frame 3 (file name)' for image ``i`` of a COCO-style document (PoseTrack 2018/21), for messages."""
    try:
        name = doc["images"][i].get("file_name")
    except (KeyError, IndexError, TypeError, AttributeError):
        name = None
    return f"{noun} {i} ({name})" if isinstance(name, str) and name else f"{noun} {i}"


def annotation_label(doc: Any, a: int) -> str:
    """'frame 3 (file name), annotation 5' where the annotation's image can be found, else 'annotation 5'."""
    try:
        image_id = doc["annotations"][a]["image_id"]
        ids = [im.get("id") for im in doc["images"]]
        return f"{image_label(doc, ids.index(image_id))}, annotation {a}"
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return f"annotation {a}"


def decode_posetrack21(raw: bytes, source: str) -> Document21:
    """Decode and validate one PoseTrack21 file's bytes.

    Raises:
        PoseTrack21FormatError: not JSON, a value of the wrong type or range, or an unknown key at a
            container level; one line naming the file, frame, annotation and field (and, for an
            unknown key, the closest valid one).
    """
    global _DECODER
    if _DECODER is None:
        _DECODER = msgspec.json.Decoder(Document21)
    return validation.decode_json(raw, _DECODER, source, _labeler, PoseTrack21FormatError)


def read_document(path: Union[str, os.PathLike]) -> Document21:
    """Read one PoseTrack21 file (see :func:`decode_posetrack21`); OSError if it cannot be read."""
    with open(path, "rb") as f:
        raw = f.read()
    return decode_posetrack21(raw, str(path))


# ----------------------------------------------------------------------------- writing predictions

def posetrack21_images(num_frames: int, source_name: str) -> List[Image21]:
    """The images of a sequence without GT file: PoseTrack's id rule (see the module docstring)."""
    stem = Path(source_name).name
    stem = stem[:-len(Path(stem).suffix)] if Path(stem).suffix and not Path(source_name).is_dir() else stem
    m = re.match(r"\d+", stem)
    base = IMAGE_ID_BASE + FRAMES_PER_VIDEO_ID * (int(m.group()) if m else 0)
    return [Image21(id=base + k, file_name=f"{stem}/{k:06d}.jpg", frame_id=base + k) for k in range(num_frames)]


def gt_images(gt: Union[str, os.PathLike]) -> List[Image21]:
    """The images of a PoseTrack21 GT file, as a prediction file lists them (id, file_name, frame_id).

    Raises:
        OSError: the file cannot be read.
        PoseTrack21FormatError: it is not a valid PoseTrack21 file.
    """
    doc = read_document(gt)
    return [Image21(id=im.id, file_name=im.file_name, frame_id=im.id if im.frame_id is None else im.frame_id)
            for im in doc.images]


def _slots_of(layout) -> np.ndarray:
    """(15,) PoseTrack21 slot of each ``posetrack17`` joint (the layout :func:`to_posetrack15` returns)."""
    return np.array([KEYPOINTS.index(name) for name in POSETRACK17.names])


def _person(xy15: np.ndarray, sc15: np.ndarray, box: Sequence[float], box_score: float, track_id: int,
            image_id: Any, ann_id: int) -> Annotation21:
    slots = _slots_of(None)
    kps = np.zeros((len(KEYPOINTS), 3))
    scores = np.zeros(len(KEYPOINTS))
    ok = np.isfinite(xy15).all(axis=1) & np.isfinite(sc15) & (sc15 > 0)
    kps[slots[ok], :2] = xy15[ok]
    kps[slots[ok], 2] = 1.0
    scores[slots[ok]] = sc15[ok]
    x1, y1, x2, y2 = (float(v) if np.isfinite(v) else 0.0 for v in box)
    values: List[Any] = [float(v) if i % 3 != 2 else int(v) for i, v in enumerate(kps.ravel().tolist())]
    return Annotation21(image_id=image_id, track_id=int(track_id), keypoints=values, scores=scores.tolist(),
                        bbox=[x1, y1, x2 - x1, y2 - y1],
                        score=float(box_score) if np.isfinite(box_score) else 0.0, id=ann_id, category_id=1)


def export_posetrack21(tracks, images: Sequence[Image21]) -> Document21:
    """A PoseTrack21 prediction document: frame k of ``tracks`` is ``images[k]``.

    Args:
        tracks: a :class:`posetrack.tracksfile.codec.TrackFile` with track ids.
        images: one per frame of the sequence (:func:`gt_images` or :func:`posetrack21_images`).

    Raises:
        InputError: the people carry no track ids (``--tracker none``), which PoseTrack21 needs.
    """
    from posetrack.tracksfile.exports import to_posetrack15

    annotations: List[Annotation21] = []
    by_frame = tracks.by_frame()
    for k, image in enumerate(images):
        fr = by_frame.get(k)
        if fr is None or not len(fr):
            continue
        if fr.track_ids is None:
            raise InputError(f"frame {k}: the people have no track ids (a run with --tracker none); PoseTrack21 "
                             f"predictions need one per person")
        xy, sc = to_posetrack15(fr.poses.keypoints, fr.poses.keypoint_scores, tracks.layout)
        for i in range(len(fr)):
            annotations.append(_person(xy[i], sc[i], fr.poses.boxes[i], fr.poses.box_scores[i], fr.track_ids[i],
                                       image.id, len(annotations)))
    categories = [Category21(name="person", keypoints=list(KEYPOINTS), id=1, supercategory="person",
                             skeleton=[[i + 1, j + 1] for i, j in POSETRACK18.skeleton])]
    return Document21(images=list(images), annotations=annotations, categories=categories)


def write_posetrack21(path: Union[str, os.PathLike], tracks, gt: Optional[Union[str, os.PathLike]] = None,
                      source: Optional[Union[str, os.PathLike]] = None) -> List[str]:
    """Write ``tracks`` as a PoseTrack21 prediction file (atomically), images from ``gt`` if given.

    Args:
        path: the JSON file to write (its folder is created).
        tracks: the :class:`~posetrack.tracksfile.codec.TrackFile` of one sequence.
        gt: the sequence's PoseTrack21 GT file: its image ids, names and count are copied.
        source: the video or image folder (default: the tracks file's ``video.path``), whose name
            gives the video number of the id rule when there is no GT file.

    Returns:
        notes for the user (a frame-count mismatch with the GT file).

    Raises:
        OSError: a file cannot be read or written (naming it).
        PoseTrack21FormatError: ``gt`` is not a valid PoseTrack21 file.
        InputError: the tracks have no track ids.
    """
    from posetrack.io.atomic import write_atomic

    notes = []
    frames = tracks.header.video.frames or (max((f.frame for f in tracks.frames), default=-1) + 1)
    if gt is not None:
        images = gt_images(gt)
        if len(images) != frames:
            notes.append(f"{path}: the GT file {gt} lists {len(images)} frames and the video has {frames}; frame k "
                         f"of the video was written as the GT's k-th image")
    else:
        images = posetrack21_images(frames, str(source if source is not None else tracks.header.video.path))
    document = export_posetrack21(tracks, images)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, [msgspec.json.encode(document)])
    return notes


def check_writable_gt(gt: Optional[Union[str, os.PathLike]]) -> None:
    """Read ``gt`` once before a long run, so that a bad GT file fails before any frame is processed."""
    if gt is not None:
        try:
            gt_images(gt)
        except FormatError:
            raise
        except OSError as e:
            raise OSError(e.errno, f"cannot read the GT file: {e.strerror}", str(gt)) from None
