"""Test data for the API, weights and CLI-edge tests: a tiny synthetic video, its boxes and seeded weights.

The loopback server and the published-weights config these tests also use live in
:mod:`helpers.server` and :mod:`helpers.weights` (re-exported here under their old names).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from helpers.server import Server, closed_port_url, sha
from helpers.videos import write_frames, write_video
from helpers.weights import checkpoint_bytes, model_config, write_tiny_weights

__all__ = ["W", "H", "N", "figure_boxes", "make_video", "tiny_options",
           # kept here under the names tests imported from tests/api_fixtures.py:
           "Server", "closed_port_url", "sha", "checkpoint_bytes", "model_config"]

W, H, N = 160, 120, 8          # frame size and frame count of the synthetic video


def figure_boxes() -> np.ndarray:
    """(N, 2, 4) boxes: one 32x64 figure walking right, one standing still."""
    return np.array([[[16 + 5 * t, 24 + t, 48 + 5 * t, 88 + t], [112, 30, 144, 94]] for t in range(N)], np.float32)


def make_video(folder: Path) -> dict:
    """``video.mp4`` (10 fps), ``frames/`` (PNG), ``dets.json`` (COCO boxes) and ``pose.pth`` (tiny HRNet)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sprites = [rng.integers(0, 255, (64, 32, 3), dtype=np.uint8) for _ in range(2)]
    images = []
    for frame_boxes in figure_boxes():
        img = np.full((H, W, 3), 90, np.uint8)
        for sprite, (x1, y1, _, _) in zip(sprites, frame_boxes):
            img[int(y1):int(y1) + 64, int(x1):int(x1) + 32] = sprite
        images.append(img[..., ::-1])      # drawn in OpenCV's BGR order, as the PNG frames have always held them
    write_video(folder / "video.mp4", frames=images, fps=10, codec="mpeg4")
    write_frames(folder / "frames", images, "{:03d}.png".format)
    dets = [{"image_id": t, "bbox": [float(b[0]), float(b[1]), 32.0, 64.0], "score": 0.95, "category_id": 1}
            for t, fb in enumerate(figure_boxes()) for b in fb]
    (folder / "dets.json").write_text(json.dumps(dets))
    write_tiny_weights(folder / "pose.pth", seed=0, bias=1.0)
    return {"video": folder / "video.mp4", "frames": folder / "frames", "boxes": folder / "dets.json",
            "weights": folder / "pose.pth"}


def tiny_options(data: dict) -> dict:
    """RunOptions for the tiny model, test-made weights and the boxes file, on the CPU."""
    return {"pose_model": "hrnet_tiny_128x96", "pose_weights": str(data["weights"]),
            "boxes_file": str(data["boxes"]), "device": "cpu"}
