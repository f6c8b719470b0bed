"""The tracks file (``posetrack-tracks``, version 1) and the run journal as msgspec types.

One definition per artefact, used both ways: :mod:`posetrack.tracksfile.codec` builds these
structs to write a tracks file and decodes files into them; :mod:`posetrack.tracksfile.journal`
does the same for the journal's lines. Field order is file order (``kw_only`` lets a required
field follow an optional one); a field whose default is ``UNSET`` is written only when set. The
README's "The tracks file" section documents every field. Every level of a tracks file but
``settings`` (free-form) refuses a key it does not know, naming the closest valid one: a misspelled
``people`` must not read as a frame without people.
"""
from __future__ import annotations

from typing import Annotated, Any, Dict, List, Literal, Optional, Union

import msgspec
from msgspec import UNSET, Meta, UnsetType

from posetrack.validation import (FIELD, INT64_MAX, MAX_COORD, MAX_FRAMES, Coord, FrameRate, NonNegFinite,
                                  NonNegInt64, Segment, join_label, short_repr)

__all__ = ["TRACKS_FORMAT", "TRACKS_VERSION", "JOURNAL_FORMAT", "JOURNAL_VERSION", "TrackPerson", "TrackFrame",
           "VideoRecord", "RunRange", "TracksHead", "TracksHeaderRecord", "TracksDocument", "JournalVideo",
           "JournalHead", "TrackerStateRecord", "StateLine", "tracks_labeler"]

#: The tracks file's ``format`` and ``version``.
TRACKS_FORMAT = "posetrack-tracks"
TRACKS_VERSION = 1
#: The journal head's ``format`` and ``version`` (3 added ``inputs``; 2 and the tracks-format
#: journal of version 1 are refused by name).
JOURNAL_FORMAT = "posetrack-journal"
JOURNAL_VERSION = 3

# ----------------------------------------------------------------------------- tracks file (posetrack.tracksfile.codec)

#: A frame width or height in pixels.
Dimension = Annotated[int, Meta(ge=1, le=int(MAX_COORD))]
#: [x, y, score] of one keypoint; x and y may be null (a joint not located), score null reads as 0.
KeypointRow = Annotated[List[Optional[Coord]], Meta(min_length=3, max_length=3)]
#: A skeleton limb: two keypoint indices.
Limb = Annotated[List[NonNegInt64], Meta(min_length=2, max_length=2)]


#: A box score in a tracks file: within +-MAX_COORD, like keypoint scores (the file's scores are float32
#: in memory: a larger value, 1e300, would become infinity there and null when written back).
TrackScore = Annotated[float, Meta(ge=-MAX_COORD, le=MAX_COORD)]


class TrackPerson(msgspec.Struct, kw_only=True, gc=False, forbid_unknown_fields=True):
    """One person of a frame: ``track_id`` null when the run was not tracked, ``score`` null or
    left out reads as 1, ``interpolated`` written only when true (filled in by refinement)."""

    track_id: Optional[NonNegInt64] = None
    bbox: Annotated[List[Coord], Meta(min_length=4, max_length=4)]
    score: Optional[TrackScore] = None
    keypoints: List[KeypointRow]
    interpolated: Union[bool, UnsetType] = UNSET


class TrackFrame(msgspec.Struct, kw_only=True, gc=False, forbid_unknown_fields=True):
    """One ``frames`` entry (also one frame line of the journal); ``time`` written only when known,
    ``cut`` only when true (a scene cut right before this frame: no track continues across it)."""

    frame: NonNegInt64
    time: Union[NonNegFinite, None, UnsetType] = UNSET
    cut: Union[bool, UnsetType] = UNSET
    people: List[TrackPerson] = []


class VideoRecord(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    path: str
    fps: FrameRate
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

    format: Any = TRACKS_FORMAT
    version: Any = None
    status: Any = "complete"
    # Present only in PoseTrack annotation files (skipped, not decoded): a clearer message for those.
    annolist: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET
    images: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET
    annotations: Union[msgspec.Raw, msgspec.UnsetType] = msgspec.UNSET


class TracksHeaderRecord(msgspec.Struct, kw_only=True, gc=False, forbid_unknown_fields=True):
    """Everything before ``frames``, in file order (a writer streams the frames after it)."""

    format: str = TRACKS_FORMAT
    version: int = TRACKS_VERSION
    video: VideoRecord
    keypoint_layout: Optional[str] = None
    keypoints: Optional[List[str]] = None
    skeleton: Optional[List[Limb]] = None
    settings: Dict[str, Any] = {}
    status: Literal["complete", "partial"] = "complete"


class TracksDocument(TracksHeaderRecord, kw_only=True, gc=False):
    """A whole tracks file."""

    frames: List[TrackFrame]


# ----------------------------------------------------------------------------- journal (posetrack.tracksfile.journal)

class JournalVideo(msgspec.Struct, kw_only=True, gc=False):
    """The source of a journaled run; ``frames`` null for a live source, ``identity`` its
    fingerprint (:func:`posetrack.tracksfile.resume.source_identity`) or null."""

    path: str
    fps: Optional[float]
    width: int
    height: int
    frames: Optional[NonNegInt64]
    identity: Optional[Dict[str, Any]] = None


class JournalHead(msgspec.Struct, kw_only=True, gc=False):
    """A journal's first line: what a resume must agree with (see :mod:`posetrack.tracksfile.journal`)."""

    format: str = JOURNAL_FORMAT
    version: int = JOURNAL_VERSION
    video: JournalVideo
    layout: str
    settings: Dict[str, Any]
    run: Dict[str, Any]
    inputs: Dict[str, Dict[str, Any]] = {}


class TrackerStateRecord(msgspec.Struct, gc=False):
    """The tracker's state before the frame batch starting at run position ``position`` (frame
    index ``frame``). ``tracker`` is opaque here (null for an untracked run): its schema belongs to
    the tracker (:mod:`posetrack.tracking.state`), which sits above this layer."""

    position: NonNegInt64
    frame: NonNegInt64
    tracker: Any


class StateLine(msgspec.Struct, gc=False):
    """A journal state line: ``{"state": {...}}``."""

    state: TrackerStateRecord


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
