"""PoseTrack 2018 (COCO-style) files packed into arrays, as poseval reads them (SPEC.md section 2)."""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Sequence

import msgspec
import numpy as np

from posetrack.eval import schema
from posetrack.eval.posetrack_file import (NAMES_2018, PoseTrackFormatError, PoseTrackSource, check_head_boxes,
                                           optional, starts)

__all__ = ["video_id", "categories_2018", "images_2018", "persons_2018", "pack_2018"]


def video_id(file_name: str) -> str:
    """poseval's video id: the name of the image's folder up to the first '_'."""
    folder = os.path.basename(os.path.dirname(file_name))
    return folder.split("_")[0]


def categories_2018(categories: Any, source: str) -> List[Optional[int]]:
    """Joint id (or None: dropped) of each keypoint slot of the single 'person' category."""
    if categories is msgspec.UNSET or len(categories) != 1:
        raise PoseTrackFormatError(f"{source}: categories: expected exactly one category (PoseTrack 2018 format)")
    cat = categories[0]
    if cat.name != "person":
        raise PoseTrackFormatError(f"{source}: categories[0].name: is {cat.name!r}, expected 'person'")
    kps = cat.keypoints
    if len(kps) not in (15, 17):
        raise PoseTrackFormatError(f"{source}: categories[0].keypoints: expected a list of 15 or 17 keypoint "
                                   f"names, got {len(kps)}")
    missing = [n for n in NAMES_2018 if n not in kps]
    if missing:
        raise PoseTrackFormatError(f"{source}: categories[0].keypoints: missing {', '.join(missing)}")
    index = {n: j for j, n in enumerate(NAMES_2018)}
    return [index.get(n) for n in kps]


def images_2018(images: List[schema.Image18], source: str, warnings: List[str]) -> List[schema.Image18]:
    """The images of the first video, in array order; a repeated image id is an error."""
    seen: Dict[Any, int] = {}
    for i, image in enumerate(images):
        if image.id in seen:
            raise PoseTrackFormatError(f"{source}: images {seen[image.id]} and {i} have the same id {image.id!r} "
                                       f"(a frame listed twice)")
        seen[image.id] = i
        if not image.file_name:         # poseval takes the video and the frame from it (and crashes without)
            raise PoseTrackFormatError(f"{source}: image {i}: 'file_name' is missing or empty (PoseTrack 2018 "
                                       f"images name their file: the video and frame are read from it)")
        rx, ry = image.ignore_regions_x, image.ignore_regions_y
        if (rx is None) != (ry is None):
            raise PoseTrackFormatError(f"{source}: image {i}: 'ignore_regions_x' and 'ignore_regions_y' must be "
                                       f"given together")
        if rx is not None and (len(rx) != len(ry) or any(len(a) != len(b) for a, b in zip(rx, ry))):
            raise PoseTrackFormatError(f"{source}: image {i}: 'ignore_regions_x' and 'ignore_regions_y' must be "
                                       f"lists of equal length")
    if not images:
        return []
    video = video_id(images[0].file_name)
    kept = [im for im in images if video_id(im.file_name) == video]
    if len(kept) < len(images):
        warnings.append(f"{source}: {len(images) - len(kept)} image(s) of other videos than {video!r} skipped "
                        f"(only the first video of a file is read, as poseval does)")
    return kept


def persons_2018(src: PoseTrackSource, picked: List[int]):
    frame_of = {image_id: f for f, image_id in enumerate(src.image_ids)}
    by_frame: List[List[int]] = [[] for _ in src.image_ids]
    for a, ann in enumerate(src.document.annotations):
        f = frame_of.get(ann.image_id)
        if f is not None:
            by_frame[f].append(a)
    anns = src.document.annotations
    persons, regions, refs = [], [], []
    for f in picked:
        mine = by_frame[f] if f >= 0 else []
        persons.append([anns[a] for a in mine])
        refs.extend(mine)
        image = src._frames[f] if f >= 0 else None
        if image is not None and image.ignore_regions_x:
            regions.append(tuple(np.stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)],
                                          axis=1).reshape(-1, 2)
                                 for x, y in zip(image.ignore_regions_x, image.ignore_regions_y)))
        else:
            regions.append(())
    return persons, regions, refs


def pack_2018(anns: List[schema.Annotation18], slots: Sequence[Optional[int]],
               label: Callable[[int], str]) -> Dict[str, np.ndarray]:
    n, k = len(anns), len(slots)
    boxes = [a.bbox_head for a in anns]
    has_head = np.fromiter((b is not None for b in boxes), bool, n)
    head_box = np.full((n, 4), np.nan)
    if has_head.any():
        xywh = np.asarray([b for b in boxes if b is not None], dtype=np.float64).reshape(-1, 4)
        head_box[has_head] = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    check_head_boxes(head_box, has_head, label)
    track_id, has_track = optional([a.track_id for a in anns], np.int64)
    box_score, has_box_score = optional([a.score for a in anns])
    box_score[~has_box_score] = np.nan
    has_kps = np.fromiter((a.keypoints is not None for a in anns), bool, n)
    with_kps = np.flatnonzero(has_kps)
    for i in with_kps.tolist():
        a = anns[i]
        if len(a.keypoints) != 3 * k:
            raise PoseTrackFormatError(f"{label(i)}: 'keypoints' must be a list of {3 * k} numbers (x, y, v per "
                                       f"category keypoint), got {len(a.keypoints)}")
        if a.scores and len(a.scores) != k:
            raise PoseTrackFormatError(f"{label(i)}: 'scores' has {len(a.scores)} values for {k} keypoints")
    xyv = np.asarray([anns[i].keypoints for i in with_kps.tolist()], dtype=np.float64).reshape(-1, k, 3)
    scores = np.full((len(with_kps), k), np.nan)
    scored = np.fromiter((bool(anns[i].scores) for i in with_kps.tolist()), bool, len(with_kps))
    if scored.any():
        scores[scored] = np.asarray([anns[i].scores for i in with_kps[scored].tolist()], dtype=np.float64)
    # Keypoints of other names (ears) are dropped; so is a keypoint with x == y == v == 0 (poseval).
    slot_joint = np.array([-1 if s is None else s for s in slots], dtype=np.int64)
    keep = (slot_joint >= 0)[None, :] & ~(xyv == 0).all(axis=2)
    npoints = np.zeros(n, dtype=np.int64)
    npoints[with_kps] = keep.sum(axis=1)
    joint = np.broadcast_to(slot_joint, keep.shape)[keep]
    score = scores[keep]
    return dict(track_id=track_id, has_track_id=has_track, head_box=head_box, has_head_box=has_head,
                box_score=box_score, has_box_score=has_box_score, has_annopoints=has_kps,
                point_start=starts(npoints.tolist()), point_joint=joint, point_is_joint=np.ones(len(joint), bool),
                point_xy=xyv[keep][:, :2].reshape(-1, 2), point_score=score, point_has_score=~np.isnan(score))
