"""Test data for the run path: synthetic clips, boxes files and seeded tiny HRNet weights.

``make_clip`` writes sprites moving over a textured background as an MP4 and a lossless
PNG folder, a COCO detection-results boxes file (one person is missed by the "detector"
now and then, so FlowTrack's propagated boxes recover them), and seeded random weights
for ``hrnet_tiny_128x96`` in the layout ``torch.save(state_dict)`` writes.

``Scene`` is a pure-numpy world for the pipeline tests: people walking at constant
velocity, their true joints, a detector that misses some of them, optical flow (each
person's box painted with their motion), and a pose "estimator" whose output depends only
on the image and the box (as HRNet's does, up to float rounding).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from helpers.poses import STANDING
from helpers.videos import write_frames, write_video
from helpers.weights import write_tiny_weights

W, H = 192, 144


def make_clip(d: Path, frames: int = 24, seed: int = 0, miss_every: int = 5, size=(W, H),
              bias: float = 1.0) -> Dict[str, Path]:
    """An MP4 (10 fps), a PNG folder, a boxes file and tiny-model weights in ``d``.

    ``size`` is (width, height); ``bias`` is added to the heatmap layer's bias: 1.0 gives
    heatmap maxima near 1 (every joint confident, so flow-propagated boxes with nobody in
    them never fade), 0.7 maxima near 0.75 (such chains fade within two frames, as a trained
    network's do).
    """
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    W, H = size
    background = rng.integers(60, 120, (H, W, 3), dtype=np.uint8)
    sprites = [rng.integers(0, 255, (80, 40, 3), dtype=np.uint8) for _ in range(3)]
    images, dets = [], []
    for t in range(frames):
        img = background.copy()
        boxes = [(10 + 4 * t, 30 + t), (140 - 3 * t, 40), (80, 20 + (t % 6))]
        for k, (sprite, (x, y)) in enumerate(zip(sprites, boxes)):
            x, y = int(np.clip(x, 0, W - 40)), int(np.clip(y, 0, H - 80))
            img[y:y + 80, x:x + 40] = sprite
            if not (k == 1 and t % miss_every == miss_every - 1):   # the detector misses person 1 now and then
                dets.append({"image_id": t, "bbox": [float(x), float(y), 40.0, 80.0], "score": 0.9 - 0.1 * k,
                             "category_id": 1})
        images.append(img[..., ::-1])      # drawn in OpenCV's BGR order, as the PNG frames have always held them
    write_video(d / "walk.mp4", frames=images, fps=10, codec="mpeg4")
    write_frames(d / "frames", images, "{:04d}.png".format)
    (d / "dets.json").write_text(json.dumps(dets))
    write_tiny_weights(d / "pose.pth", seed=seed, bias=bias)
    return {"mp4": d / "walk.mp4", "frames": d / "frames", "dets": d / "dets.json", "weights": d / "pose.pth"}


def cli_args(clip: Dict[str, Path], source: str = "frames") -> List[str]:
    """`posetrack run` options for the tiny model on the CPU with the clip's boxes file."""
    return [str(clip[source]), "--pose-model", "hrnet_tiny_128x96", "--pose-weights", str(clip["weights"]),
            "--boxes", str(clip["dets"]), "--device", "cpu", "--quiet"]


def run_options(clip: Dict[str, Path], **changes):
    from posetrack.pipeline.runner import RunOptions

    return RunOptions(pose_model="hrnet_tiny_128x96", pose_weights=str(clip["weights"]),
                      boxes_file=str(clip["dets"]), device="cpu", **changes)


# ---------------------------------------------------------------- a simulated world

SW, SH, K = 320, 180, 17
# COCO joints of a standing person, x right and y down in units of body height, feet at 0.
TEMPLATE = STANDING


@dataclass
class Person:
    first: int            # frame the person appears in
    x: float              # feet position at ``first``
    y: float
    vx: float
    height: float
    last: int = 10 ** 9   # last frame seen
    missed: Sequence[int] = field(default_factory=tuple)   # frames the detector misses them


class Scene:
    """People walking at constant velocity; frame images are just their index (``np.array([k])``)."""

    def __init__(self, people: Sequence[Person], frames: int, seed: int = 0, false_positives: float = 0.0):
        rng = np.random.default_rng(seed)
        self.people, self.frames = list(people), frames
        self.keypoints: List[Dict[int, np.ndarray]] = []     # frame -> person -> (K, 2)
        self.detections = []
        self.noise = rng.normal(size=(frames, len(people), K, 2)) * 1.5
        self.scores = rng.uniform(0.6, 0.95, (frames, len(people), K))
        for k in range(frames):
            kps, boxes, scores = {}, [], []
            for p, person in enumerate(self.people):
                if not person.first <= k <= person.last:
                    continue
                kps[p] = self._pose(person, k)
                if k not in person.missed:
                    boxes.append(self.box(kps[p], person.height) + rng.normal(size=4) * 1.0)
                    scores.append(rng.uniform(0.7, 0.95))
            for _ in range(rng.poisson(false_positives)):
                x, y = rng.uniform(20, SW - 60), rng.uniform(20, SH - 80)
                boxes.append(np.array([x, y, x + 30, y + 60]))
                scores.append(rng.uniform(0.5, 0.7))
            self.keypoints.append(kps)
            self.detections.append((np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32)))

    @staticmethod
    def _pose(person: Person, k: int) -> np.ndarray:
        return TEMPLATE * person.height + np.array([person.x + person.vx * (k - person.first), person.y])

    @staticmethod
    def box(kp: np.ndarray, height: float) -> np.ndarray:
        lo, hi = kp.min(0), kp.max(0)
        return np.array([lo[0] - 0.05 * height, lo[1] - 0.08 * height, hi[0] + 0.05 * height, hi[1] + 0.03 * height])

    def frame_images(self):
        return [np.array([k]) for k in range(self.frames)]

    def flow(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """(SH, SW, 2): each person's box painted with their motion to the next frame."""
        k = int(nxt[0])
        field_ = np.zeros((SH, SW, 2), np.float32)
        for p, kp in self.keypoints[k - 1].items():
            x1, y1, x2, y2 = np.clip(np.round(self.box(kp, self.people[p].height)), 0, [SW, SH, SW, SH]).astype(int)
            field_[y1:y2, x1:x2] = (self.people[p].vx, 0.0)
        return field_

    def boxes(self, frames) -> list:
        from posetrack.types import Detections

        return [Detections(*self.detections[f.index]) for f in frames]


class SimEstimator:
    """A pose "estimator" that depends only on (image, box): the pose of the person the box covers.

    A box overlapping a present person's true box by IoU >= 0.3 gets that person's pose (with
    fixed per-frame noise); any other box gets a low-scoring pose spread over the box.
    Counts its calls and crops.
    """

    def __init__(self, scene: Scene):
        from posetrack.keypoints import COCO

        self.scene = scene
        self.layout = COCO
        self.calls = 0
        self.crops = 0

    def estimate_batch(self, images, detections):
        """The pipeline's pose call: Poses in each image's boxes (via estimate_many's rows)."""
        from posetrack.types import Poses

        rows = self.estimate_many(images, [d.boxes for d in detections])
        return [Poses.from_array(d.boxes, d.scores, r) for d, r in zip(detections, rows)]

    def estimate_many(self, images, boxes) -> List[np.ndarray]:
        from posetrack.boxes import box_iou

        self.calls += 1
        out = []
        for image, b in zip(images, boxes):
            k = int(image[0])
            b = np.asarray(b, np.float32).reshape(-1, 4)
            self.crops += len(b)
            people = sorted(self.scene.keypoints[k])
            rows = np.zeros((len(b), K, 3), np.float32)
            truth = np.array([self.scene.box(self.scene.keypoints[k][p], self.scene.people[p].height)
                              for p in people]).reshape(-1, 4)
            iou = box_iou(b, truth) if len(people) else np.zeros((len(b), 0))
            for i, box in enumerate(b):
                if iou.shape[1] and iou[i].max() >= 0.3:
                    p = people[int(iou[i].argmax())]
                    rows[i, :, :2] = self.scene.keypoints[k][p] + self.scene.noise[k, p]
                    rows[i, :, 2] = self.scene.scores[k, p]
                else:
                    t = np.linspace(0, 1, K)
                    rows[i, :, 0] = box[0] + t * (box[2] - box[0])
                    rows[i, :, 1] = box[1] + t * (box[3] - box[1])
                    rows[i, :, 2] = 0.2
            out.append(rows)
        return out
