"""What `--detect-every N` costs: MOTA and mAP of the real pipeline at N = 1, 2, 4 on synthetic scenes.

The scenes, the simulated detector, pose estimator and optical flow are those of the
synthetic tracking benchmark (walking, crossing, occluded people, a panning camera; see
its docstring). Here they drive the real :class:`posetrack.pipeline.frames.Pipeline` with the
real FlowTrack tracker, with the detector run on every N-th frame only; the results are
scored by `posetrack eval` (poseval's total mAP and MOTA, on PoseTrack 2017 files) and by
per-person CLEAR-MOT.

Usage::

    python benchmarks/detect_every.py                       # 8 sequences x 120 frames, N = 1, 2, 4
    python benchmarks/detect_every.py --sequences 2 --frames 40 --every 1 3
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
try:        # the synthetic scenes moved to propagation_benchmark.py when tracking_benchmark.py was rewritten
    import propagation_benchmark as scenes
except ImportError:
    import tracking_benchmark as scenes

from posetrack.eval.evaluate import evaluate
from posetrack.tracksfile.exports import export_posetrack2017
from posetrack.keypoints import COCO
from posetrack.pipeline.frames import Pipeline
from posetrack.types import Detections, Frame, VideoInfo
from posetrack.tracking.tracker import PoseTracker, TrackerConfig
from posetrack.tracksfile.codec import TrackFile, TracksHeader


class SimulatedEstimator:
    """The benchmark's pose "estimator" behind the pipeline's interface; frame images are their index."""

    layout = COCO

    def __init__(self, frames, seed: int):
        self.frames = frames
        self.rng = np.random.default_rng(seed)

    def estimate_batch(self, images, detections):
        """The pipeline's pose call: Poses in each image's boxes (via estimate_many's rows)."""
        from posetrack.types import Poses

        rows = self.estimate_many(images, [d.boxes for d in detections])
        return [Poses.from_array(d.boxes, d.scores, r) for d, r in zip(detections, rows)]

    def estimate_many(self, images, boxes):
        out = []
        for image, b in zip(images, boxes):
            b = np.asarray(b, np.float32).reshape(-1, 4)
            poses = scenes.estimate(self.frames[int(image[0])], Detections(b, np.ones(len(b))), self.rng)
            out.append(poses.as_array())
        return out


def run_sequence(frames, every: int, seed: int, frame_batch: int = 8):
    rng = np.random.default_rng(seed)
    noise = [rng.normal(0, 0.5, (scenes.H, scenes.W, 2)).astype(np.float32) for _ in range(4)]
    cfg = TrackerConfig()
    detector_runs = {"frames": 0}

    def boxes(batch):
        detector_runs["frames"] += len(batch)
        return [frames[f.index].detections for f in batch]

    def flow(prev, nxt):
        k = int(nxt[0])
        return scenes.synthetic_flow(frames[k - 1], noise[k % 4])

    pipeline = Pipeline(SimulatedEstimator(frames, seed), boxes, tracker=PoseTracker(COCO, cfg), flow=flow,
                        box_score=cfg.box_score, nms_iou=cfg.nms_iou, detect_every=every)
    images = [Frame(k, np.array([k])) for k in range(len(frames))]
    batches = [images[i:i + frame_batch] for i in range(0, len(images), frame_batch)]
    results = [r for _, r in pipeline.run(iter(batches))]
    counter = scenes.MotCounter()
    for f, r in zip(frames, results):
        counter.add(f, r)
    return results, counter.counts, detector_runs["frames"], pipeline.times.pose_calls


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=8)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args(argv)
    sequences = [scenes.make_sequence(args.seed + s, args.frames) for s in range(args.sequences)]
    print(f"{args.sequences} sequences x {args.frames} frames, seed {args.seed}; frame batch 8\n")
    print(f"{'N':>3} {'mAP':>6} {'MOTA':>6} {'person MOTA':>12} {'misses':>7} {'FP':>6} {'IDSW':>5} "
          f"{'detector frames':>16} {'pose calls':>11} {'seconds':>8}")
    for every in args.every:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            gt_dir, pred_dir = Path(tmp, "gt"), Path(tmp, "pred")
            gt_dir.mkdir()
            pred_dir.mkdir()
            total, detector, calls = scenes.MotCounts(), 0, 0
            for s, frames in enumerate(sequences):
                results, counts, det, pc = run_sequence(frames, every, args.seed + s)
                total += counts
                detector += det
                calls += pc
                header = TracksHeader(VideoInfo("synthetic", 25.0, scenes.W, scenes.H, len(frames)), COCO)
                names = [f"seq/{k:06d}.jpg" for k in range(len(frames))]
                (gt_dir / f"{s:03d}.json").write_text(json.dumps(scenes._gt_annolist(frames)))
                pred = export_posetrack2017(TrackFile(header, tuple(results)), names)
                (pred_dir / f"{s:03d}.json").write_text(json.dumps(pred))
            r = evaluate(gt_dir, pred_dir)
        print(f"{every:>3} {r.overall.total('ap'):6.1f} {r.overall.total('mota'):6.1f} {100 * total.mota:12.1f} "
              f"{total.misses:7d} {total.false_positives:6d} {total.id_switches:5d} {detector:16d} {calls:11d} "
              f"{time.perf_counter() - t0:8.1f}")


if __name__ == "__main__":
    main()
