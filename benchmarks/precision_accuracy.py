"""What reduced precision (fp16 / bf16 autocast) costs in heatmap and keypoint accuracy, against fp32.

    python benchmarks/precision_accuracy.py --quick                    # W32 256x192, 8 crops
    python benchmarks/precision_accuracy.py --model w48_384x288 --crops 16
    python benchmarks/precision_accuracy.py --device cuda --model w48_384x288 --crops 64

No trained weights can be had here, so the measurement has two parts, both on the same crops
and seeded weights (the reference recipe, ``posetrack.models.registry.seeded_state_dict``), with the full
pose stage (BatchNorm folded, channels_last, flip test):

1. Heatmap error: max and mean |H_p - H_fp32| of the network's flip-averaged heatmaps, also as a
   fraction of the fp32 heatmaps' range. This is exact for these weights.
2. Keypoint error on peaked heatmaps: random weights give heatmaps without real peaks, so their
   argmax is meaningless. Instead the measured error field E = (H_p - H_fp32) / range(H_fp32) is
   added to ideal heatmaps of a trained model (Gaussian, sigma 2, peak 1: HRNet's training target,
   so range 1) at random sub-pixel positions, and both are decoded with the official argmax +
   quarter offset (and DARK). The displacement is reported in heatmap cells and in frame pixels
   for a person ``--person-height`` px tall. Assumption: the relative error of the last layer
   carries over to trained weights (reduced-precision rounding is relative to the values' scale).

The fp32 row repeats fp32 at another batch size: the noise fp32 itself has (batch-size effects).
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def gaussian_heatmaps(rng, n: int, k: int, h: int, w: int, sigma: float = 2.0):
    """Ideal heatmaps (peak 1) at random sub-pixel positions inside the map; (maps, true xy)."""
    xy = np.stack([rng.uniform(3, w - 4, (n, k)), rng.uniform(3, h - 4, (n, k))], -1)
    ys, xs = np.mgrid[0:h, 0:w]
    d2 = (xs[None, None] - xy[..., 0, None, None]) ** 2 + (ys[None, None] - xy[..., 1, None, None]) ** 2
    return np.exp(-d2 / (2 * sigma ** 2)).astype(np.float32), xy


def main() -> None:
    import torch

    from posetrack.pose.heatmaps import decode_heatmaps
    from posetrack.models.registry import build_pose_model, seeded_state_dict
    from posetrack.models.devices import resolve_device
    from posetrack.pose.estimator import PoseEstimator

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="w48_384x288")
    p.add_argument("--crops", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--precisions", default="fp16,bf16")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--person-height", type=float, default=400.0, help="frame pixels, for the px figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="W32 256x192, 8 crops")
    args = p.parse_args()
    if args.quick:
        args.model, args.crops = "w32_256x192", 8
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    model = build_pose_model(args.model)
    model.load_state_dict(seeded_state_dict(model, args.seed))
    h, w = model.config.input_size
    rng = np.random.default_rng(args.seed)
    # Natural-image-like crops: smooth random blobs plus noise, uint8 in [0, 255].
    base = rng.normal(0, 1, (args.crops, 3, h // 8, w // 8))
    crops = torch.nn.functional.interpolate(torch.from_numpy(base).float(), size=(h, w), mode="bicubic")
    crops = (crops * 50 + 128 + torch.from_numpy(rng.normal(0, 10, (args.crops, 3, h, w))).float()).clamp(0, 255)
    crops = crops.round().to(torch.uint8)

    def heatmaps(precision: str, batch: int):
        est = PoseEstimator(model, device=device, precision=precision, batch_size=batch, crop="opencv")
        t = time.perf_counter()
        hm = est.heatmaps(crops).float().cpu().numpy()
        return hm, time.perf_counter() - t

    ref, _ = heatmaps("fp32", args.batch_size)
    span = float(ref.max() - ref.min())
    hh, hw = ref.shape[-2:]
    ideal, true_xy = gaussian_heatmaps(rng, *ref.shape)
    cell_px = args.person_height * 1.25 / hh          # frame pixels per heatmap cell (x1.25 box padding)
    print(f"{args.model} on {device} ({torch.get_num_threads()} threads), {args.crops} crops, flip test, "
          f"BatchNorm folded, channels_last; fp32 heatmap range {span:.3f}; "
          f"1 heatmap cell = {cell_px:.2f} px for a {args.person_height:.0f} px person")
    print(f"{'precision':<18}{'max |dH|':>10}{'mean |dH|':>11}{'max/range':>11}"
          f"{'argmax kp err (cells) mean/p99/max':>36}{'px mean':>9}{'dark px mean':>13}")
    rows = [("fp32 (batch " + str(max(1, args.batch_size // 2)) + ")", "fp32", max(1, args.batch_size // 2))]
    rows += [(pr, pr, args.batch_size) for pr in args.precisions.split(",") if pr]
    for label, precision, batch in rows:
        try:
            hm, _ = heatmaps(precision, batch)
        except (RuntimeError, NotImplementedError) as e:   # e.g. fp16 kernels missing on an old CPU build
            print(f"{label:<18} not available: {e}")
            continue
        diff = hm - ref
        err = diff / span                                   # relative error field
        out = {}
        for method in ("argmax", "dark"):
            a, _ = decode_heatmaps(ideal, method)
            b, _ = decode_heatmaps(ideal + err.astype(np.float32), method)
            out[method] = np.linalg.norm(a - b, axis=-1)
        d = out["argmax"]
        print(f"{label:<18}{np.abs(diff).max():>10.2e}{np.abs(diff).mean():>11.2e}{np.abs(diff).max() / span:>11.2e}"
              f"{d.mean():>16.4f} / {np.percentile(d, 99):.4f} / {d.max():.4f}"
              f"{d.mean() * cell_px:>9.4f}{out['dark'].mean() * cell_px:>13.4f}")
    print("kp err: displacement of decoded keypoints on ideal heatmaps (sigma 2, peak 1) after adding "
          "the measured relative error field; argmax = official decoding; criterion: mean < 0.1 px")


if __name__ == "__main__":
    main()
