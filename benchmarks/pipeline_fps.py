"""End-to-end `posetrack run` speed on generated 720p / 1080p videos with about 6 people.

    python benchmarks/pipeline_fps.py --quick                  # CPU: 720p, 8 frames, small models
    python benchmarks/pipeline_fps.py --device cuda            # GPU: 720p and 1080p, default models
    python benchmarks/pipeline_fps.py --sizes 1920x1080 --frames 200 --precision fp16

What runs is ``posetrack.pipeline.runner.run_video`` itself (decoding thread, detector, pose, DIS flow,
tracking, journal and tracks file), with two substitutions, because no trained weights can be
downloaded here:

* the pose network has seeded random weights (its speed does not depend on them);
* the detector (default: the configured ``fasterrcnn_resnet50_fpn_v2`` at its default input size)
  runs on every frame with random weights for its full cost, but the boxes handed on are the
  generated people's true boxes, so the pose and tracking stages see exactly ``--people`` persons
  instead of whatever random weights would detect.

Prints fps end to end and seconds per stage (decode is the time the loop waited for frames; the
stages run one after another within a frame batch, decoding runs ahead in its own thread).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def make_video(path: Path, width: int, height: int, frames: int, people: int, seed: int = 0) -> list:
    """An MP4 of ``people`` textured person-sized sprites walking over a textured background.

    Returns the COCO detection-results list of their true boxes (0-based image_id).
    """
    import cv2

    rng = np.random.default_rng(seed)
    bg = cv2.resize(rng.integers(0, 255, (height // 16, width // 16, 3), dtype=np.uint8), (width, height),
                    interpolation=cv2.INTER_CUBIC)
    ph, pw = height // 3, height // 7                                  # a person: a third of the frame tall
    sprites = [cv2.resize(rng.integers(0, 255, (ph // 8, pw // 8, 3), dtype=np.uint8), (pw, ph),
                          interpolation=cv2.INTER_NEAREST) for _ in range(people)]
    start = rng.uniform([0, 0.1 * height], [width - pw, height - ph - 1], (people, 2))
    speed = rng.uniform(-4, 4, (people, 2)) * width / 1280
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (width, height))
    boxes = []
    for t in range(frames):
        img = bg.copy()
        pos = start + speed * t
        pos[:, 0] = np.clip(pos[:, 0], 0, width - pw)
        pos[:, 1] = np.clip(pos[:, 1], 0, height - ph)
        for sprite, (x, y) in zip(sprites, pos.astype(int)):
            img[y:y + ph, x:x + pw] = sprite
            boxes.append({"image_id": t, "bbox": [float(x), float(y), float(pw), float(ph)], "score": 0.99,
                          "category_id": 1})
        writer.write(img)
    writer.release()
    return boxes


def detector_weights(name: str, path: Path) -> Path:
    """Random weights for a torchvision detector, saved where ``build_detector`` can load them."""
    import torch
    from torchvision.models import get_model, get_model_weights

    torch.manual_seed(0)
    n = len(get_model_weights(name).DEFAULT.meta["categories"])
    torch.save(get_model(name, weights=None, weights_backbone=None, num_classes=n).state_dict(), path)
    return path


def main() -> None:
    import torch

    import posetrack.pipeline.runner as runner
    from posetrack.models.registry import build_pose_model, seeded_state_dict
    from posetrack.models.devices import resolve_device

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--sizes", default=None, help="e.g. 1280x720,1920x1080")
    p.add_argument("--people", type=int, default=6)
    p.add_argument("--frames", type=int, default=None)
    p.add_argument("--pose-model", default=None)
    p.add_argument("--detector", default=None, help="torchvision detector name [default: configs/detector.yaml]")
    p.add_argument("--no-detector", action="store_true", help="boxes file only (no detector cost)")
    p.add_argument("--precision", default="auto")
    p.add_argument("--backend", default="torch")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--frame-batch", type=int, default=8)
    p.add_argument("--threads", type=int)
    p.add_argument("--quick", action="store_true", help="720p, 8 frames, W32 256x192, mobilenet 320 detector")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cuda = device.startswith("cuda")
    sizes = args.sizes or ("1280x720" if args.quick else "1280x720,1920x1080")
    frames = args.frames or (8 if args.quick else (240 if cuda else 16))
    pose_model = args.pose_model or ("w32_256x192" if args.quick else "w48_384x288")
    detector = args.detector or ("fasterrcnn_mobilenet_v3_large_320_fpn" if args.quick else None)
    machine = torch.cuda.get_device_name() if cuda else f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    print(f"machine: {machine}, torch {torch.__version__}; pose {pose_model}, detector "
          f"{'none (boxes file)' if args.no_detector else detector or 'default (configs/detector.yaml)'}, "
          f"precision {args.precision}, backend {args.backend}, {args.people} people, {frames} frames")
    rows = []
    with tempfile.TemporaryDirectory(prefix="posetrack-fps-") as tmp:
        tmp = Path(tmp)
        model = build_pose_model(pose_model)
        torch.save(seeded_state_dict(model, 0), tmp / "pose.pth")
        det_name = detector
        if det_name is None:
            from posetrack.config import load_yaml
            from posetrack.pose.detector import DetectorConfig

            det_name = load_yaml(DetectorConfig, "detector").name
        det_path = None if args.no_detector else detector_weights(det_name, tmp / "det.pth")
        original = runner._box_source

        def box_source(opts, dev, info):
            """The true boxes (from the boxes file), after running the real detector on the frames."""
            boxes = original(opts, dev, info)
            if det_path is None:
                return boxes
            det = original(dataclasses.replace(opts, boxes_file=None, detector_name=det_name,
                                                      detector_weights=str(det_path)), dev, info)

            def both(batch):
                det(batch)
                return boxes(batch)
            return both

        runner._box_source = box_source
        try:
            for size in sizes.split(","):
                w, h = map(int, size.lower().split("x"))
                video = tmp / f"v{w}x{h}.mp4"
                (tmp / "boxes.json").write_text(json.dumps(make_video(video, w, h, frames, args.people)))
                opts = runner.RunOptions(pose_model=pose_model, pose_weights=str(tmp / "pose.pth"),
                                         boxes_file=str(tmp / "boxes.json"), device=device, precision=args.precision,
                                         backend=args.backend, compile=args.compile, batch_size=args.batch_size,
                                         frame_batch=args.frame_batch)
                if cuda:   # warm-up run: cuDNN/cuBLAS handles, compile, allocator
                    runner.run_video(video, tmp / "warm.json",
                                     dataclasses.replace(opts, end=min(frames, 2 * args.frame_batch)))
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                summary = runner.run_video(video, tmp / "out.json", opts)
                total = time.perf_counter() - t0
                t = summary.times
                row = dict(size=size, frames=summary.frames, people=t.people, fps=summary.frames / total,
                           seconds=total, **{s: getattr(t, s) for s in ("decode", "detect", "flow", "pose", "track")})
                rows.append(row)
                stages = "  ".join(f"{s} {row[s]:.2f}s" for s in ("decode", "detect", "flow", "pose", "track"))
                print(f"{size:>10}: {row['fps']:7.2f} fps end to end ({summary.frames} frames, {t.people} poses, "
                      f"{total:.2f} s)  |  {stages}", flush=True)
        finally:
            runner._box_source = original
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
