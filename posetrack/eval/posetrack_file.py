"""The format-independent form of a PoseTrack file: :class:`PoseTrackFile` (packed arrays) and
:class:`PoseTrackSource` (decoded, not yet packed), the joint vocabulary, the format error, and the
small array helpers the 2017 and 2018 packers share (:mod:`posetrack.eval.format2017`,
:mod:`posetrack.eval.format2018`).
"""
from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from posetrack.eval import schema
from posetrack.errors import FormatError
from posetrack.keypoints import POSETRACK17, POSEVAL_JOINT_NAMES

__all__ = ["JOINT_NAMES", "NUM_JOINTS", "NAMES_2018", "PoseTrackFile", "PoseTrackSource", "PoseTrackFormatError",
           "empty_posetrack"]

class PoseTrackFormatError(FormatError):
    """A PoseTrack annotation or prediction file breaks the format; the message names file, frame and field."""


#: poseval's joint names for ids 0..14 (id 12 is "neck" in its reports, "head_bottom" in 2018 files).
JOINT_NAMES: Tuple[str, ...] = POSEVAL_JOINT_NAMES
NUM_JOINTS = len(JOINT_NAMES)
#: 2018 keypoint names of joints 0..14 (the POSETRACK17 layout is poseval's order).
NAMES_2018 = POSETRACK17.names
assert len(NAMES_2018) == NUM_JOINTS


class PersonsByFrame:
    """What a sequence stored as flat per-person arrays derives from ``frame_start`` (F + 1,),
    ``track_id`` (N,) and ``num_frames``: shared by :class:`PoseTrackFile` and the PoseTrack21 sequence."""

    @property
    def num_persons(self) -> int:
        return len(self.track_id)

    @property
    def person_frame(self) -> np.ndarray:
        """(N,) int64 frame index of every person."""
        return np.repeat(np.arange(self.num_frames), np.diff(self.frame_start))


@dataclass(frozen=True)
class PoseTrackFile(PersonsByFrame):
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



# ----------------------------------------------------------------------------- shared packing helpers

def starts(counts: Sequence[int]) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def unwrap(items: List[Any], field: str, dtype=np.float64) -> Tuple[np.ndarray, np.ndarray]:
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


def optional(values: List[Any], dtype=np.float64) -> Tuple[np.ndarray, np.ndarray]:
    """2018 optional numbers (``v`` or None) -> (values with 0 where missing, present)."""
    n = len(values)
    if values.count(None) == 0:
        return np.fromiter(values, dtype, n), np.ones(n, dtype=bool)
    has = np.fromiter((v is not None for v in values), bool, n)
    return np.fromiter((0 if v is None else v for v in values), dtype, n), has


def check_head_boxes(box: np.ndarray, has: np.ndarray, label: Callable[[int], str]) -> None:
    side = np.abs(box[:, 2:] - box[:, :2]).max(axis=1, initial=0.0) if len(box) else np.zeros(0)
    bad = np.flatnonzero(has & (side > schema.MAX_HEAD_SIDE))
    if len(bad):
        n = int(bad[0])
        w, h = np.abs(box[n, 2:] - box[n, :2]).tolist()
        raise PoseTrackFormatError(f"{label(n)}: head box is {w:g} x {h:g} pixels; no head is larger than "
                                   f"{schema.MAX_HEAD_SIDE:g} pixels (a corrupt value would make every "
                                   f"prediction match)")


def joint_ids(ids: np.ndarray, has_id: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """poseval compares ``id[0] == j`` for j in 0..14: other ids and null ids are no joints."""
    ok = has_id & (ids >= 0) & (ids < NUM_JOINTS)
    return np.where(ok, ids, 0), ok


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
