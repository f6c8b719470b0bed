"""Pose calls, pose seconds and frames per second of `posetrack run`, old path against new, in one run.

Three variants of the same run (tiny HRNet on the CPU, DIS flow, a boxes file whose
"detector" misses one person every fifth frame, journal and an annotated MP4 written):

* ``old``: the recovered (flow-propagated) boxes of each frame posed in a call of their own
  and every stage on one thread, as before;
* ``batched``: recovered boxes foreseen and posed with the detector's boxes in a few calls
  per frame batch (:mod:`posetrack.pipeline.recovered`);
* ``batched+overlap``: also the next batch's flow and the writing of finished frames on
  threads while poses are estimated.

Every variant writes the same tracks file (checked). Variants run interleaved, each
``--repeat`` times; the table shows medians and ratios against ``old``. With random
weights the poses are junk, so few proposals are suppressed by a detection: this is the
many-recovered-boxes case; with ``--bias 1.0`` their joints all score ~1, so a propagated box
with nobody in it never fades and chains of recovered boxes run through whole batches (each
link needs the pose of the one before: one call per link), with ``--bias 0.7`` they fade
within two frames, as a trained network's do.

Usage::

    python benchmarks/pipeline_calls.py                     # 60 frames, 640x360
    python benchmarks/pipeline_calls.py --frames 60 --size 192x144 --repeat 5
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import posetrack.pipeline.frames as pipeline_module
from posetrack.pipeline.runner import Outputs, load_models, run_video
from helpers.runpath import make_clip, run_options

VARIANTS = {"old": (False, False), "batched": (True, False), "batched+overlap": (True, True)}


def run_once(clip, models, folder: Path, speculate: bool, overlap: bool, frame_batch: int):
    real = pipeline_module.Pipeline
    pipeline_module.Pipeline = functools.partial(real, speculate=speculate)
    try:
        out = Outputs(folder / "tracks.json", render=folder / "annotated.mp4")
        t0 = time.perf_counter()
        summary = run_video(clip["frames"], out, run_options(clip, overlap=overlap, frame_batch=frame_batch),
                            models=models, force=True)
        wall = time.perf_counter() - t0
    finally:
        pipeline_module.Pipeline = real
    return summary, wall, out.tracks.read_bytes()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="640x360", help="frame size WxH")
    parser.add_argument("--frame-batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bias", type=float, default=1.0,
                        help="added to the heatmap bias: 1.0 (joints score ~1, empty propagated boxes never fade) "
                             "or 0.7 (~0.75, they fade in two frames like a trained net's)")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip", frames=args.frames, size=size, bias=args.bias)
        models = load_models(run_options(clip))
        rows = {name: [] for name in VARIANTS}
        outputs = {}
        run_once(clip, models, Path(tmp), True, True, args.frame_batch)       # warm-up
        for _ in range(args.repeat):
            for name, (speculate, overlap) in VARIANTS.items():
                summary, wall, data = run_once(clip, models, Path(tmp), speculate, overlap, args.frame_batch)
                rows[name].append((summary.times, wall))
                outputs.setdefault(name, data)
    same = len(set(outputs.values())) == 1
    print(f"{args.frames} frames {size[0]}x{size[1]}, frame batch {args.frame_batch}, hrnet_tiny_128x96 on the CPU "
          f"(heatmap bias +{args.bias}), median of {args.repeat}; identical tracks files: {same}\n")
    print(f"{'variant':<16} {'pose calls':>10} {'crops':>6} {'pose s':>7} {'flow s':>7} {'wall s':>7} {'fps':>6} "
          f"{'calls/old':>10} {'pose s/old':>11} {'fps/old':>8}")
    base = None
    for name, runs in rows.items():
        calls = runs[0][0].pose_calls
        crops = runs[0][0].pose_crops
        pose = statistics.median(t.pose for t, _ in runs)
        flow = statistics.median(t.flow for t, _ in runs)
        wall = statistics.median(w for _, w in runs)
        fps = args.frames / wall
        base = base or (calls, pose, fps)
        print(f"{name:<16} {calls:>10d} {crops:>6d} {pose:7.2f} {flow:7.2f} {wall:7.2f} {fps:6.1f} "
              f"{calls / base[0]:10.2f} {pose / base[1]:11.2f} {fps / base[2]:8.2f}")


if __name__ == "__main__":
    main()
