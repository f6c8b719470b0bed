"""Other tools' pose and box files, read as posetrack's own types.

One module per tool, each documenting the format it reads (with its source) and validating as
strictly as the tracks-file reader: :mod:`~posetrack.io.formats.mmpose`,
:mod:`~posetrack.io.formats.alphapose`, :mod:`~posetrack.io.formats.openpose`,
:mod:`~posetrack.io.formats.ultralytics` (poses, all mapped to COCO-17) and
:mod:`~posetrack.io.formats.motchallenge` (boxes only). :func:`detect_format` tells them apart by
content; :func:`read_poses` and :func:`read_boxes` read any of them.

The tracks file (``posetrack``) and COCO detection results (``coco``, the ``--boxes`` file) are
named here too, but read by :mod:`posetrack.tracksfile.codec` and :mod:`posetrack.pose.detector`.

Example:
    >>> from pathlib import Path
    >>> from posetrack.io.formats import Placement, detect_format, read_poses
    >>> fmt = detect_format(Path("alphapose-results.json"))                     # doctest: +SKIP
    >>> frames = read_poses(Path("alphapose-results.json"), fmt, Placement())   # doctest: +SKIP
    >>> frame, poses = frames[0]    # 0-based frame index, COCO-17 Poses           # doctest: +SKIP
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Tuple

import msgspec

from posetrack.io.formats.common import ForeignFormatError, Placement

if TYPE_CHECKING:
    from posetrack.types import Detections, Poses

__all__ = ["InputFormat", "INPUT_FORMATS", "detect_format", "read_poses", "read_boxes", "check_format",
           "Placement", "ForeignFormatError"]


@dataclass(frozen=True)
class InputFormat:
    """A file format posetrack reads.

    Attributes:
        name: the name ``input_format`` takes.
        title: what it is, for help and messages.
        poses: it holds keypoints (``track`` reads it); False: boxes only (``--boxes`` only).
    """

    name: str
    title: str
    poses: bool


INPUT_FORMATS: Dict[str, InputFormat] = {f.name: f for f in (
    InputFormat("posetrack", "posetrack tracks file (JSON)", True),
    InputFormat("coco", "COCO detection results (JSON list of image_id, bbox, score)", False),
    InputFormat("mmpose", "mmpose MMPoseInferencer predictions (JSON, or a folder of per-image JSON)", True),
    InputFormat("alphapose", "AlphaPose results (alphapose-results.json)", True),
    InputFormat("openpose", "OpenPose --write_json folder (*_keypoints.json)", True),
    InputFormat("ultralytics", "Ultralytics pose results (JSON list per frame, or a save_txt labels folder)", True),
    InputFormat("mot", "MOTChallenge det.txt / gt.txt boxes", False),
)}

# The reader modules are imported where they are used: the command line lists INPUT_FORMATS in
# its help without loading the readers and their schemas (about 80 ms).
_POSE_READERS = ("mmpose", "alphapose", "openpose", "ultralytics")


def check_format(name: str) -> InputFormat:
    """The :class:`InputFormat` called ``name``.

    Raises:
        ForeignFormatError: an unknown name (the message gives the closest and the valid names).
    """
    if name in INPUT_FORMATS:
        return INPUT_FORMATS[name]
    close = difflib.get_close_matches(name, list(INPUT_FORMATS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ForeignFormatError(f"unknown input format {name!r}{hint}; valid: {', '.join(INPUT_FORMATS)}")


_EXPECTED = ("a posetrack tracks file, mmpose predictions, AlphaPose results, an OpenPose --write_json folder, "
             "Ultralytics results JSON or labels folder, COCO detection results or MOTChallenge det.txt/gt.txt")


def detect_format(path: Path) -> str:
    """The name of the format of ``path`` (a file or folder), told from its content.

    Raises:
        ForeignFormatError: the content matches no format read here (the message lists them).
        OSError: the file cannot be read.
    """
    from posetrack.io.formats import motchallenge, openpose, ultralytics

    path = Path(path)
    if path.is_dir():
        if openpose.looks_like(path):
            return "openpose"
        if ultralytics.looks_like_labels(path):
            return "ultralytics"
        if any(path.glob("*.json")):
            return "mmpose"
        raise ForeignFormatError(f"{path}: a folder without *_keypoints.json (OpenPose), .txt labels (Ultralytics) "
                                 "or per-image .json files (mmpose)")
    with open(path, "rb") as f:
        head = f.read(4096)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"{", b"["):
        return _detect_json(path, path.read_bytes())
    text = head.decode("utf-8", errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if motchallenge.looks_like(first):
        return "mot"
    raise ForeignFormatError(f"{path}: cannot tell its format from its content; expected {_EXPECTED} "
                             "(or name it: input_format)")


def _detect_json(path: Path, raw: bytes) -> str:
    from posetrack.io.formats import alphapose, mmpose

    try:
        first = msgspec.json.decode(raw, type=Dict[str, msgspec.Raw]) if raw.lstrip()[:1] == b"{" else None
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        first = None
    if first is not None:
        keys = set(first)
        if "predictions" in keys:
            return "mmpose"
        if "people" in keys:
            return "openpose"
        return "posetrack"   # the tracks reader names what is wrong (a PoseTrack annotation file, a bad key)
    try:
        items = msgspec.json.decode(raw, type=List[msgspec.Raw])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return "posetrack"   # not JSON: the tracks reader says where
    if not items:
        raise ForeignFormatError(f"{path}: an empty list: its format cannot be told from its content "
                                 "(name it: input_format)")
    item = bytes(items[0]).lstrip()
    if item[:1] == b"[":
        return "ultralytics"
    try:
        keys = set(msgspec.json.decode(item, type=Dict[str, msgspec.Raw]))
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        keys = set()
    if mmpose.looks_like(dict.fromkeys(keys)):
        return "mmpose"
    if alphapose.looks_like(dict.fromkeys(keys)):
        return "alphapose"
    if "image_id" in keys and "bbox" in keys:
        return "coco"
    raise ForeignFormatError(f"{path}: a JSON list whose entries have the keys {sorted(keys)}; expected {_EXPECTED} "
                             "(or name it: input_format)")


def read_poses(path: Path, input_format: str, placement: Placement = Placement()) -> List[Tuple[int, Poses]]:
    """``(0-based frame index, COCO-17 Poses)`` for each frame another tool's file holds, in frame order.

    Args:
        path: the file or folder.
        input_format: ``mmpose``, ``alphapose``, ``openpose`` or ``ultralytics`` (see :func:`detect_format`).
        placement: what the video tells (frame size, image names), for files that need it.

    Raises:
        ForeignFormatError: a format without keypoints or read elsewhere, a file that breaks its
            format, or one that cannot be placed without the video.
    """
    fmt = check_format(input_format)
    if fmt.name not in _POSE_READERS:
        what = "holds boxes only (a run's boxes file)" if not fmt.poses else "is read by the tracks-file reader"
        raise ForeignFormatError(f"{path}: {fmt.title} {what}")
    from posetrack.io.formats import alphapose, mmpose, openpose, ultralytics

    readers = {"mmpose": mmpose, "alphapose": alphapose, "openpose": openpose, "ultralytics": ultralytics}
    frames = readers[fmt.name].read_poses(Path(path), placement)
    return sorted(frames, key=lambda item: item[0])


def read_boxes(path: Path, input_format: str, placement: Placement = Placement()) -> List[Tuple[int, Detections]]:
    """``(0-based frame index, Detections)`` for each frame of another tool's file, in frame order.

    Pose formats give their people's boxes and box scores; ``mot`` gives its boxes.

    Raises:
        ForeignFormatError: as :func:`read_poses`; ``coco`` and ``posetrack`` are read elsewhere.
    """
    fmt = check_format(input_format)
    if fmt.name == "mot":
        from posetrack.io.formats import motchallenge

        return motchallenge.read_boxes(Path(path))
    if fmt.name not in _POSE_READERS:
        raise ForeignFormatError(f"{path}: {fmt.title} is not read here")
    from posetrack.types import Detections

    return [(f, Detections(p.boxes, p.box_scores)) for f, p in read_poses(path, fmt.name, placement)]
