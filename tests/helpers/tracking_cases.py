"""Siblings of the tracking cases (tests/data/cases/tracking3, tracking): the same kinds of scene,
drawn here with other geometry, colours and seeds.

Each scene is a small video (a background of random colour blocks, "people" as filled rectangles
whose 17 COCO keypoints are drawn as red dots, like the shared cases) and the poses a detector
would give, with the true person of every pose. :func:`score` applies the cases' rule: every
true person has exactly one track id, no id is shared by two people, and at most 5% of the real
poses are dropped (near-duplicates of one person count once: the best-scored one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from posetrack.keypoints import COCO
from posetrack.types import Frame, FrameResult, Poses, VideoInfo
from posetrack.tracksfile.codec import TrackFile, TracksHeader

# COCO joints inside a person's rectangle, as fractions of its width and height.
SHAPE = np.array([
    [0.50, 0.07], [0.45, 0.05], [0.55, 0.05], [0.38, 0.07], [0.62, 0.07], [0.20, 0.20], [0.80, 0.20],
    [0.12, 0.38], [0.88, 0.38], [0.10, 0.55], [0.90, 0.55], [0.32, 0.55], [0.68, 0.55], [0.32, 0.78],
    [0.68, 0.78], [0.32, 0.97], [0.68, 0.97]])


@dataclass
class Case:
    """A scene: its frames (RGB), the detector's poses per frame and the true person of each pose."""

    frames: List[np.ndarray]
    poses: List[Poses]
    truth: List[List[int]]
    fps: float = 25.0

    def poses_file(self) -> TrackFile:
        h, w = self.frames[0].shape[:2]
        header = TracksHeader(VideoInfo("case.mp4", self.fps, w, h, len(self.frames)), COCO, {})
        return TrackFile(header, tuple(FrameResult(k, p, None, time=k / self.fps) for k, p in enumerate(self.poses)))

    def video(self) -> List[Frame]:
        return [Frame(k, image, time=k / self.fps) for k, image in enumerate(self.frames)]


