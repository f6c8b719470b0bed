"""Seeded stick-figure keypoint data sets in COCO format, for tests and demos (no real data needed).

Each image shows 1-3 front-facing stick figures on a noise background: a head (a disc with two
eyes and a nose), shoulders, arms, hips and legs drawn as thick lines. Left and right limbs share
their colours, so - as with people - only the body's layout says which side is which (the figure
faces the camera: its left side is on the image's right). The 17 COCO keypoints are the joints
drawn, all labelled (v = 2), so a network can learn them from a few hundred images.

Example:
    >>> from posetrack.training.synthetic import make_stick_figures
    >>> root = make_stick_figures("toy", train=64, val=16, seed=0)   # doctest: +SKIP
    >>> # posetrack train --config tiny_synthetic --data toy --out runs/toy
    >>> clip = make_stick_clip("toy_clip")      # frames/ and dets.json: `posetrack run toy_clip/frames --boxes ...`
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Tuple, Union

import numpy as np

__all__ = ["make_stick_figures", "make_stick_clip", "stick_figure"]

# limbs drawn (COCO slots) and their colours (RGB); a left limb and its right twin share a colour
_LIMBS = (((5, 7), (200, 60, 60)), ((7, 9), (230, 150, 40)), ((6, 8), (200, 60, 60)), ((8, 10), (230, 150, 40)),
          ((11, 13), (60, 90, 220)), ((13, 15), (60, 190, 220)), ((12, 14), (60, 90, 220)), ((14, 16), (60, 190, 220)),
          ((5, 6), (240, 240, 240)), ((11, 12), (240, 240, 240)), ((5, 11), (90, 200, 90)), ((6, 12), (90, 200, 90)))


def stick_figure(rng: np.random.Generator, height: float, x: float, y: float) -> np.ndarray:
    """The 17 COCO keypoints (x, y) of a front-facing figure ``height`` px tall with its feet's midpoint at (x, y)."""
    u = height / 8.0                                     # a head's height
    hip_y, shoulder_y = y - 4.0 * u, y - 6.6 * u
    half_hips, half_shoulders = 0.55 * u * rng.uniform(0.8, 1.2), 1.0 * u * rng.uniform(0.8, 1.2)
    sway = rng.uniform(-0.4, 0.4) * u
    kp = np.zeros((17, 2))
    kp[11], kp[12] = (x + half_hips, hip_y), (x - half_hips, hip_y)                  # left hip on the image right
    kp[5], kp[6] = (x + half_shoulders + sway, shoulder_y), (x - half_shoulders + sway, shoulder_y)
    neck = (kp[5] + kp[6]) / 2
    head = neck + (rng.uniform(-0.2, 0.2) * u, -1.1 * u)
    kp[0] = head + (0, 0.15 * u)
    kp[1], kp[2] = head + (0.22 * u, -0.15 * u), head + (-0.22 * u, -0.15 * u)
    kp[3], kp[4] = head + (0.5 * u, 0), head + (-0.5 * u, 0)
    for side, sign in ((0, 1.0), (1, -1.0)):            # arms and legs, each side its own angles
        a1, a2 = rng.uniform(-0.3, 1.6), rng.uniform(-0.6, 1.4)
        elbow = kp[5 + side] + 1.5 * u * np.array([sign * np.sin(a1), np.cos(a1)])
        kp[7 + side] = elbow
        kp[9 + side] = elbow + 1.3 * u * np.array([sign * np.sin(a1 + a2), np.cos(a1 + a2)])
        l1, l2 = rng.uniform(-0.15, 0.6), rng.uniform(-0.5, 0.1)
        knee = kp[11 + side] + 2.0 * u * np.array([sign * np.sin(l1), np.cos(l1)])
        kp[13 + side] = knee
        kp[15 + side] = knee + 2.0 * u * np.array([sign * np.sin(l1 + l2), np.cos(l1 + l2)])
    return kp


def _draw(image: np.ndarray, kp: np.ndarray, height: float) -> None:
    import cv2

    thick = max(2, int(round(height / 40)))
    for (i, j), colour in _LIMBS:
        cv2.line(image, tuple(int(round(v)) for v in kp[i]), tuple(int(round(v)) for v in kp[j]), colour, thick,
                 cv2.LINE_AA)
    u = height / 8.0
    head = (kp[1] + kp[2]) / 2 + (0, 0.15 * u)
    cv2.circle(image, tuple(int(round(v)) for v in head), int(round(0.55 * u)), (250, 220, 180), -1, cv2.LINE_AA)
    for k, colour in ((1, (20, 20, 20)), (2, (20, 20, 20)), (0, (220, 40, 120))):
        cv2.circle(image, tuple(int(round(v)) for v in kp[k]), max(1, int(round(0.09 * u))), colour, -1, cv2.LINE_AA)


def _image(rng: np.random.Generator, size: Tuple[int, int]) -> Tuple[np.ndarray, List[np.ndarray], List[float]]:
    w, h = size
    base = rng.integers(40, 120, 3)
    image = np.clip(base + rng.normal(0, 18, (h, w, 3)), 0, 255).astype(np.uint8)
    people, heights = [], []
    for _ in range(int(rng.integers(1, 4))):
        height = float(rng.uniform(0.45, 0.85) * h)
        x = float(rng.uniform(0.2 * w, 0.8 * w))
        y = float(rng.uniform(height * 0.98, h - 2))
        kp = stick_figure(rng, height, x, y)
        _draw(image, kp, height)
        people.append(kp)
        heights.append(height)
    return image, people, heights


