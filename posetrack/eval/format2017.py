"""PoseTrack 2017 (``annolist``) files packed into arrays, as poseval reads them (SPEC.md section 2)."""
from __future__ import annotations

from itertools import chain
from operator import attrgetter
from typing import Callable, Dict, List, Tuple

import numpy as np

from posetrack.eval import schema
from posetrack.eval.posetrack_file import (PoseTrackFormatError, PoseTrackSource, check_head_boxes, joint_ids, starts,
                                           unwrap)

__all__ = ["persons_2017", "pack_2017"]


def persons_2017(src: PoseTrackSource, picked: List[int]):
    frames = src._frames
    persons, regions, refs = [], [], []
    for f in picked:
        frame = frames[f] if f >= 0 else None
        rects = (frame.annorect or []) if frame is not None else []
        persons.append(rects)
        refs.extend(range(len(rects)))
        regions.append(_regions_2017(frame.ignore_regions) if frame is not None and frame.ignore_regions else ())
    return persons, regions, refs


def _regions_2017(regions: List[schema.Region17]) -> Tuple[np.ndarray, ...]:
    out = []
    for region in regions:
        x, _ = unwrap(region.point, "x")
        y, _ = unwrap(region.point, "y")
        out.append(np.stack([x, y], axis=1).reshape(-1, 2))
    return tuple(out)


def pack_2017(rects: List[schema.Rect17], label: Callable[[int], str]) -> Dict[str, np.ndarray]:
    n = len(rects)
    corners = [unwrap(rects, k) for k in ("x1", "y1", "x2", "y2")]
    head_box = np.stack([c[0] for c in corners], axis=1).reshape(n, 4)
    present = np.stack([c[1] for c in corners], axis=1).reshape(n, 4)
    has_head = present.all(axis=1)
    partial = np.flatnonzero(present.any(axis=1) & ~has_head)
    if len(partial):
        k = int(partial[0])
        missing = [c for c, p in zip(("x1", "y1", "x2", "y2"), present[k]) if not p]
        raise PoseTrackFormatError(f"{label(k)}: head box is incomplete: {', '.join(missing)} missing")
    head_box[~has_head] = np.nan
    check_head_boxes(head_box, has_head, label)
    track_id, has_track = unwrap(rects, "track_id", np.int64)
    box_score, has_box_score = unwrap(rects, "score")
    box_score[~has_box_score] = np.nan
    # poseval's keypoint test: annopoints is a non-empty list whose first element has a 'point' key.
    point_lists = [ap[0].point if ap else None for ap in map(attrgetter("annopoints"), rects)]
    has_ap = np.fromiter((p is not None for p in point_lists), bool, n)
    point_lists = [() if p is None else p for p in point_lists]
    npoints = list(map(len, point_lists))
    points = list(chain.from_iterable(point_lists))
    ids, has_id = unwrap(points, "id", np.int64)
    x, _ = unwrap(points, "x")
    y, _ = unwrap(points, "y")
    score, has_score = unwrap(points, "score")
    score[~has_score] = np.nan
    joint, is_joint = joint_ids(ids, has_id)
    return dict(track_id=track_id, has_track_id=has_track, head_box=head_box, has_head_box=has_head,
                box_score=box_score, has_box_score=has_box_score, has_annopoints=has_ap,
                point_start=starts(npoints), point_joint=joint, point_is_joint=is_joint,
                point_xy=np.stack([x, y], axis=1).reshape(-1, 2), point_score=score, point_has_score=has_score)
