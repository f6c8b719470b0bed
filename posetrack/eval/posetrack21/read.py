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
from typing import Any, Dict, List, Tuple, Union

import numpy as np

from posetrack.eval.posetrack_file import PoseTrackFormatError
from posetrack.tracksfile.posetrack21 import KEYPOINTS, Annotation21, Document21, read_document

__all__ = ["MISSING_SCORE", "Sequence21", "read_sequence21", "pair_frames21"]

#: The kit's score for a person without ``scores`` (every joint).
MISSING_SCORE = -9999.0
NUM_SLOTS = len(KEYPOINTS)


@dataclass(frozen=True)
class Sequence21:
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

    @property
    def num_persons(self) -> int:
        return len(self.track_id)

    @property
    def person_frame(self) -> np.ndarray:
        """(N,) int64 frame index of every person."""
        return np.repeat(np.arange(self.num_frames), np.diff(self.frame_start))

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
    seen: Dict[Any, int] = {}
    regions, small = [], 0
    for t, image in enumerate(doc.images):
        where = f"frame {t} ({image.file_name})" if image.file_name else f"frame {t}"
        if image.id in seen:
            raise _fail(source, where, f"'id' {image.id!r} is also the id of frame {seen[image.id]} (a frame listed "
                                       f"twice)")
        seen[image.id] = t
        if gt and image.is_labeled is None:
            raise _fail(source, where, "'is_labeled' is missing (a GT frame says whether it is labeled)")
        rx, ry = image.ignore_regions_x, image.ignore_regions_y
        if (rx is None) != (ry is None) or rx is not None and (
                len(rx) != len(ry) or any(len(a) != len(b) for a, b in zip(rx, ry))):
            raise _fail(source, where, "'ignore_regions_x' and 'ignore_regions_y' must be given together, as lists "
                                       "of the same lengths (one x and one y list per polygon)")
        polygons = tuple(np.stack([np.asarray(x, np.float64), np.asarray(y, np.float64)], axis=1).reshape(-1, 2)
                         for x, y in zip(rx or (), ry or ()))
        small += sum(len(p) < 3 for p in polygons)
        regions.append(polygons)
    if small:
        warnings.append(f"{source}: {small} ignore polygon(s) with fewer than 3 points have no interior; they "
                        f"ignore nothing (the kit's shapely raises on them)")
    ids = tuple(im.id for im in doc.images)
    names = tuple(im.file_name for im in doc.images)
    labeled = np.fromiter((bool(im.is_labeled) for im in doc.images), bool, len(ids))
    return ids, names, labeled, tuple(regions)


def _grouped(doc: Document21, ids: Tuple[Any, ...], source: str, warnings: List[str]):
    """Annotation indexes grouped by frame (file order within a frame) and the frame starts."""
    frame_of = {image_id: t for t, image_id in enumerate(ids)}
    frame = np.fromiter((frame_of.get(a.image_id, -1) for a in doc.annotations), np.int64, len(doc.annotations))
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


def _persons(anns: List[Annotation21], where) -> Dict[str, np.ndarray]:
    n = len(anns)
    has_kps = np.fromiter((a.keypoints is not None for a in anns), bool, n)
    for i in np.flatnonzero(has_kps).tolist():
        if len(anns[i].keypoints) != 3 * NUM_SLOTS:
            raise PoseTrackFormatError(f"{where(i)}: 'keypoints' must be {3 * NUM_SLOTS} numbers (x, y, v for each of "
                                       f"the {NUM_SLOTS} keypoints), got {len(anns[i].keypoints)}")
    has_scores = np.fromiter((a.scores is not None for a in anns), bool, n)
    for i in np.flatnonzero(has_scores).tolist():
        if len(anns[i].scores) != NUM_SLOTS:
            raise PoseTrackFormatError(f"{where(i)}: 'scores' must be {NUM_SLOTS} numbers (one per keypoint), got "
                                       f"{len(anns[i].scores)}")
    keypoints = np.zeros((n, NUM_SLOTS, 3))
    if has_kps.any():
        keypoints[has_kps] = np.asarray([a.keypoints for a in anns if a.keypoints is not None],
                                        np.float64).reshape(-1, NUM_SLOTS, 3)
    scores = np.full((n, NUM_SLOTS), MISSING_SCORE)
    if has_scores.any():
        scores[has_scores] = np.asarray([a.scores for a in anns if a.scores is not None], np.float64)
    head = np.full((n, 4), np.nan)
    has_head = np.fromiter((a.bbox_head is not None for a in anns), bool, n)
    if has_head.any():
        head[has_head] = np.asarray([a.bbox_head for a in anns if a.bbox_head is not None], np.float64)
    has_tid = np.fromiter((a.track_id is not None for a in anns), bool, n)
    return dict(track_id=np.fromiter((a.track_id or 0 for a in anns), np.int64, n), has_track_id=has_tid,
                keypoints=keypoints[:, :, :2].copy(), has_keypoints=has_kps,
                integer_keypoints=np.fromiter((a.keypoints is None or _integer(a.keypoints) for a in anns), bool, n),
                scores=scores, head_box=head, has_head_box=has_head,
                box_score=np.fromiter((np.nan if a.score is None else a.score for a in anns), np.float64, n))


def _category_warning(doc: Document21, source: str, warnings: List[str]) -> None:
    person = [c for c in (doc.categories or ()) if c.keypoints]
    if person and tuple(person[0].keypoints) != tuple(KEYPOINTS):
        warnings.append(f"{source}: 'categories' names the keypoints {list(person[0].keypoints)[:5]}...; PoseTrack21 "
                        f"files hold {list(KEYPOINTS)[:5]}... in that order, and keypoints are read by position "
                        f"(as the kit reads them)")


def read_sequence21(path: Union[str, os.PathLike], gt: bool) -> Sequence21:
    """Read and check one PoseTrack21 file (``gt``: a ground-truth file, which must say which frames are labeled).

    Raises:
        OSError: the file cannot be read.
        PoseTrackFormatError: it breaks the format (one line naming the file, frame, annotation and field).
    """
    source = str(path)
    doc = read_document(path)
    warnings: List[str] = []
    ids, names, labeled, regions = _images(doc, source, gt, warnings)
    order, start = _grouped(doc, ids, source, warnings)
    anns = [doc.annotations[i] for i in order.tolist()]
    box_only = sum(a.keypoints is None for a in anns)
    if box_only:
        warnings.append(f"{source}: {box_only} annotation(s) without 'keypoints' read as box-only persons (no joint; "
                        f"the kit raises KeyError on them)")
    _category_warning(doc, source, warnings)
    frame_of = np.repeat(np.arange(len(ids)), np.diff(start))

    def where(i: int) -> str:
        t = int(frame_of[i])
        return f"{source}: {f'frame {t} ({names[t]})' if names[t] else f'frame {t}'}, annotation {int(order[i])}"

    return Sequence21(source=source, image_ids=ids, image_names=names, is_labeled=labeled, regions=regions,
                      frame_start=start, annotation=order.astype(np.int64), warnings=tuple(warnings),
                      **_persons(anns, where))


def pair_frames21(gt: Sequence21, pred: Sequence21) -> Tuple[np.ndarray, List[str]]:
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