def _split(root: Path, name: str, count: int, size: Tuple[int, int], rng: np.random.Generator, id0: int) -> Path:
    import cv2

    folder = root / "images" / name
    folder.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for n in range(count):
        image, people, heights = _image(rng, size)
        file_name = f"{n:06d}.png"
        cv2.imwrite(str(folder / file_name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        image_id = id0 + n
        images.append({"id": image_id, "file_name": file_name, "width": size[0], "height": size[1]})
        for kp, height in zip(people, heights):
            pad = 0.1 * height
            x0, y0 = kp.min(0) - pad
            x1, y1 = kp.max(0) + pad
            x0, y0 = max(0.0, x0), max(0.0, y0)
            x1, y1 = min(size[0] - 1.0, x1), min(size[1] - 1.0, y1)
            inside = (kp[:, 0] >= 0) & (kp[:, 0] < size[0]) & (kp[:, 1] >= 0) & (kp[:, 1] < size[1])
            triples = np.concatenate([kp, np.where(inside, 2, 0)[:, None]], 1) * np.where(inside, 1, 0)[:, None]
            annotations.append({"id": len(annotations) + 1 + 10 * id0, "image_id": image_id, "category_id": 1,
                                "iscrowd": 0, "bbox": [round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                                "area": round(float((x1 - x0) * (y1 - y0)), 2), "num_keypoints": int(inside.sum()),
                                "keypoints": [round(float(v), 2) if i % 3 != 2 else int(v)
                                              for i, v in enumerate(triples.ravel())]})
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    path = root / "annotations" / f"person_keypoints_{name}.json"
    from posetrack.keypoints import COCO

    categories = [{"id": 1, "name": "person", "keypoints": list(COCO.names),
                   "skeleton": [[i + 1, j + 1] for i, j in COCO.skeleton]}]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def make_stick_figures(root: Union[str, Path], train: int = 64, val: int = 16, size: Tuple[int, int] = (160, 128),
                       seed: int = 0) -> Path:
    """Write a COCO-format stick-figure set: ``ROOT/annotations/person_keypoints_{train,val}.json`` and
    ``ROOT/images/{train,val}/*.png`` (the COCO layout :func:`posetrack.training.data.find_split` reads).

    Args:
        train, val: number of images per split (1-3 people each).
        size: (width, height) of the images.

    Returns:
        ``root``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    _split(root, "train", train, size, rng, 1)
    _split(root, "val", val, size, rng, 100_000)
    return root


def _box(kp: np.ndarray, height: float, size: Tuple[int, int]) -> Tuple[float, float, float, float]:
    """The figure's box as the training sets draw it: its joints, padded by a tenth of its height, clipped."""
    pad = 0.1 * height
    x0, y0 = np.maximum(kp.min(0) - pad, 0.0)
    x1, y1 = np.minimum(kp.max(0) + pad, (size[0] - 1.0, size[1] - 1.0))
    return float(x0), float(y0), float(x1), float(y1)


def _clip_background(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    w, h = size
    return np.clip(rng.integers(40, 120, 3) + rng.normal(0, 18, (h, w, 3)), 0, 255).astype(np.uint8)


def make_stick_clip(root: Union[str, Path], frames: int = 24, size: Tuple[int, int] = (160, 128), people: int = 2,
                    seed: int = 0) -> Path:
    """Write a short clip in the stick-figure sets' drawing style, with its person boxes, to try ``posetrack run``.

    ``people`` figures (each keeps the pose its seed draws) walk across a fixed noise background,
    one step of 2-3 px per frame. Written: ``ROOT/frames/000000.png ...`` (an image folder,
    a source ``posetrack run`` reads) and ``ROOT/dets.json``, the figures' boxes as COCO detection
    results (``image_id`` the 0-based frame, score 0.95: the README's boxes file), so no person
    detector or its weights are needed.

    Args:
        frames: number of frames.
        size: (width, height) of the frames, as :func:`make_stick_figures` draws them by default.
        people: number of figures (1 or more).

    Returns:
        ``root``.

    Raises:
        ValueError: ``frames`` or ``people`` below 1.
    """
    import cv2

    if frames < 1 or people < 1:
        raise ValueError(f"make_stick_clip needs at least one frame and one figure, got frames={frames}, "
                         f"people={people}")
    root = Path(root)
    folder = root / "frames"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    background = _clip_background(rng, size)
    walkers = []
    for n in range(people):
        height = float(rng.uniform(0.6, 0.8) * h)
        start = float(rng.uniform(0.2, 0.4) * w) if n % 2 == 0 else float(rng.uniform(0.6, 0.8) * w)
        step = float(rng.uniform(2.0, 3.0)) * (1.0 if n % 2 == 0 else -1.0)     # towards the other side
        walkers.append((int(rng.integers(2**31)), height, start, step, float(h - 2 - rng.uniform(0, 0.1 * h))))
    boxes = []
    for t in range(frames):
        image = background.copy()
        for figure_seed, height, start, step, feet in walkers:
            kp = stick_figure(np.random.default_rng(figure_seed), height, start + step * t, feet)
            _draw(image, kp, height)
            x0, y0, x1, y1 = _box(kp, height, size)
            boxes.append({"image_id": t, "bbox": [round(v, 2) for v in (x0, y0, x1 - x0, y1 - y0)], "score": 0.95,
                          "category_id": 1})
        cv2.imwrite(str(folder / f"{t:06d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    (root / "dets.json").write_text(json.dumps(boxes))
    return root
