"""The boxes file (``--boxes``): COCO detection results as msgspec types.

Read by :func:`posetrack.pose.detector.read_boxes_file`; documented in the README.
"""
from __future__ import annotations

from typing import Annotated, Any, List, Optional

import msgspec
from msgspec import Meta

from posetrack.validation import MAX_FRAMES, Coord, Int64, path_labeler

class BoxEntry(msgspec.Struct, gc=False):
    """One COCO detection result: ``image_id`` is the 0-based frame index, ``bbox`` is x, y, w, h."""

    image_id: Annotated[int, Meta(ge=0, lt=MAX_FRAMES)]
    bbox: Annotated[List[Coord], Meta(min_length=4, max_length=4)]
    score: Annotated[float, Meta(ge=0.0, le=1.0)]
    category_id: Optional[Int64] = None


BOXES_LABELER = path_labeler()


#: Decoders are built on first use (PEP 562 module ``__getattr__``): building one inspects its
#: whole type tree, and a command needs one or two of them.
_DECODER_TYPES = {"BOXES_DECODER": List[BoxEntry]}


def __getattr__(name: str) -> Any:
    if name in _DECODER_TYPES:
        decoder = msgspec.json.Decoder(_DECODER_TYPES[name])
        globals()[name] = decoder
        return decoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
