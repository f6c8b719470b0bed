"""Test data for batch runs: short synthetic videos, an image-folder sequence, boxes files, seeded weights.

Each source shows two textured sprites moving over a flat background (a different seed
and path per source); its boxes file gives the sprites' boxes, so no detector is needed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

import numpy as np

from helpers.videos import write_frames, write_video
from helpers.weights import write_tiny_weights

W, H = 192, 144


def _boxes(seed: int, frames: int) -> np.ndarray:
    """(frames, 2, 4) boxes: one figure walking right/down, one standing (seeded start points)."""
    rng = np.random.default_rng(seed)
    x0, y0 = rng.integers(5, 30), rng.integers(5, 40)
    out = []
    for t in range(frames):
        x, y = x0 + 4 * t % 100, y0 + t % 20
        out.append([[x, y, x + 40, y + 80], [140, 40, 180, 120]])
    return np.array(out, np.float32)


def _frames(seed: int, frames: int) -> List[np.ndarray]:
    """RGB frames of source ``seed``."""
    rng = np.random.default_rng(1000 + seed)
    sprites = [rng.integers(0, 255, (80, 40, 3), dtype=np.uint8) for _ in range(2)]
    images = []
    for frame_boxes in _boxes(seed, frames):
        img = np.full((H, W, 3), 60 + 10 * seed, np.uint8)
        for sprite, (x1, y1, _, _) in zip(sprites, frame_boxes):
            x, y = int(x1), int(y1)
            img[y:y + 80, x:x + 40] = sprite
        images.append(img[..., ::-1])      # drawn in OpenCV's BGR order, as the PNG frames have always held them
    return images


def write_boxes(path: Path, seed: int, frames: int) -> None:
    """A COCO detection-results file (image_id = 0-based frame) for source ``seed``."""
    dets = [{"image_id": t, "bbox": [float(b[0]), float(b[1]), 40.0, 80.0], "score": 0.95, "category_id": 1}
            for t, fb in enumerate(_boxes(seed, frames)) for b in fb]
    path.write_text(json.dumps(dets))


def write_clip(path: Path, seed: int, frames: int) -> Path:
    """Source ``seed`` as a 10 fps MP4."""
    return write_video(path, frames=_frames(seed, frames), fps=10, codec="mpeg4")


def write_sequence(folder: Path, seed: int, frames: int) -> Path:
    """A PoseTrack-style image folder (000000.jpg, ...): lossless PNG here, so frames are exact."""
    return write_frames(folder, _frames(seed, frames))


def write_weights(path: Path) -> Path:
    """Seeded hrnet_tiny_128x96 weights in the official layout (heatmap maxima near 1: joints pass the tracker's 0.4)."""
    return write_tiny_weights(path, seed=0, bias=1.0)


def make_batch(root: Path, videos: int = 4, frames: int = 10, sequence_frames: int = 8) -> dict:
    """``root/videos/clip{k}.mp4`` (k < videos), ``root/videos/seq0/`` (PNG frames), ``root/boxes/<name>.json``,
    ``root/pose.pth``. Returns the paths, with ``sources`` in natural order."""
    vids = root / "videos"
    boxes = root / "boxes"
    vids.mkdir(parents=True)
    boxes.mkdir()
    sources = []
    for k in range(videos):
        sources.append(write_clip(vids / f"clip{k}.mp4", k, frames))
        write_boxes(boxes / f"clip{k}.json", k, frames)
    sources.append(write_sequence(vids / "seq0", videos, sequence_frames))
    write_boxes(boxes / "seq0.json", videos, sequence_frames)
    return {"root": root, "videos": vids, "boxes": boxes, "weights": write_weights(root / "pose.pth"),
            "sources": [str(s) for s in sources]}


def options(weights: Path, **overrides):
    """The RunOptions of these tests: tiny model, CPU."""
    from posetrack.pipeline.runner import RunOptions

    return RunOptions(**{"pose_model": "hrnet_tiny_128x96", "pose_weights": str(weights), "device": "cpu",
                         **overrides})
