"""Read PoseTrack21 files into arrays, checked as strictly as the 2017/2018 files, and pair their frames.

What is read follows the official kit (SPEC.md section 1 of the project's reference data): frame t is
the t-th GT image; a person's 17 keypoints are x, y, v triples (v ignored); ``scores`` are 17
confidences (-9999 each when absent); GT persons have a ``bbox_head`` ``[x, y, w, h]``.

Where the kit crashes or silently misreads, we decided (each a one-line error naming the file, frame,
annotation and field, or a warning):

* errors: ``keypoints`` not 51 numbers, ``scores`` not 17, two images with one id, a GT image
  without ``is_labeled``, ``ignore_regions_x`` without ``ignore_regions_y`` (or lists of other
  lengths), an unknown key at a container level (see :mod:`posetrack.tracksfile.posetrack21`);
* warnings: annotations whose ``image_id`` names no image (skipped; the kit raises KeyError),
  annotations without ``keypoints`` (box-only persons; the kit raises KeyError), ignore polygons
  with fewer than 3 points (they ignore nothing; shapely raises), ``categories`` naming the
  keypoints in another order than PoseTrack21's (the kit reads keypoints by position, as we do).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Dict, List, Tuple, Union

import numpy as np

from posetrack.eval.posetrack_file import PersonsByFrame, PoseTrackFormatError
from posetrack.tracksfile.posetrack21 import KEYPOINTS, Annotation21, Document21, read_document

__all__ = ["MISSING_SCORE", "Sequence21", "Source21", "load_sequence21", "pack_sequence21", "read_sequence21",
           "pair_frames21"]

#: The kit's score for a person without ``scores`` (every joint).
MISSING_SCORE = -9999.0
NUM_SLOTS = len(KEYPOINTS)


@dataclass(frozen=True)
class Sequence21(PersonsByFrame):
    """One PoseTrack21 file as arrays, frames in file order, persons grouped by frame in file order.

    Attributes:
        source: the file path (for messages).
        image_ids: (T,) the images' ids; image_names: (T,) their ``file_name`` ('' where absent).
        is_labeled: (T,) bool (False where a prediction file gives none).
        regions: per frame, a tuple of (K, 2) float64 ignore polygons (x, y vertices).
        frame_start: (T + 1,) int64; the persons of frame t are rows ``frame_start[t]:frame_start[t+1]``.
        annotation: (N,) int64 index of each person in the file's ``annotations`` (for messages).
        track_id: (N,) int64 (0 where ``has_track_id`` is False); has_track_id: (N,) bool.
        keypoints: (N, 17, 2) float64 image pixels, PoseTrack21 slot order (0 for box-only persons).
        has_keypoints: (N,) bool, the person has a ``keypoints`` list.
        integer_keypoints: (N,) bool, every value of its ``keypoints`` list is a JSON integer.
        scores: (N, 17) float64 (:data:`MISSING_SCORE` where the person has no ``scores``).
        head_box: (N, 4) float64 ``[x, y, w, h]`` (NaN where ``has_head_box`` is False); has_head_box: (N,).
        box_score: (N,) float64 ``score`` (NaN where absent).
        warnings: problems that did not stop reading, each naming the file.
    """

    source: str
    image_ids: Tuple[Any, ...]
    image_names: Tuple[str, ...]
    is_labeled: np.ndarray
    regions: Tuple[Tuple[np.ndarray, ...], ...]
    frame_start: np.ndarray
    annotation: np.ndarray
    track_id: np.ndarray
    has_track_id: np.ndarray
    keypoints: np.ndarray
    has_keypoints: np.ndarray
    integer_keypoints: np.ndarray
    scores: np.ndarray
    head_box: np.ndarray
    has_head_box: np.ndarray
    box_score: np.ndarray
    warnings: Tuple[str, ...] = ()

    @property
    def num_frames(self) -> int:
        return len(self.image_ids)

    def frame_label(self, t: int) -> str:
        """'frame 3 (images/.../000003.jpg)' for messages."""
        return f"frame {t} ({self.image_names[t]})" if self.image_names[t] else f"frame {t}"

    def where(self, n: int) -> str:
        """'<file>: frame 3 (name), annotation 17' for person n."""
        t = int(np.searchsorted(self.frame_start, n, side="right")) - 1
        return f"{self.source}: {self.frame_label(t)}, annotation {int(self.annotation[n])}"


def _fail(source: str, where: str, message: str) -> PoseTrackFormatError:
    return PoseTrackFormatError(f"{source}: {where}: {message}")


def _images(doc: Document21, source: str, gt: bool, warnings: List[str]):
    """(ids, names, is_labeled, regions) of the images, checked."""
    images = doc.images
    ids = tuple(im.id for im in images)
    names = tuple(im.file_name for im in images)

    def where(t: int) -> str:
        return f"frame {t} ({names[t]})" if names[t] else f"frame {t}"

    if len(set(ids)) < len(ids):
        seen: Dict[Any, int] = {}
        t = next(t for t, i in enumerate(ids) if seen.setdefault(i, t) != t)
        raise _fail(source, where(t), f"'id' {ids[t]!r} is also the id of frame {seen[ids[t]]} (a frame listed twice)")
    labeled_flags = [im.is_labeled for im in images]
    if gt and None in labeled_flags:
        raise _fail(source, where(labeled_flags.index(None)), "'is_labeled' is missing (a GT frame says whether it "
                                                              "is labeled)")
    regions: List[Tuple[np.ndarray, ...]] = [()] * len(images)
    small = 0
    for t, im in enumerate(images):
        rx, ry = im.ignore_regions_x, im.ignore_regions_y
        if not rx and not ry and (rx is None) == (ry is None):
            continue
        if (rx is None) != (ry is None) or len(rx) != len(ry) or any(len(a) != len(b) for a, b in zip(rx, ry)):
            raise _fail(source, where(t), "'ignore_regions_x' and 'ignore_regions_y' must be given together, as lists "
                                          "of the same lengths (one x and one y list per polygon)")
        regions[t] = tuple(np.array([x, y], np.float64).T.reshape(-1, 2) for x, y in zip(rx, ry))
        small += sum(len(x) < 3 for x in rx)
    if small:
        warnings.append(f"{source}: {small} ignore polygon(s) with fewer than 3 points have no interior; they "
                        f"ignore nothing (the kit's shapely raises on them)")
    labeled = np.array([bool(v) for v in labeled_flags], dtype=bool).reshape(-1)
    return ids, names, labeled, tuple(regions)


def _grouped(doc: Document21, ids: Tuple[Any, ...], source: str, warnings: List[str]):
    """Annotation indexes grouped by frame (file order within a frame) and the frame starts."""
    frame_of = {image_id: t for t, image_id in enumerate(ids)}
    lookup = frame_of.get
    frame = np.array([lookup(a.image_id, -1) for a in doc.annotations], dtype=np.int64).reshape(-1)
    orphans = int((frame < 0).sum())
    if orphans:
        first = int(np.flatnonzero(frame < 0)[0])
        warnings.append(f"{source}: {orphans} annotation(s) name an image id that no image has (first: annotation "
                        f"{first}, image_id {doc.annotations[first].image_id!r}); skipped (the kit raises KeyError)")
    order = np.argsort(frame, kind="stable")
    order = order[frame[order] >= 0]
    counts = np.bincount(frame[order], minlength=len(ids))
    start = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return order, start


def _integer(values: List[Any]) -> bool:
    """Every value is a JSON integer (stops at the first float: predictions' first value usually is one)."""
    for v in values:
        if type(v) is not int:
            return False
    return True


def _check_lengths(anns: List[Annotation21], where) -> int:
    """51 keypoint values and 17 scores per annotation (the kit reshapes them and crashes otherwise).

    Returns:
        the number of annotations without ``keypoints`` (box-only persons).
    """
    absent = {}
    for field, size, words in (("keypoints", 3 * NUM_SLOTS, f"x, y, v for each of the {NUM_SLOTS} keypoints"),
                               ("scores", NUM_SLOTS, "one per keypoint")):
        lengths = [len(v) if v is not None else -1 for v in map(attrgetter(field), anns)]
        absent[field] = lengths.count(-1)
        if lengths.count(size) + absent[field] < len(lengths):
            i = next(i for i, n in enumerate(lengths) if n not in (size, -1))
            raise PoseTrackFormatError(f"{where(i)}: '{field}' must be {size} numbers ({words}), got {lengths[i]}")
    return absent["keypoints"]


def _stack(values: List[Any], present: np.ndarray, shape: Tuple[int, ...], fill: float) -> np.ndarray:
    out = np.full((len(values),) + shape, fill)
    if present.any():
        out[present] = np.array([v for v in values if v is not None], np.float64).reshape((-1,) + shape)
    return out


def _persons(anns: List[Annotation21], need_integer: bool) -> Dict[str, np.ndarray]:
    n = len(anns)
    kps = [a.keypoints for a in anns]
    scores = [a.scores for a in anns]
    heads = [a.bbox_head for a in anns]
    tids = [a.track_id for a in anns]
    box_scores = [a.score for a in anns]
    has_kps = np.array([v is not None for v in kps], bool).reshape(-1)
    keypoints = _stack(kps, has_kps, (NUM_SLOTS, 3), 0.0)
    has_tid = np.array([v is not None for v in tids], bool).reshape(-1)
    integer = np.array([v is None or _integer(v) for v in kps] if need_integer else [False] * n, bool).reshape(-1)
    has_head = np.array([v is not None for v in heads], bool).reshape(-1)
    return dict(track_id=np.array([v or 0 for v in tids], np.int64).reshape(-1), has_track_id=has_tid,
                keypoints=keypoints[:, :, :2].copy(), has_keypoints=has_kps, integer_keypoints=integer,
                scores=_stack(scores, np.array([v is not None for v in scores], bool).reshape(-1), (NUM_SLOTS,),
                              MISSING_SCORE),
                head_box=_stack(heads, has_head, (4,), np.nan), has_head_box=has_head,
                box_score=np.array([np.nan if v is None else v for v in box_scores], np.float64).reshape(-1))


def _category_warning(doc: Document21, source: str, warnings: List[str]) -> None:
    person = [c for c in (doc.categories or ()) if c.keypoints]
    if person and tuple(person[0].keypoints) != tuple(KEYPOINTS):
        warnings.append(f"{source}: 'categories' names the keypoints {list(person[0].keypoints)[:5]}...; PoseTrack21 "
                        f"files hold {list(KEYPOINTS)[:5]}... in that order, and keypoints are read by position "
                        f"(as the kit reads them)")


@dataclass(frozen=True)
class Source21:
    """A decoded, checked PoseTrack21 file whose persons are not yet packed into arrays."""

    source: str
    document: Document21
    image_ids: Tuple[Any, ...]
    image_names: Tuple[str, ...]
    is_labeled: np.ndarray
    regions: Tuple[Tuple[np.ndarray, ...], ...]
    order: np.ndarray           # annotation indexes grouped by frame
    frame_start: np.ndarray
    warnings: Tuple[str, ...]

    @property
    def num_frames(self) -> int:
        return len(self.image_ids)

    def frame_label(self, t: int) -> str:
        """'frame 3 (images/.../000003.jpg)' for messages."""
        return f"frame {t} ({self.image_names[t]})" if self.image_names[t] else f"frame {t}"


def load_sequence21(path: Union[str, os.PathLike], gt: bool) -> Source21:
    """Decode and check one PoseTrack21 file (``gt``: a ground-truth file, which must say which frames are
    labeled); every annotation is checked, whether its frame is scored or not.

    Raises:
        OSError: the file cannot be read.
        PoseTrackFormatError: it breaks the format (one line naming the file, frame, annotation and field).
    """
    source = str(path)
    doc = read_document(path)
    warnings: List[str] = []
    ids, names, labeled, regions = _images(doc, source, gt, warnings)
    order, start = _grouped(doc, ids, source, warnings)
    anns = doc.annotations
    frame_of = np.empty(len(anns), dtype=np.int64)
    frame_of[order] = np.repeat(np.arange(len(ids)), np.diff(start))

    def where(i: int) -> str:
        t = int(frame_of[i])
        return f"{source}: {f'frame {t} ({names[t]})' if names[t] else f'frame {t}'}, annotation {i}"

    box_only = _check_lengths(anns, where)
    if box_only:
        warnings.append(f"{source}: {box_only} annotation(s) without 'keypoints' read as box-only persons (no joint; "
                        f"the kit raises KeyError on them)")
    _category_warning(doc, source, warnings)
    return Source21(source, doc, ids, names, labeled, regions, order, start, tuple(warnings))


def pack_sequence21(src: Source21, frames: np.ndarray, gt: bool) -> Sequence21:
    """The persons of the frames where ``frames`` (a (T,) bool mask) is True, as a :class:`Sequence21`
    (the other frames come back empty)."""
    counts = np.diff(src.frame_start) * frames
    start = np.zeros(src.num_frames + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    take = src.order[np.repeat(frames, np.diff(src.frame_start))]
    anns = src.document.annotations
    return Sequence21(source=src.source, image_ids=src.image_ids, image_names=src.image_names,
                      is_labeled=src.is_labeled, regions=src.regions, frame_start=start, annotation=take,
                      warnings=src.warnings, **_persons([anns[i] for i in take.tolist()], not gt))


def read_sequence21(path: Union[str, os.PathLike], gt: bool) -> Sequence21:
    """:func:`load_sequence21` then :func:`pack_sequence21` of every frame."""
    src = load_sequence21(path, gt)
    return pack_sequence21(src, np.ones(src.num_frames, dtype=bool), gt)


def pair_frames21(gt: Source21, pred: Source21) -> Tuple[np.ndarray, List[str]]:
    """The prediction frame of each GT frame, paired by image id.

    The kit pairs by position and asserts equal ids on labeled frames; pairing by id gives the same
    pairs wherever the kit runs, and also scores a prediction file that lists its images in another
    order (with a warning) or lists extra images (ignored with a warning, as the kit ignores images
    past the GT's count).

    Returns:
        order (T,) int64: the prediction frame of GT frame t, or -1 (only for unlabeled GT frames);
        warnings.

    Raises:
        PoseTrackFormatError: a labeled GT frame has no prediction image with its id.
    """
    index = {image_id: t for t, image_id in enumerate(pred.image_ids)}
    order = np.fromiter((index.get(i, -1) for i in gt.image_ids), np.int64, gt.num_frames)
    missing = np.flatnonzero(gt.is_labeled & (order < 0))
    if len(missing):
        t = int(missing[0])
        raise PoseTrackFormatError(f"{pred.source}: no image with the id {gt.image_ids[t]!r} of the GT's labeled "
                                   f"{gt.frame_label(t)} ({len(missing)} labeled frame(s) missing; a prediction file "
                                   f"lists every image of its GT file)")
    warnings = []
    extra = pred.num_frames - int((order >= 0).sum())
    if extra:
        warnings.append(f"{pred.source}: {extra} image(s) whose id is not in the GT file {gt.source}; ignored with "
                        f"their annotations (as the kit ignores images past the GT's)")
    labeled = np.flatnonzero(gt.is_labeled)
    if len(labeled) and (order[labeled] != labeled).any():
        warnings.append(f"{pred.source}: the images are listed in another order than in the GT file; frames are "
                        f"paired by image id (the kit pairs them by position and stops on this file)")
    return order, warnings
