"""What every reader of another tool's poses or boxes shares: the error, where frames come from,
the mapping of wider layouts to COCO-17, boxes for poses that come without one, and the error
wording for a misspelled key.

A reader turns one file (or folder) into ``(frame index, Poses)`` pairs (poses readers) or
``(frame index, Detections)`` pairs (boxes readers); frame indices are 0-based indices into the
video. Nothing is guessed: where a file numbers its frames by image name, the names are placed
by the image folder the poses were made from (:class:`Placement`), and a file that cannot be
placed is refused with one line saying what is missing.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Optional, Sequence, Tuple, TypeVar

import msgspec

from posetrack import validation
from posetrack.errors import FormatError
from posetrack.validation import Labeler

if TYPE_CHECKING:      # numpy is imported where it is used: the command line lists the formats without it
    import numpy as np

T = TypeVar("T")

__all__ = ["ForeignFormatError", "Placement", "to_coco17", "boxes_from_keypoints", "WIDER_THAN_COCO",
           "decode", "read_text"]


class ForeignFormatError(FormatError):
    """Another tool's file breaks that tool's documented format, or cannot be placed in the video.

    The message names the file, then the frame / person / field, then what was expected.
    """


@dataclass(frozen=True)
class Placement:
    """What the video tells a reader about the frames a file's poses belong to.

    Attributes:
        frame_size: (width, height) in pixels, to scale normalised coordinates (Ultralytics
            txt labels) back to pixels; None when unknown (such files are then refused).
        image_names: the file names of the source's frames, in frame order, when the source
            is a folder of images; files that name their frames by image (AlphaPose on a
            folder, OpenPose or mmpose run on a folder, Ultralytics labels of images) are placed
            by them. None for a video file or when unknown.
        source: the video or folder, for messages.
    """

    frame_size: Optional[Tuple[int, int]] = None
    image_names: Optional[Sequence[str]] = None
    source: Optional[str] = None

    def frame_of_image(self, name: str, path: Path, where: str) -> int:
        """The 0-based frame index of the image ``name`` (a file name or stem).

        Raises:
            ForeignFormatError: no image folder is known, or the folder holds no such image.
        """
        if self.image_names is None:
            raise ForeignFormatError(
                f"{path}: {where}: names its frame by the image {name!r}; give the folder of images the "
                "poses were made from as the video, so that each image is placed at its frame")
        index = self._index()
        stem = Path(name).stem
        for key in (Path(name).name, stem):
            if key in index:
                return index[key]
        raise ForeignFormatError(f"{path}: {where}: the image {name!r} is not in {self.source or 'the image folder'}")

    def _index(self) -> Dict[str, int]:
        cached = getattr(self, "_cache", None)
        if cached is None:
            cached = {}
            for i, n in enumerate(self.image_names or ()):
                cached.setdefault(Path(n).name, i)
                cached.setdefault(Path(n).stem, i)
            object.__setattr__(self, "_cache", cached)
        return cached


#: Keypoint counts whose first 17 slots are the COCO-17 body keypoints in COCO order: Halpe-26
#: (AlphaPose), COCO-WholeBody 133 (mmpose, AlphaPose) and Halpe-136 (AlphaPose); their extra
#: slots (feet, face, hands) are dropped.
WIDER_THAN_COCO = {17: "COCO-17", 26: "Halpe-26", 133: "COCO-WholeBody-133", 136: "Halpe-136"}


def to_coco17(xy: np.ndarray, scores: np.ndarray, path: Path, where: str) -> Tuple[np.ndarray, np.ndarray]:
    """The COCO-17 body keypoints of (N, K, 2) ``xy`` and (N, K) ``scores`` whose K is in
    :data:`WIDER_THAN_COCO`.

    Raises:
        ForeignFormatError: another keypoint count (the message lists the ones read).
    """
    k = xy.shape[1]
    if k not in WIDER_THAN_COCO:
        known = ", ".join(f"{n} ({name})" for n, name in WIDER_THAN_COCO.items())
        raise ForeignFormatError(f"{path}: {where}: {k} keypoints per person; expected {known}")
    return xy[:, :17], scores[:, :17]


def boxes_from_keypoints(xy: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2: the extent of each person's located keypoints (score > 0).

    For formats that store no person box (OpenPose). A person with no located keypoint gets a
    zero box at the origin (dropped by the tracker, which needs a joint above its joint score).
    """
    import numpy as np

    located = (scores > 0) & np.isfinite(xy).all(axis=2)
    big = np.float32(np.inf)
    x, y = xy[..., 0], xy[..., 1]
    x1 = np.where(located, x, big).min(axis=1)
    y1 = np.where(located, y, big).min(axis=1)
    x2 = np.where(located, x, -big).max(axis=1)
    y2 = np.where(located, y, -big).max(axis=1)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    boxes[~located.any(axis=1)] = 0.0
    return boxes.astype(np.float32)


def decode(raw: bytes, decoder: "msgspec.json.Decoder[T]", path: Path, labeler: Labeler) -> T:
    """:func:`posetrack.validation.decode_json` with :class:`ForeignFormatError`, plus the name of a
    misspelled key.

    msgspec reports a misspelled required key (``peple`` for ``people``) as the valid key being
    missing; the message then also names the closest key the object does have: ``..., missing
    required field 'people' (the object has 'peple')``. The hint is worked out on the error path only.

    Raises:
        ForeignFormatError: invalid UTF-8 or JSON, or a value that breaks the schema.
    """
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as e:
        hint = _misspelling_hint(raw, str(e))
    except (msgspec.DecodeError, RecursionError):
        hint = ""
    try:
        validation.decode_json(raw, decoder, str(path), labeler, ForeignFormatError)
    except ForeignFormatError as err:
        raise ForeignFormatError(str(err) + hint) from None
    raise ForeignFormatError(f"{path}: not readable by this schema")  # pragma: no cover - decode failed above


_MISSING = re.compile(r"^Object missing required field `(\w+)`(?: - at `\$(.*)`)?$")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _misspelling_hint(raw: bytes, message: str) -> str:
    """' (the object has 'peple')' when the object missing a required key holds a key close to it."""
    m = _MISSING.match(message)
    if not m:
        return ""
    try:
        obj = msgspec.json.decode(raw)
        for name, index in _STEP.findall(m.group(2) or ""):
            obj = obj[int(index)] if index else obj[name]
    except (msgspec.DecodeError, KeyError, IndexError, TypeError, RecursionError):
        return ""
    if not isinstance(obj, dict):
        return ""
    close = difflib.get_close_matches(m.group(1), [k for k in obj if k != m.group(1)], n=1, cutoff=0.6)
    return f" (the object has {close[0]!r})" if close else ""


def read_text(path: Path) -> str:
    """A text file's content as UTF-8.

    Raises:
        ForeignFormatError: invalid UTF-8 (the message gives the line).
    """
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ForeignFormatError(f"{path}: line {line}: not UTF-8 text") from None
