"""Synthetic PoseTrack 2017 / 2018 sets (ground truth and predictions) made from a seed.

No PoseTrack data can be shipped with the tests, so sets are generated following the documented
recipe of the parity set's generator (``../shared/eval-parity/make_posetrack_set.py``'s docstring),
simplified: smoothly moving people (drift, sway, walking limbs) seen in 1280x720 frames, a dense
labelled window plus every 4th frame labelled, joints left unannotated at random or outside the
image, head boxes around head_top..neck, ignore regions with crowd people inside in some sequences;
predictions with Gaussian jitter in head sizes, outliers, left/right swaps, dropped joints and
people, duplicates, ghost tracks, crowd detections, ID switches and fragments, and scores that fall
with the error.

Example:
    >>> from posetrack.eval.synthetic import make_posetrack_set
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> names = make_posetrack_set(root, seed=1, sequences=2, frames=(20, 24), people=(2, 3))
    >>> sorted(p.name for p in (root / "gt").iterdir()) == sorted(names)
    True
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from posetrack.keypoints import POSETRACK17, POSETRACK18

__all__ = ["make_posetrack_set", "make_posetrack21_set"]

WIDTH, HEIGHT = 1280.0, 720.0
NUM_JOINTS = POSETRACK17.num_keypoints
#: A standing person in body heights, origin at the pelvis, y down; poseval joint order
#: (r/l ankle, knee, hip, wrist, elbow, shoulder; neck, nose, head top).
_BODY = np.array([[-0.08, 0.45], [-0.08, 0.23], [-0.07, 0.0], [0.07, 0.0], [0.08, 0.23], [0.08, 0.45],
                  [-0.16, -0.01], [-0.14, -0.18], [-0.11, -0.35], [0.11, -0.35], [0.14, -0.18], [0.16, -0.01],
                  [0.0, -0.4], [0.0, -0.47], [0.0, -0.55]])
#: How far each joint swings while walking (x, y); opposite limbs in opposite phase.
_SWING = np.array([[0.1, 0.02], [0.05, 0.01], [0, 0], [0, 0], [-0.05, 0.01], [-0.1, 0.02],
                   [-0.08, 0.02], [-0.04, 0.01], [0, 0], [0, 0], [0.04, 0.01], [0.08, 0.02],
                   [0, 0], [0.01, 0], [0, 0]])
#: Joint j of a mirrored person is joint _MIRROR[j] (left and right swapped).
_MIRROR = POSETRACK17.flip_permutation().tolist()


class _Walker:
    """One synthetic person: joints (15, 2) at frame t."""

    def __init__(self, rng: np.random.Generator, n_frames: int, inside: Optional[np.ndarray] = None):
        if inside is None:
            self.h = rng.uniform(160, 420)
            self.x0 = rng.uniform(120, WIDTH - 120)
            self.y0 = rng.uniform(0.45 * self.h + 20, HEIGHT - 0.45 * self.h - 10)
            self.v = rng.normal(0, [2.5, 0.6])
        else:  # a crowd person standing in an ignore polygon
            lo, hi = inside.min(axis=0), inside.max(axis=0)
            self.h = rng.uniform(0.35, 0.6) * (hi[1] - lo[1])
            self.x0, self.y0 = (lo + hi) / 2 + rng.uniform(-0.2, 0.2, 2) * (hi - lo)
            self.v = rng.normal(0, 0.2, 2)
        self.sway, self.sway_f, self.phase = rng.uniform(0, 25), rng.uniform(0.03, 0.12), rng.uniform(0, 2 * np.pi)
        self.step_f, self.step_a = rng.uniform(0.15, 0.45), rng.uniform(0.3, 1.2)
        self.facing = rng.uniform(0.55, 1.0) * (1 if rng.random() < 0.8 else -1)
        self.shape = rng.normal(0, 0.012, (NUM_JOINTS, 2))
        self.start, self.end = 0, n_frames - 1
        if inside is None and rng.random() < 0.3:
            if rng.random() < 0.5:
                self.start = int(rng.integers(1, max(2, n_frames // 2)))
            else:
                self.end = int(rng.integers(n_frames // 2, n_frames - 1))

    def present(self, t: int) -> bool:
        return self.start <= t <= self.end

    def joints(self, t: int) -> np.ndarray:
        cx = self.x0 + self.v[0] * t + self.sway * math.sin(self.sway_f * t + self.phase)
        cy = self.y0 + self.v[1] * t
        pose = (_BODY + self.shape + _SWING * math.sin(self.step_f * t) * self.step_a) * [self.facing, 1.0]
        return np.array([cx, cy]) + pose * self.h

    def head_box(self, joints: np.ndarray) -> Tuple[float, float, float, float]:
        cx, cy = (joints[14] + joints[12]) / 2
        w, h = 0.16 * self.h, 0.17 * self.h
        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _polygon(rng: np.random.Generator) -> np.ndarray:
    rx, ry = rng.uniform(90, 220), rng.uniform(80, 200)
    c = rng.uniform([rx / 2, ry / 2], [WIDTH - rx / 2, HEIGHT - ry / 2])
    n = int(rng.integers(4, 7))
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 2 * np.pi)
    return c + np.stack([rx * np.cos(angles), ry * np.sin(angles)], axis=1)


def _r(v: float, nd: int = 2) -> float:
    return float(round(float(v), nd))


def _prediction(rng: np.random.Generator, walker: _Walker, t: int, track_id: int, quality: float,
                jitter: float = 0.12) -> Dict[str, Any]:
    joints = walker.joints(t)
    box = walker.head_box(joints)
    head = 0.6 * math.hypot(box[2] - box[0], box[3] - box[1])
    swap = rng.random() < 0.02
    person_q = rng.normal(0, 0.5) + 3.0 * (quality - 0.5)
    points = []
    for j in range(NUM_JOINTS):
        if rng.random() < 0.05:
            continue
        x, y = joints[_MIRROR[j] if swap else j]
        if rng.random() < 0.06:   # an outlier 0.6-2.5 head sizes away
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 2.5) * head
            dx, dy = dist * math.cos(angle), dist * math.sin(angle)
        else:
            dx, dy = rng.normal(0, jitter * head, 2)
        err = math.hypot(dx, dy) / head
        score = 1.0 / (1.0 + math.exp(-(person_q + 1.0 - 3.0 * err + rng.normal(0, 0.8))))
        points.append({"id": [j], "x": [_r(x + dx, 3)], "y": [_r(y + dy, 3)], "score": [score]})
    return {"x1": [_r(box[0])], "y1": [_r(box[1])], "x2": [_r(box[2])], "y2": [_r(box[3])],
            "score": [1.0 / (1.0 + math.exp(-person_q))], "track_id": [int(track_id)],
            "annopoints": [{"point": points}]}


def _sequence(rng: np.random.Generator, number: int, frames: Tuple[int, int], people: Tuple[int, int],
              predict_unlabeled: bool) -> Tuple[str, List[dict], List[dict]]:
    n_frames = int(rng.integers(frames[0], frames[1] + 1))
    labeled = np.zeros(n_frames, dtype=bool)
    dense = min(30, n_frames)
    labeled[(n_frames - dense) // 2:(n_frames - dense) // 2 + dense] = True
    labeled[::4] = True
    folder = f"{number:06d}_mpii_test"
    walkers = [_Walker(rng, n_frames) for _ in range(int(rng.integers(people[0], people[1] + 1)))]
    gt_ids = [int(i) for i in rng.permutation(3 * len(walkers) + 5)[:len(walkers)]]
    polygons, crowd = [], []
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(1, 3))):
            poly, drift = _polygon(rng), rng.normal(0, 0.6, 2)
            polygons.append((poly, drift))
            crowd.extend(_Walker(rng, n_frames, inside=poly) for _ in range(int(rng.integers(1, 4))))
    next_id = [int(rng.integers(0, 50))]

    def fresh() -> int:
        next_id[0] += 1 + int(rng.integers(0, 3))
        return next_id[0]

    pred_ids = [fresh() for _ in walkers]
    others = [(w, fresh(), 0.6, 0.7) for w in crowd]              # (walker, id, quality, detected share)
    for _ in range(int(rng.poisson(1.0))):                       # short-lived false tracks
        g = _Walker(rng, n_frames)
        g.start = int(rng.integers(0, n_frames))
        g.end = int(min(n_frames - 1, g.start + rng.integers(1, max(2, n_frames // 3))))
        others.append((g, fresh(), 0.1, None))
    gt_frames, pred_frames = [], []
    for t in range(n_frames):
        here = [k for k, w in enumerate(walkers) if w.present(t)]
        if len(here) >= 2 and rng.random() < 0.02:          # two tracks swap ids
            a, b = rng.choice(here, 2, replace=False)
            pred_ids[a], pred_ids[b] = pred_ids[b], pred_ids[a]
        for k in here:
            if rng.random() < 0.005:                        # a track fragments
                pred_ids[k] = fresh()
        name = f"images/val/{folder}/{t:06d}.jpg"
        gt_people = [(walkers[k], gt_ids[k]) for k in here]
        gt_frames.append(_gt_frame(rng, name, t, bool(labeled[t]), polygons, gt_people))
        pred = {"image": [{"name": name}], "annorect": []}
        if labeled[t] or predict_unlabeled:
            rects = _predicted(rng, t, [(walkers[k], pred_ids[k]) for k in here], others, fresh)
            pred["annorect"] = [rects[i] for i in rng.permutation(len(rects)).tolist()]
        pred_frames.append(pred)
    return folder, gt_frames, pred_frames


def _gt_frame(rng: np.random.Generator, name: str, t: int, labeled: bool, polygons: list,
              people: List[Tuple[_Walker, int]]) -> dict:
    """Frame ``t`` of the GT: on a labeled frame, every walker present (joints in the image, 8% dropped)."""
    gt = {"image": [{"name": name}], "imgnum": [t + 1], "is_labeled": [int(labeled)], "annorect": []}
    if not labeled:
        return gt
    if polygons:
        gt["ignore_regions"] = [{"point": [{"x": [_r(x)], "y": [_r(y)]} for x, y in poly + drift * t]}
                                for poly, drift in polygons]
    for walker, track_id in people:
        joints = walker.joints(t)
        box = walker.head_box(joints)
        inside = (joints[:, 0] >= 0) & (joints[:, 0] < WIDTH) & (joints[:, 1] >= 0) & (joints[:, 1] < HEIGHT)
        keep = inside & (rng.random(NUM_JOINTS) >= 0.08)
        rect = {"x1": [_r(box[0])], "y1": [_r(box[1])], "x2": [_r(box[2])], "y2": [_r(box[3])],
                "track_id": [track_id]}
        if keep.any():
            rect["annopoints"] = [{"point": [{"id": [j], "x": [_r(joints[j, 0])], "y": [_r(joints[j, 1])],
                                              "is_visible": [1]} for j in np.flatnonzero(keep).tolist()]}]
        gt["annorect"].append(rect)
    return gt


def _predicted(rng: np.random.Generator, t: int, people: List[Tuple[_Walker, int]], others: list,
               fresh) -> List[dict]:
    """Frame ``t``'s predicted rects: the walkers (5% missed, 3% detected twice), then the crowd in ignore
    regions (``others`` with a detected share) and the short-lived false tracks (present frames only)."""
    rects = []
    for walker, track_id in people:
        if rng.random() < 0.05:
            continue
        rects.append(_prediction(rng, walker, t, track_id, 1.0))
        if rng.random() < 0.03:                     # a duplicate detection
            rects.append(_prediction(rng, walker, t, fresh(), 0.4, jitter=0.24))
    for walker, track_id, quality, share in others:
        if share is None:                           # a false track, while it lasts
            if walker.present(t):
                rects.append(_prediction(rng, walker, t, track_id, quality, jitter=0.18))
        elif rng.random() < share:
            rects.append(_prediction(rng, walker, t, track_id, quality))
    return rects


def make_posetrack_set(out: Union[str, os.PathLike], seed: int = 0, sequences: int = 3,
                       frames: Tuple[int, int] = (40, 60), people: Tuple[int, int] = (3, 5),
                       predict_unlabeled: bool = True, fmt: str = "2017") -> List[str]:
    """Write ``out/gt/<seq>.json`` and ``out/pred/<seq>.json`` for ``sequences`` synthetic sequences.

    Args:
        out: the folder (created).
        seed: everything is drawn from ``numpy.random.default_rng(seed)``.
        frames, people: (min, max) frames per sequence and people per sequence.
        predict_unlabeled: also write predictions on frames without GT (as trackers do).
        fmt: "2017" (annolist) or "2018" (COCO-style, converted by :func:`posetrack.eval.formats.to_posetrack18`).

    Returns:
        the file names written (one per sequence, the same in gt/ and pred/).
    """
    from posetrack.eval.formats import parse_posetrack, to_posetrack18

    def documents(number: int, folder: str, gt: List[dict], pred: List[dict]) -> Tuple[Any, Any]:
        docs = ({"annolist": gt}, {"annolist": pred})
        if fmt == "2018":
            docs = tuple(to_posetrack18(parse_posetrack(doc, f"{side}/{folder}.json"))
                         for side, doc in zip(("gt", "pred"), docs))
        return docs

    return _write_set(out, seed, sequences, frames, people, predict_unlabeled, documents)


def _write_set(out: Union[str, os.PathLike], seed: int, sequences: int, frames: Tuple[int, int],
               people: Tuple[int, int], predict_unlabeled: bool,
               documents: Callable[[int, str, List[dict], List[dict]], Tuple[Any, Any]]) -> List[str]:
    """What both set writers share: draw each sequence, write ``documents(number, folder, gt, pred)``
    (the GT file's JSON and the prediction's) as ``out/gt/<folder>.json`` and ``out/pred/<folder>.json``."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    for side in ("gt", "pred"):
        (out / side).mkdir(parents=True, exist_ok=True)
    names = []
    for s in range(sequences):
        number = 1000 + 7 * s + seed % 1000
        folder, gt, pred = _sequence(rng, number, frames, people, predict_unlabeled)
        for side, doc in zip(("gt", "pred"), documents(number, folder, gt, pred)):
            with open(out / side / f"{folder}.json", "w") as f:
                json.dump(doc, f, separators=(",", ":"))
        names.append(f"{folder}.json")
    return names


