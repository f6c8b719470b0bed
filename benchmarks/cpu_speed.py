"""Seconds per person of the pose stage on this machine's CPU, for the README's CPU-install note.

Runs :class:`posetrack.pose.PoseEstimator` (the full official test pipeline: affine crops,
the network, flip test, decoding) on a 1280x720 frame with ``--people`` person boxes, for
W32 and W48 at 256x192 and 384x288, flip test on and off. The weights are seeded random
ones: the time does not depend on their values. Each setting runs once to warm up, then
``--repeats`` times; the best (smallest) wall time is reported, the figure least disturbed
by other programs sharing the CPU, with W32 256x192 without flip as the baseline ratio,
next to the process CPU time of that repeat (all threads).

    python benchmarks/cpu_speed.py [--threads 2] [--people 8] [--repeats 3]
"""
from __future__ import annotations

import argparse
import platform
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--people", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="w32_256x192,w32_384x288,w48_256x192,w48_384x288")
    args = parser.parse_args()

    import numpy as np
    import torch

    from posetrack.models import build_pose_model
    from posetrack.pose import PoseEstimator

    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    x = rng.uniform(0, 1100, args.people)
    y = rng.uniform(0, 400, args.people)
    boxes = np.stack([x, y, x + 150, y + 300], axis=1).astype(np.float32)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"CPU: {cpu}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{args.people} people per frame, best of {args.repeats}")
    print(f"{'model':<14}{'flip':>6}{'s/person':>10}{'people/s':>10}{'ratio':>8}{'cpu-s/person':>14}")
    base = None
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = build_pose_model(name)
        for flip in (False, True):
            estimator = PoseEstimator(model, flip_test=flip, device="cpu", batch_size=args.people)
            estimator(frame, boxes)                       # warm-up
            times, cpu = [], []
            for _ in range(args.repeats):
                t, c = time.perf_counter(), time.process_time()
                estimator(frame, boxes)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            best = min(range(len(times)), key=times.__getitem__)
            per_person = times[best] / args.people
            base = base or per_person
            print(f"{name:<14}{'on' if flip else 'off':>6}{per_person:>10.3f}{1 / per_person:>10.2f}"
                  f"{per_person / base:>8.2f}{cpu[best] / args.people:>14.3f}", flush=True)


if __name__ == "__main__":
    main()
