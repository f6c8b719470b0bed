"""Test data for the API, weights and CLI-edge tests: a tiny synthetic video, its boxes and seeded weights.

The loopback server and the published-weights config these tests also use live in
:mod:`helpers.server` and :mod:`helpers.weights` (re-exported here under their old names).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from helpers.server import Server, closed_port_url, sha
from helpers.videos import write_sprite_clip
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
    write_sprite_clip(folder, figure_boxes(), (W, H), "video.mp4", "{:03d}.png".format)
    write_tiny_weights(folder / "pose.pth", seed=0, bias=1.0)
    return {"video": folder / "video.mp4", "frames": folder / "frames", "boxes": folder / "dets.json",
            "weights": folder / "pose.pth"}


def tiny_options(data: dict) -> dict:
    """RunOptions for the tiny model, test-made weights and the boxes file, on the CPU."""
    return {"pose_model": "hrnet_tiny_128x96", "pose_weights": str(data["weights"]),
            "boxes_file": str(data["boxes"]), "device": "cpu"}
