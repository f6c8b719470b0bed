"""Seconds per person of the pose stage on this machine's CPU, for the README's CPU-install note.

Runs :class:`posetrack.pose.estimator.PoseEstimator` (the full official test pipeline: affine crops,
the network, flip test, decoding) on a 1280x720 frame with ``--people`` person boxes, for
W32 and W48 at 256x192 and 384x288, flip test on and off. The weights are seeded random
ones: the time does not depend on their values. Each setting runs once to warm up, then
``--repeats`` times; the best (smallest) wall time is reported, with W32 256x192 without
flip as the baseline ratio, next to the smallest process CPU time (all threads). With
``--threads 1`` the CPU time is the figure least disturbed by other programs sharing the
machine (no thread waits for a descheduled sibling): the compute one core spends.

Then the person detectors, seconds per 1280x720 frame (random weights too: the backbone,
the region proposals and the box head cost the same whatever the weights; ``--detectors ""``
skips them).

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
    parser.add_argument("--detectors", default="fasterrcnn_resnet50_fpn_v2,fasterrcnn_mobilenet_v3_large_fpn")
    args = parser.parse_args()

    import numpy as np
    import torch

    from posetrack.models.registry import build_pose_model
    from posetrack.pose.estimator import PoseEstimator

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
                  f"{per_person / base:>8.2f}{min(cpu) / args.people:>14.3f}", flush=True)

    detectors = [d for d in args.detectors.split(",") if d]
    if detectors:
        print(f"{'detector':<40}{'s/frame':>10}{'cpu-s/frame':>14}")
    for name in detectors:
        wall, cpu = _detector_time(name, frame, args.repeats)
        print(f"{name:<40}{wall:>10.3f}{cpu:>14.3f}", flush=True)


def _detector_time(name: str, frame, repeats: int):
    """Smallest wall and CPU time of one frame through a randomly initialised torchvision detector."""
    import torch
    from torchvision.models import get_model, get_model_weights

    from posetrack.pose.detector import DetectorConfig, PersonDetector, _model_kwargs, person_label

    torch.manual_seed(0)
    weights = get_model_weights(name).DEFAULT
    cfg = DetectorConfig(name=name)
    model = get_model(name, weights=None, weights_backbone=None, num_classes=len(weights.meta["categories"]),
                      **_model_kwargs(cfg))
    detector = PersonDetector(model, weights.transforms(), person_label(weights.meta["categories"]), cfg)
    detector([frame])
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        detector([frame])
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


if __name__ == "__main__":
    main()