# ----------------------------------------------------------------------------- PoseTrack21

#: poseval joint id (0..14) of each PoseTrack21 keypoint slot (None: the ears, placeholders in PoseTrack21).
_SLOT_JOINT = tuple(POSETRACK17.names.index(n) if n in POSETRACK17.names else None for n in POSETRACK18.names)


def _keypoints21(rect: Dict[str, Any], scores: bool) -> Tuple[List[float], List[float]]:
    """17 x (x, y, v) and 17 scores of a 2017-style rect (missing joints and ears: 0, 0, 0 / score 0)."""
    points = {p["id"][0]: p for p in (rect.get("annopoints") or [{"point": []}])[0]["point"]}
    kps: List[float] = []
    conf: List[float] = []
    for j in _SLOT_JOINT:
        p = points.get(j) if j is not None else None
        kps += [p["x"][0], p["y"][0], 1] if p is not None else [0, 0, 0]
        conf.append(p["score"][0] if p is not None and scores else 0.0)
    return kps, conf


def _to_posetrack21(frames: List[dict], number: int, gt: bool, labeled: List[bool]) -> Dict[str, Any]:
    """A 2017-style frame list as a PoseTrack21 document (GT: is_labeled, ignore regions, person_id)."""
    images, annotations = [], []
    base = 10_000_000_000 + number * 10_000
    for t, frame in enumerate(frames):
        image: Dict[str, Any] = {"file_name": frame["image"][0]["name"], "id": base + t, "frame_id": base + t}
        if gt:
            regions = frame.get("ignore_regions", [])
            image.update(vid_id=f"{number:06d}", nframes=len(frames),
                         is_labeled=bool(labeled[t] and frame["annorect"]),     # the kit needs a GT person there
                         has_labeled_person=bool(frame["annorect"]),
                         ignore_regions_x=[[p["x"][0] for p in r["point"]] for r in regions],
                         ignore_regions_y=[[p["y"][0] for p in r["point"]] for r in regions])
        images.append(image)
        for rect in frame["annorect"]:
            kps, conf = _keypoints21(rect, scores=not gt)
            ann: Dict[str, Any] = {"image_id": base + t, "track_id": rect["track_id"][0], "keypoints": kps,
                                   "category_id": 1, "id": len(annotations)}
            x1, y1, x2, y2 = (rect[k][0] for k in ("x1", "y1", "x2", "y2"))
            if gt:
                ann.update(bbox_head=[x1, y1, _r(x2 - x1), _r(y2 - y1)], person_id=number * 100 + rect["track_id"][0])
            else:
                ann.update(scores=conf, score=rect["score"][0])
            annotations.append(ann)
    categories = [{"supercategory": "person", "id": 1, "name": "person",
                   "keypoints": list(POSETRACK18.names)}]
    return {"images": images, "annotations": annotations, "categories": categories}


def make_posetrack21_set(out: Union[str, os.PathLike], seed: int = 0, sequences: int = 3,
                         frames: Tuple[int, int] = (30, 60), people: Tuple[int, int] = (5, 7),
                         predict_unlabeled: bool = False) -> List[str]:
    """Write ``out/gt/<seq>.json`` and ``out/pred/<seq>.json`` in PoseTrack21 format (the same synthetic
    people as :func:`make_posetrack_set`, labeled frames marked with ``is_labeled``, ignore regions per
    image, ``bbox_head``, ``person_id``; predictions with 17 ``scores``). GT persons appear on labeled
    frames only (PoseTrack21 also boxes people on the others; the kit ignores them).

    Returns:
        the file names written (one per sequence, the same in gt/ and pred/).
    """
    def documents(number: int, folder: str, gt: List[dict], pred: List[dict]) -> Tuple[Any, Any]:
        labeled = [bool(f["is_labeled"][0]) for f in gt]
        return _to_posetrack21(gt, number, True, labeled), _to_posetrack21(pred, number, False, labeled)

    return _write_set(out, seed, sequences, frames, people, predict_unlabeled, documents)
