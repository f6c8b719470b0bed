"""The PoseTrack 2017 / 2018 annotation files as msgspec types, and their error labels.

What poseval reads (its written specification, SPEC.md section 2); decoded strictly by
:func:`posetrack.validation.decode_json` and unpacked into arrays by :mod:`posetrack.eval.formats`.
"""
from __future__ import annotations

from typing import Annotated, Any, List, Optional, Tuple, Union

import msgspec
from msgspec import Meta

from posetrack.tracksfile.posetrack21 import (NOTHING, Unused, UnusedAnnotationKeys, UnusedImageKeys, annotation_label,
                                              image_label)
from posetrack.validation import FIELD, Coord, Finite, Int64, Segment, join_label

# ----------------------------------------------------------------------------- PoseTrack 2017 / 2018
# What poseval reads (its written specification, SPEC.md section 2). Unknown fields (is_visible, imgnum,
# is_labeled, vid_id, ...) are ignored, as poseval ignores them. A 2017 scalar is a one-element list
# (poseval reads element 0); a bare number, an empty or a longer list is an error.

#: A 2017 scalar: a one-element list ``[v]``, as PoseTrack writes and poseval reads (element 0).
Coord17 = Tuple[Coord]
Finite17 = Tuple[Finite]
Int17 = Tuple[Int64]
#: poseval's head boxes: no head is larger than a video frame, so a side beyond this is corrupt.
MAX_HEAD_SIDE = 1e4


class Point17(msgspec.Struct, gc=False):
    """``{"id": [j], "x": [..], "y": [..], "score": [..]}``; ``id`` must be present (poseval crashes
    without it) but may be null (a point that is no joint); ids outside 0..14 are no joints either."""

    id: Optional[Int17]
    x: Coord17
    y: Coord17
    score: Optional[Finite17] = None


# Container levels (the document, a 2017 frame, rect, annopoints entry and ignore region; a 2018 image and
# annotation) forbid unknown keys, so that a misspelled container key (``opint``, ``annotation``) is an error
# naming the closest valid key rather than an empty list. Keys that PoseTrack, poseval's inputs and COCO write
# there but poseval never reads are declared as ``Unused`` (any value). Points and categories accept any
# other key, as poseval does.


class AnnoPoints17(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    point: Optional[List[Point17]] = None


class Rect17(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    x1: Optional[Coord17] = None
    y1: Optional[Coord17] = None
    x2: Optional[Coord17] = None
    y2: Optional[Coord17] = None
    track_id: Optional[Int17] = None
    score: Optional[Finite17] = None
    annopoints: Optional[List[AnnoPoints17]] = None
    scale: Unused = NOTHING        # MPII's person scale and position (the annolist format comes from MPII)
    objpos: Unused = NOTHING


class Image17(msgspec.Struct, gc=False):
    name: str = ""


class RegionPoint17(msgspec.Struct, gc=False):
    x: Coord17
    y: Coord17


class Region17(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    point: List[RegionPoint17] = []


class Frame17(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    image: Optional[List[Image17]] = None
    annorect: Optional[List[Rect17]] = None
    ignore_regions: Optional[List[Region17]] = None
    imgnum: Unused = NOTHING
    is_labeled: Unused = NOTHING


ImageId = Union[Int64, str]


class Image18(UnusedImageKeys, forbid_unknown_fields=True):
    id: ImageId
    file_name: str = ""
    ignore_regions_x: Optional[List[List[Coord]]] = None
    ignore_regions_y: Optional[List[List[Coord]]] = None
    is_labeled: Unused = NOTHING
    has_labeled_person: Unused = NOTHING


class Annotation18(UnusedAnnotationKeys, forbid_unknown_fields=True):
    """``keypoints`` holds x, y, v per category keypoint; ``scores`` one value per keypoint (or empty)."""

    image_id: ImageId
    track_id: Optional[Int64]
    bbox_head: Optional[Annotated[List[Coord], Meta(min_length=4, max_length=4)]] = None
    score: Optional[Finite] = None
    keypoints: Optional[List[Coord]] = None
    scores: Optional[List[Finite]] = None
    person_id: Unused = NOTHING


class Category18(msgspec.Struct, gc=False):
    name: str = ""
    keypoints: List[str] = []


class PoseTrackDocument(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A PoseTrack file of either format: 2017 when ``annolist`` is present (poseval's rule)."""

    annolist: Union[List[Frame17], msgspec.UnsetType] = msgspec.UNSET
    images: List[Image18] = []
    annotations: List[Annotation18] = []
    categories: Union[List[Category18], msgspec.UnsetType] = msgspec.UNSET
    info: Unused = NOTHING
    licenses: Unused = NOTHING



def _image_name_2017(doc: Any, f: int) -> str:
    try:
        name = doc["annolist"][f]["image"][0]["name"]
        return f" ({name})" if isinstance(name, str) and name else ""
    except (KeyError, IndexError, TypeError):
        return ""


def _scalar_field(path: List[Segment], i: int) -> Optional[str]:
    """'x' for ``x`` or ``x[0]`` at the end of the path."""
    rest = path[i:]
    if len(rest) == 1 and isinstance(rest[0], str):
        return rest[0]
    if len(rest) == 2 and isinstance(rest[0], str) and isinstance(rest[1], int):
        return rest[0]
    return None


def posetrack_labeler(path: List[Segment], doc: Any) -> str:
    """``$.annolist[3].annorect[1].annopoints[0].point[2].x[0]`` -> 'frame 3 (name), annorect 1, point 2, x'."""
    parts: List[str] = []
    i = 0
    while i < len(path):
        seg = path[i]
        nxt = path[i + 1] if i + 1 < len(path) else None
        if seg == "annolist" and isinstance(nxt, int):
            parts.append(f"frame {nxt}{_image_name_2017(doc, nxt)}")
        elif seg == "annorect" and isinstance(nxt, int):
            parts.append(f"annorect {nxt}")
        elif seg == "annopoints" and isinstance(nxt, int):
            if nxt:
                parts.append(f"annopoints {nxt}")
        elif seg in ("point", "ignore_regions") and isinstance(nxt, int):
            parts.append(f"{'ignore region' if seg == 'ignore_regions' else 'point'} {nxt}")
        elif seg == "annotations" and isinstance(nxt, int):
            parts.append(annotation_label(doc, nxt))
        elif seg == "images" and isinstance(nxt, int):
            parts.append(image_label(doc, nxt, "image"))
        elif seg in ("keypoints", "scores") and isinstance(nxt, int) and parts and "annotation" in parts[-1]:
            per = 3 if seg == "keypoints" else 1
            parts.append(f"'{seg}' value {nxt} (keypoint {nxt // per})")
        elif isinstance(seg, str):
            field = _scalar_field(path, i)
            if field is not None:
                parts.append(f"'{field}'")
                break
            parts.append(FIELD + (seg if nxt is None or not isinstance(nxt, int) else f"{seg}[{nxt}]"))
        else:
            parts.append(f"[{seg}]")
            i += 1
            continue
        i += 2 if isinstance(nxt, int) else 1
    return join_label(parts)


#: Decoders are built on first use (PEP 562 module ``__getattr__``): building one inspects its
#: whole type tree, and a command needs one or two of them.
_DECODER_TYPES = {"POSETRACK_DECODER": PoseTrackDocument}


def __getattr__(name: str) -> Any:
    if name in _DECODER_TYPES:
        decoder = msgspec.json.Decoder(_DECODER_TYPES[name])
        globals()[name] = decoder
        return decoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
