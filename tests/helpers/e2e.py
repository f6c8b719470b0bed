"""The synthetic clip of the ``posetrack run`` end-to-end tests (tests/test_run_e2e.py, test_run_refine.py).

Two textured sprites move over a flat background, as an MP4 and a lossless PNG folder. In the
PNG frames each crop is an exact translation of the first, so a deterministic pose net gives
the same pose relative to the box in every frame. The ``video`` fixture (tests/conftest.py)
makes it once per session.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from helpers.videos import write_sprite_clip
from helpers.weights import write_tiny_weights

W, H, N = 192, 144, 12


def figure_boxes():
    """A 40x80 figure moving smoothly right and down; another standing still."""
    boxes = []
    for t in range(N):
        x, y = 20 + 6 * t, 30 + 2 * t
        boxes.append([[x, y, x + 40, y + 80], [140, 40, 180, 120]])
    return np.array(boxes, np.float32)


def make_walk(d: Path) -> Path:
    """``walk.mp4`` (10 fps), ``frames/`` (PNG), ``dets.json`` (COCO boxes) and ``pose.pth`` in ``d``."""
    write_sprite_clip(d, figure_boxes(), (W, H), "walk.mp4", "{}.png".format)
    write_tiny_weights(d / "pose.pth", seed=0, bias=1.0)
    return d


def run_cli(args):
    from posetrack_cli import cli

    return CliRunner().invoke(cli, ["run", *args], terminal_width=100)


def base_args(video, out, source="frames"):
    return [str(video / source), "--out", str(out), "--pose-model", "hrnet_tiny_128x96",
            "--pose-weights", str(video / "pose.pth"), "--boxes", str(video / "dets.json"), "--quiet",
            "--device", "cpu"]
