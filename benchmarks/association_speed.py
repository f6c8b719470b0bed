"""How long the tracker takes per frame with 10 people, the optical flow itself excluded.

Ten people walk (some crossing, one missed now and then so that lost tracks exist) in a
640x360 video whose flow is given (precomputed), and each preset's tracker runs on it:

* **associate**: all of association: the cost terms (flow-based OKS over the queue,
  appearance, gates), merging duplicates, the matching cascade, the IoU fallback, keeping
  the best of duplicates, spawning and re-identification: the issue's budget is 1 ms per
  frame for 10 people;
* **appearance**: the colour descriptors of a frame's poses
  (:func:`posetrack.tracking.appearance.describe`), per person: the budget is 1 ms;
* **update**: a whole :meth:`PoseTracker.update` with the flow and the previous image
  given (propagation by flow sampling, camera motion, the motion model, retiring,
  association, spawning, recording), the descriptors excluded.

Prints the median and 90th percentile over frames after a warm-up, and each time as a
ratio to FlowTrack's (the baseline measured in the same run).

    python benchmarks/association_speed.py [--frames 300] [--people 10]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from posetrack.keypoints import COCO
from posetrack.types import Poses
from posetrack.tracking.tracker import PoseTracker, load_tracking_config

W, H = 640, 360
SHAPE = np.array([
    [0.0, -0.93], [-0.02, -0.95], [0.02, -0.95], [-0.045, -0.94], [0.045, -0.94],
    [-0.11, -0.81], [0.11, -0.81], [-0.14, -0.65], [0.14, -0.65], [-0.15, -0.50], [0.15, -0.50],
    [-0.07, -0.52], [0.07, -0.52], [-0.07, -0.28], [0.07, -0.28], [-0.07, -0.03], [0.07, -0.03]])


def scene(frames: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(60, W - 60, n)
    y = rng.uniform(220, 350, n)
    h = 60 + (y - 220)
    v = rng.uniform(1, 4, n) * rng.choice([-1, 1], n)
    out = []
    for _ in range(frames):
        kp = SHAPE[None] * h[:, None, None] + np.stack([x, y], 1)[:, None] + rng.normal(0, 1.5, (n, 17, 2))
        boxes = np.c_[kp.min(1) - 5, kp.max(1) + 5]
        seen = rng.random(n) > 0.1
        out.append(Poses(boxes[seen], np.full(seen.sum(), 0.9), kp[seen], rng.uniform(0.5, 0.95, (seen.sum(), 17))))
        x = x + v
        v = np.where((x < 40) | (x > W - 40), -v, v)
    return out


ASSOCIATION = ("_match_frame", "_may_start", "_new_ids")   # _match_frame: similarity, duplicates, associate, fallback


def measure(preset: str, frames, flow, image, warmup: int = 20):
    """(associate ms per frame, appearance ms per person, update ms per frame) after ``warmup`` frames."""
    from posetrack.tracking.appearance import describe

    cfg = load_tracking_config(preset=preset)[0]
    tracker = PoseTracker(COCO, cfg, fps=25.0, frame_size=(W, H))
    spent = [0.0]

    def timed(method):
        def run(*args, **kwargs):
            t = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t
        return run

    for name in ASSOCIATION:                       # nested calls (associate -> similarity) are not double counted
        setattr(tracker, name, timed(getattr(tracker, name)))
    assoc, looks, update = [], [], []
    for k, poses in enumerate(frames):
        look = None
        if tracker.uses_appearance:
            t = time.perf_counter()
            look = describe(image, poses.keypoints, poses.keypoint_scores, COCO, cfg.joint_score,
                            poses.boxes[:, 3] - poses.boxes[:, 1])
            looks.append((time.perf_counter() - t) / max(len(poses), 1))
        spent[0] = 0.0
        t = time.perf_counter()
        tracker.update(k, poses, flow if k else None, image=image if k else None, appearance=look)
        update.append(time.perf_counter() - t)
        assoc.append(spent[0])
    ms = lambda v: np.array(v[warmup:]) * 1000                                  # noqa: E731
    return ms(assoc), (ms(looks) if looks else np.zeros(1)), ms(update)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--people", type=int, default=10)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(1)
    flow = rng.normal(0, 0.5, (H, W, 2)).astype(np.float32) + np.float32(1.0)
    image = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    frames = scene(args.frames, args.people)
    print(f"{args.people} people, {args.frames} frames ({W}x{H}), flow given; milliseconds per frame "
          f"(appearance: per person)\n")
    print("| preset | associate median | p90 | x FlowTrack | appearance per person median | p90 "
          "| update median | p90 | x FlowTrack |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = None
    for preset in ("flowtrack", "robust"):
        a, look, u = measure(preset, frames, flow, image)
        base = base or (np.median(a), np.median(u))
        print(f"| {preset} | {np.median(a):.3f} | {np.percentile(a, 90):.3f} | {np.median(a) / base[0]:.2f} "
              f"| {np.median(look):.3f} | {np.percentile(look, 90):.3f} "
              f"| {np.median(u):.3f} | {np.percentile(u, 90):.3f} | {np.median(u) / base[1]:.2f} |")


if __name__ == "__main__":
    main()