def background(rng, w: int, h: int, block: int = 8) -> np.ndarray:
    small = rng.integers(0, 256, (h // block + 1, w // block + 1, 3)).astype(np.uint8)
    return np.repeat(np.repeat(small, block, 0), block, 1)[:h, :w].copy()


class Scene:
    """Draws people (rectangles with joint dots) on a background and records their poses."""

    def __init__(self, rng, w: int, h: int):
        self.rng, self.w, self.h = rng, w, h
        self.frames: List[np.ndarray] = []
        self.poses: List[Poses] = []
        self.truth: List[List[int]] = []

    def frame(self, bg: np.ndarray, people: List[Tuple[int, np.ndarray, Tuple[int, int, int]]],
              extra: Optional[List[Tuple[int, np.ndarray, float]]] = None, noise: float = 0.0,
              score: float = 0.95) -> None:
        """people: (true id, box x1 y1 x2 y2, colour), far first; extra: (true id, box, score) poses only."""
        img = bg.copy()
        boxes, kps, ids, scores = [], [], [], []
        for pid, box, colour in people:
            x1, y1, x2, y2 = np.round(box).astype(int)
            img[max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] = colour
            kp = box[:2] + SHAPE * (box[2:] - box[:2])
            for x, y in np.round(kp).astype(int):
                img[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2] = (220, 20, 20)
            inside = (box[2] > 0) & (box[0] < self.w)
            if inside:
                boxes.append(box), kps.append(kp + self.rng.normal(0, noise, kp.shape)), ids.append(pid)
                scores.append(score)
        for pid, box, s in extra or []:
            kp = box[:2] + SHAPE * (box[2:] - box[:2])
            boxes.append(box), kps.append(kp + self.rng.normal(0, noise, kp.shape)), ids.append(pid), scores.append(s)
        n = len(boxes)
        self.frames.append(img)
        self.poses.append(Poses(np.array(boxes, np.float32).reshape(n, 4), np.array(scores, np.float32),
                                np.array(kps, np.float32).reshape(n, 17, 2), np.full((n, 17), 0.9, np.float32)))
        self.truth.append(ids)

    def case(self, fps: float = 25.0) -> Case:
        return Case(self.frames, self.poses, self.truth, fps)


def colour(rng) -> Tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(30, 230, 3))


def person_box(x: float, y: float, w: float, h: float) -> np.ndarray:
    return np.array([x, y, x + w, y + h], np.float64)


# ---------------------------------------------------------------- the kinds

def scene_cut(seed: int, n: int = 40) -> Case:
    """Two people per shot; a hard cut to another shot (other background, other people, maybe where
    the first two stood) part-way."""
    rng = np.random.default_rng(seed)
    w, h = 320, 240
    s = Scene(rng, w, h)
    cut = int(rng.integers(12, n - 12))
    shots = []
    for shot in range(2):
        bg = background(rng, w, h, int(rng.integers(6, 12)))
        size = rng.uniform(90, 150)
        left = rng.uniform(5, w / 2 - 0.45 * size - 10)          # one person in each half: they never meet
        xs = np.array([left, rng.uniform(w / 2 + 5, w - 0.45 * size - 5)])
        if shot == 1 and rng.random() < 0.5:
            xs = shots[0][1]                                      # the new shot's people where the old ones stood
        shots.append((bg, xs, size, rng.uniform(-0.6, 0.6, 2), [colour(rng), colour(rng)]))
    for k in range(n):
        shot = int(k >= cut)
        bg, xs, size, v, cols = shots[shot]
        t = k - (cut if shot else 0)
        people = [(2 * shot + i, person_box(xs[i] + v[i] * t, 40, 0.42 * size, size), cols[i]) for i in range(2)]
        s.frame(bg, people)
    return s.case()


def exit_reenter(seed: int) -> Case:
    """A walks out at one side; 0.6-1.4 s later B, who looks different, walks in there the other way
    and stays in view for at least 30 frames."""
    rng = np.random.default_rng(seed)
    w, h = 320, 240
    s = Scene(rng, w, h)
    bg = background(rng, w, h, int(rng.integers(6, 12)))
    right = rng.random() < 0.5
    speed = rng.uniform(3, 5)
    size = rng.uniform(80, 120)
    bw = 0.42 * size
    ca = np.array(colour(rng))
    cb = np.array(colour(rng))
    while np.abs(cb - ca).sum() < 200:                                         # another person, other colours
        cb = np.array(colour(rng))
    back = int(rng.integers(15, 35))
    n = int((w / 2 + bw) / speed) + 1 + back + 30 + int(bw / speed)
    for k in range(n):
        x_a = (w / 2 + speed * k) if right else (w / 2 - bw - speed * k)
        people = []
        if -bw < x_a < w:
            people.append((0, person_box(x_a, 60, bw, size), tuple(int(c) for c in ca)))
        gone = int((w / 2 + bw) / speed) + 1
        t = k - gone - back
        if t >= 0:
            x_b = (w - speed * t) if right else (-bw + speed * t)
            if -bw < x_b < w:
                people.append((1, person_box(x_b, 60, bw, size), tuple(int(c) for c in cb)))
        people = [(i, np.r_[max(b[0], 0), b[1], min(b[2], w), b[3]], c) for i, b, c in people]
        s.frame(bg, [p for p in people if p[1][2] - p[1][0] > 0.3 * bw])
    return s.case()


def duplicates(seed: int, n: int = 60) -> Case:
    """Three people of one look (two of them walking towards each other until their boxes overlap by
    IoU 0.4-0.8); in about half the frames each also has a near-duplicate pose, a few pixels off,
    scored lower."""
    rng = np.random.default_rng(seed)
    w, h = 480, 240
    s = Scene(rng, w, h)
    bg = background(rng, w, h)
    size = rng.uniform(100, 130)
    bw = 0.4 * size
    x = np.array([rng.uniform(20, 80), rng.uniform(200, 260), rng.uniform(360, 420)])
    end_gap = bw * rng.uniform(0.1, 0.4)                           # how far apart 0 and 1 end up
    closing = (x[1] - x[0] - end_gap) / (n - 1)
    share = rng.uniform(0.3, 0.7)
    v = np.array([share * closing, -(1 - share) * closing, rng.uniform(-1, 1)])
    grey = (190, 190, 190)
    for k in range(n):
        xs = x + v * k
        people = [(i, person_box(xs[i], 70, bw, size), grey) for i in range(3)]
        extra = []
        for i, box, _ in people:
            if rng.random() < 0.5:
                extra.append((i, box + np.r_[rng.normal(0, 3, 2), rng.normal(0, 3, 2)], 0.75))
        s.frame(bg, people, extra, noise=1.0)
        order = rng.permutation(len(s.truth[-1]))
        p = s.poses[-1]
        s.poses[-1] = p.select(order)
        s.truth[-1] = [s.truth[-1][i] for i in order]
    return s.case()


def tiny_people(seed: int, n: int = 60) -> Case:
    """Six walkers 10-14 pixels tall, 0.3-0.7 px per frame, keypoints with 1 px noise."""
    rng = np.random.default_rng(seed)
    w, h = 640, 360
    s = Scene(rng, w, h)
    bg = background(rng, w, h, int(rng.integers(6, 10)))
    size = rng.uniform(10, 14, 6)
    start = np.c_[rng.uniform(40, w - 60, 6), rng.uniform(30, h - 40, 6)]
    v = rng.uniform(0.3, 0.7, 6) * rng.choice([-1, 1], 6)
    cols = [(200, 30, 30)] * 6
    for k in range(n):
        people = [(i, person_box(start[i, 0] + v[i] * k, start[i, 1], 0.42 * size[i], size[i]), cols[i])
                  for i in range(6)]
        s.frame(bg, people, noise=1.0)
    return s.case()


def crowd(seed: int, n: int = 40) -> Case:
    """Two people side by side, walking together, their boxes overlapping by IoU 0.4-0.7."""
    rng = np.random.default_rng(seed)
    w, h = 480, 300
    s = Scene(rng, w, h)
    bg = background(rng, w, h)
    size = rng.uniform(120, 160)
    bw = 0.42 * size
    iou = rng.uniform(0.4, 0.7)
    gap = bw * (1 - iou) / (1 + iou)                     # offset giving that IoU for equal boxes
    x0, v = rng.uniform(60, 160), rng.uniform(1, 3)
    cols = [colour(rng), colour(rng)]
    for k in range(n):
        x = x0 + v * k
        people = [(0, person_box(x, 60, bw, size), cols[0]), (1, person_box(x + gap, 62, bw, size), cols[1])]
        s.frame(bg, people, noise=1.0)
    return s.case()


def crossing(seed: int, hidden: bool, n: int = 40) -> Case:
    """Two people of one look walk into each other, one passing in front of the other; with
    ``hidden`` the one behind is not detected while covered."""
    rng = np.random.default_rng(seed)
    w, h = 640, 360
    s = Scene(rng, w, h)
    bg = np.full((h, w, 3), 110, np.uint8)
    size = rng.uniform(140, 170)
    bw = 0.38 * size
    speed = rng.uniform(9, 15)
    meet = rng.uniform(0.4, 0.6) * w
    mid = n // 2
    texture = rng.integers(0, 256, (int(size) + 2, int(bw) + 2, 3)).astype(np.uint8)
    for k in range(n):
        xa, xb = meet - bw / 2 + speed * (k - mid), meet - bw / 2 - speed * (k - mid)
        a, b = person_box(xa, 100, bw, size), person_box(xb, 104, bw, size)   # b is nearer (lower)
        img = bg.copy()
        for box in (a, b):                                # far first
            x1, y1 = int(round(box[0])), int(round(box[1]))
            x2, y2 = x1 + texture.shape[1], y1 + texture.shape[0]
            c1, c2 = max(x1, 0), min(x2, w)
            if c2 > c1:
                img[y1:y2, c1:c2] = texture[:, c1 - x1:c2 - x1]
        covered = abs(xa - xb) < 0.5 * bw
        people = [(0, a), (1, b)] if not (hidden and covered) else [(1, b)]
        kps = [box[:2] + SHAPE * (box[2:] - box[:2]) + rng.normal(0, 1.0, (17, 2)) for _, box in people]
        m = len(people)
        s.frames.append(img)
        s.poses.append(Poses(np.array([box for _, box in people], np.float32).reshape(m, 4), np.full(m, 0.95, np.float32),
                             np.array(kps, np.float32).reshape(m, 17, 2), np.full((m, 17), 0.9, np.float32)))
        s.truth.append([i for i, _ in people])
    return s.case(fps=10.0)


# ---------------------------------------------------------------- scoring

def score(case: Case, tracks: TrackFile) -> Dict[str, int]:
    """The cases' rule: people with more than one id ("split"), ids owned by more than one person
    ("mixed"), and real poses dropped (one per person and frame, the best-scored counts)."""
    key = {}
    for k, (p, truth) in enumerate(zip(case.poses, case.truth)):
        for box, t in zip(np.round(p.boxes.astype(np.float64), 1), truth):
            key[(k, tuple(box))] = t
    best: Dict[Tuple[int, int], Tuple[float, int]] = {}
    for f in tracks.frames:
        for i, box in enumerate(np.round(f.poses.boxes.astype(np.float64), 1)):
            if f.interpolated is not None and f.interpolated[i]:
                continue
            t = key.get((f.frame, tuple(box)))
            if t is None:
                continue
            s = float(f.poses.box_scores[i])
            if (f.frame, t) not in best or s > best[(f.frame, t)][0]:
                best[(f.frame, t)] = (s, int(f.track_ids[i]))
    return identity_counts(best, sum(len(set(t)) for t in case.truth))


def identity_counts(best: Dict[Tuple[int, int], Tuple[float, int]], real: int) -> Dict[str, int]:
    """The counts of :func:`score` from ``best``: (frame, true person) -> (score, track id) of the
    best-scored pose kept for that person in that frame; ``real`` true (frame, person) pairs."""
    ids_of: Dict[int, set] = {}
    owners: Dict[int, set] = {}
    for (_, t), (_, tid) in best.items():
        ids_of.setdefault(t, set()).add(tid)
        owners.setdefault(tid, set()).add(t)
    return {"split": sum(len(v) > 1 for v in ids_of.values()), "mixed": sum(len(v) > 1 for v in owners.values()),
            "dropped": real - len(best), "real": real, "people": len(ids_of)}


def perfect(s: Dict[str, int]) -> bool:
    return s["split"] == 0 and s["mixed"] == 0 and s["dropped"] <= 0.05 * s["real"]
