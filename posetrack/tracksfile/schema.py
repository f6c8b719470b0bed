"""The tracks file (``posetrack-tracks``, version 1) and its journal header as msgspec types.

Read by :mod:`posetrack.tracksfile.codec`; the README's "The tracks file" section documents every
field.
"""
from __future__ import annotations

from typing import Annotated, Any, Dict, List, Literal, Optional, Union

import msgspec
from msgspec import Meta

from posetrack.validation import (FIELD, INT64_MAX, MAX_COORD, MAX_FRAMES, Coord, NonNegFinite, NonNegInt64,
                                  PositiveFinite, Segment, join_label, short_repr)

# ----------------------------------------------------------------------------- tracks file (posetrack.tracksfile.codec)

#: A frame width or height in pixels.
Dimension = Annotated[int, Meta(ge=1, le=int(MAX_COORD))]
#: [x, y, score] of one keypoint; x and y may be null (a joint not located), score null reads as 0.
KeypointRow = Annotated[List[Optional[Coord]], Meta(min_length=3, max_length=3)]


#: A box score in a tracks file: within +-MAX_COORD, like keypoint scores (the file's scores are float32
#: in memory: a larger value, 1e300, would become infinity there and null when written back).
TrackScore = Annotated[float, Meta(ge=-MAX_COORD, le=MAX_COORD)]


class TrackPerson(msgspec.Struct, gc=False):
    bbox: Annotated[List[Coord], Meta(min_length=4, max_length=4)]
    keypoints: List[KeypointRow]
    track_id: Optional[NonNegInt64] = None
    score: Optional[TrackScore] = None
    interpolated: bool = False


class TrackFrame(msgspec.Struct, gc=False):
    frame: NonNegInt64
    people: List[TrackPerson] = []
    time: Optional[NonNegFinite] = None
    cut: bool = False                 # a scene cut right before this frame (no track continues across it)


class VideoRecord(msgspec.Struct, gc=False):
    path: str
    fps: PositiveFinite
    width: Dimension
    height: Dimension
    frames: NonNegInt64


class RunRange(msgspec.Struct, gc=False):
    """The frame range of the run that made a tracks file (``settings.start/end/stride``), which
    ``posetrack render`` reuses; checked when the file is read, other settings are kept as they are."""

    start: Optional[NonNegInt64] = None           # null: not recorded (0)
    end: Optional[Annotated[int, Meta(ge=1, le=INT64_MAX)]] = None
    stride: Optional[Annotated[int, Meta(ge=1, le=MAX_FRAMES)]] = None     # null: not recorded (1)


class TracksHead(msgspec.Struct, gc=False):
    """Read first, so that a file of another version is named as such."""

    format: Any = "posetrack-tracks"
    version: Any = None
    # Present only in PoseTrack annotation files (skipped, not decoded): a clearer message for those.
    annolist: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET
    images: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET
    annotations: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET


class TracksDocument(msgspec.Struct, gc=False):
    video: VideoRecord
    frames: List[TrackFrame]
    format: str = "posetrack-tracks"
    version: int = 1
    status: Literal["complete", "partial"] = "complete"
    keypoint_layout: Optional[str] = None
    keypoints: Optional[List[str]] = None
    skeleton: Optional[List[Annotated[List[NonNegInt64], Meta(min_length=2, max_length=2)]]] = None
    settings: Dict[str, Any] = {}


class TracksHeaderRecord(msgspec.Struct, gc=False):
    """A journal's first line: the document without frames."""

    video: VideoRecord
    format: str = "posetrack-tracks"
    version: int = 1
    keypoint_layout: Optional[str] = None
    keypoints: Optional[List[str]] = None
    skeleton: Optional[List[Annotated[List[NonNegInt64], Meta(min_length=2, max_length=2)]]] = None
    settings: Dict[str, Any] = {}


_KEYPOINTFIELDS = ("x", "y", "score")


def tracks_labeler(path: List[Segment], doc: Any) -> str:
    """``$.frames[3].people[0].keypoints[5][0]`` -> 'frame 12, person 0, keypoint 5 (left_shoulder), x'."""
    parts: List[str] = []
    i = 0
    while i < len(path):
        seg = path[i]
        nxt = path[i + 1] if i + 1 < len(path) else None
        if seg == "frames" and isinstance(nxt, int):
            index = None
            try:
                index = doc["frames"][nxt]["frame"]
            except (KeyError, IndexError, TypeError):
                pass
            parts.append(f"frame {short_repr(index)}" if isinstance(index, int) and not isinstance(index, bool)
                         else f"frames[{nxt}]")
        elif seg == "people" and isinstance(nxt, int):
            parts.append(f"person {nxt}")
        elif seg == "keypoints" and isinstance(nxt, int) and parts and parts[-1].startswith("person"):
            name = ""
            try:
                name = f" ({doc['keypoints'][nxt]})"
            except (KeyError, IndexError, TypeError):
                pass
            parts.append(f"keypoint {nxt}{name}")
            if i + 2 < len(path) and isinstance(path[i + 2], int) and 0 <= path[i + 2] < 3:
                parts.append(_KEYPOINTFIELDS[path[i + 2]])
                i += 1
        elif isinstance(seg, str):
            parts.append(FIELD + (seg if not isinstance(nxt, int) else f"{seg}[{nxt}]"))
        else:
            parts.append(f"[{seg}]")
            i += 1
            continue
        i += 2 if isinstance(nxt, int) else 1
    return join_label(parts) or "top level"


#: Decoders are built on first use (PEP 562 module ``__getattr__``): building one inspects its
#: whole type tree, and a command needs one or two of them.
_DECODER_TYPES = {"TRACKS_HEAD_DECODER": TracksHead, "TRACKS_DECODER": TracksDocument}


def __getattr__(name: str) -> Any:
    if name in _DECODER_TYPES:
        decoder = msgspec.json.Decoder(_DECODER_TYPES[name])
        globals()[name] = decoder
        return decoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
