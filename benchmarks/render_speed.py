"""How fast rendering runs: drawing alone, and drawing plus H.264 encoding, on synthetic frames.

    python benchmarks/render_speed.py --size 1920x1080 --people 6 --frames 100 --trails 20

Prints frames per second for each stage. No model and no input video are needed.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from posetrack.rendering.draw import DrawStyle, Trails, draw_frame
from posetrack.io.encode import open_writer
from posetrack.keypoints import COCO
from posetrack.types import FrameResult, Poses


def synthetic(frames: int, people: int, w: int, h: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.uniform([0.1 * w, 0.1 * h], [0.9 * w, 0.6 * h], (people, 1, 2))
    offsets = rng.normal(0, 0.08 * h, (people, 17, 2))
    image = rng.integers(0, 255, (h, w, 3), np.uint8)
    for t in range(frames):
        kp = (base + offsets + [2.0 * t, 0.0]).astype(np.float32)
        boxes = np.concatenate([kp.min(1), kp.max(1)], 1)
        scores = rng.uniform(0.2, 1.0, (people, 17))
        yield image, FrameResult(t, Poses(boxes, np.ones(people), kp, scores), np.arange(people))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="1920x1080")
    p.add_argument("--people", type=int, default=6)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--trails", type=int, default=20)
    args = p.parse_args()
    w, h = map(int, args.size.lower().split("x"))
    style = DrawStyle(boxes=True, trails=args.trails)

    trails = Trails(args.trails) if args.trails else None
    t0 = time.perf_counter()
    for image, result in synthetic(args.frames, args.people, w, h):
        if trails is not None:
            trails.update(result)
        draw_frame(image, result, COCO, style, trails)
    draw_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        with open_writer(Path(d) / "bench.mp4", 25.0, (w, h)) as writer:
            for image, result in synthetic(args.frames, args.people, w, h):
                writer.write(draw_frame(image, result, COCO, style))
        both_s = time.perf_counter() - t0

    print(f"{args.frames} frames {w}x{h}, {args.people} people")
    print(f"  draw only:       {args.frames / draw_s:7.1f} frames/s")
    print(f"  draw + H.264:    {args.frames / both_s:7.1f} frames/s")


if __name__ == "__main__":
    main()
