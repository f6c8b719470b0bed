"""Pose-stage throughput (persons/s) for each model, flip test, backend, precision and batch size.

    python benchmarks/pose_throughput.py --quick                     # CPU: W32 256x192, ~1 minute
    python benchmarks/pose_throughput.py --models w48_384x288 --flip on --batch-sizes 1,8
    python benchmarks/pose_throughput.py --official ~/deep-high-resolution-net.pytorch   # side by side
    python benchmarks/pose_throughput.py --device cuda --models w48_384x288 --compile   # on a GPU

A person is one crop through normalisation, the network (twice with the flip test, in one
forward pass), flip-back and decoding (argmax on the device), from crops already cut: the
pose stage without the crop cutting. Weights are seeded random (speed does not depend on them).

Every figure is also given as a ratio against the baseline measured in the same run: plain
eager fp32 at batch 1 (BatchNorm not folded, NCHW layout: the official model's forward, which
ours equals in speed). ``--official PATH`` also runs the official implementation
(leoxiaobin/deep-high-resolution-net.pytorch, a local checkout: only ``lib/models/pose_hrnet.py``
is imported) at batch 1 and at the largest batch, with the same flip test around it.

The same script runs unchanged on CPU and GPU; defaults depend on the device.
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import time
from pathlib import Path

import numpy as np

CPU_DEFAULTS = dict(models="w32_256x192,w48_384x288", flip="on,off", precisions="fp32,bf16",
                    batch_sizes="1,8", backends="torch,onnxruntime")
GPU_DEFAULTS = dict(models="w32_256x192,w32_384x288,w48_256x192,w48_384x288", flip="on,off",
                    precisions="fp32,fp16,bf16", batch_sizes="1,32,128", backends="torch")


def official_model(checkout: Path, cfg):
    """The official PoseHighResolutionNet for one of our configs, from a user's checkout."""
    path = Path(checkout).expanduser() / "lib" / "models" / "pose_hrnet.py"
    spec = importlib.util.spec_from_file_location("official_pose_hrnet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    extra = {"PRETRAINED_LAYERS": ["*"], "FINAL_CONV_KERNEL": cfg.final_conv_kernel}
    for n, st in enumerate(cfg.stages[1:], start=2):
        extra[f"STAGE{n}"] = {"NUM_MODULES": st.modules, "NUM_BRANCHES": st.branches, "BLOCK": st.block.upper(),
                              "NUM_BLOCKS": list(st.blocks), "NUM_CHANNELS": list(st.channels), "FUSE_METHOD": "SUM"}
    net = module.get_pose_net({"MODEL": {"NUM_JOINTS": cfg.num_joints, "EXTRA": extra, "INIT_WEIGHTS": False}},
                              is_train=False)
    net.config = cfg
    return net.eval()


def machine(device) -> str:
    import torch

    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"


def measure(est, crops, min_seconds: float, sync) -> float:
    """Persons per second of ``est.keypoints_from_crops`` (one warm-up call, then at least 2 timed)."""
    est.keypoints_from_crops(crops)
    sync()
    calls, t0 = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - t0 < min_seconds:
        est.keypoints_from_crops(crops)
        calls += 1
    sync()
    return calls * len(crops) / (time.perf_counter() - t0)


def main() -> None:
    import torch

    from posetrack.models.registry import build_pose_model, seeded_state_dict
    from posetrack.models.devices import resolve_device
    from posetrack.pose.estimator import PoseEstimator

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--models")
    p.add_argument("--flip", help="on, off or on,off")
    p.add_argument("--precisions")
    p.add_argument("--batch-sizes")
    p.add_argument("--backends")
    p.add_argument("--compile", action="store_true", help="also measure torch.compile (+ CUDA graphs on GPU)")
    p.add_argument("--compile-precisions", default="fp16", help="precisions measured with --compile (each compiles once)")
    p.add_argument("--official", type=Path, help="a checkout of leoxiaobin/deep-high-resolution-net.pytorch")
    p.add_argument("--threads", type=int)
    p.add_argument("--seconds", type=float, default=None, help="minimum timed seconds per figure")
    p.add_argument("--rounds", type=int, default=2, help="measure every configuration this often; keep the best")
    p.add_argument("--quick", action="store_true", help="one model, flip on, two precisions")
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(resolve_device(args.device))
    defaults = GPU_DEFAULTS if device.type == "cuda" else CPU_DEFAULTS
    if args.quick:
        defaults = dict(defaults, models="w32_256x192" if device.type == "cpu" else "w48_384x288", flip="on",
                        backends="torch,onnxruntime" if device.type == "cpu" else "torch")
    opt = {k: getattr(args, k) or v for k, v in defaults.items()}
    seconds = args.seconds if args.seconds is not None else (1.0 if device.type == "cuda" else 2.0)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    batches = [int(b) for b in opt["batch_sizes"].split(",")]
    print(f"machine: {machine(device)}")
    rows = []

    def report(model_name, flip, label, precision, batch, pps, base):
        rows.append(dict(model=model_name, flip=flip, config=label, precision=precision, batch=batch,
                         persons_per_s=pps, ratio=pps / base))
        print(f"{model_name:<13}{'on' if flip else 'off':<5}{label:<34}{precision:<6}{batch:>6}{pps:>12.1f}"
              f"{pps / base:>8.2f}x", flush=True)

    print(f"{'model':<13}{'flip':<5}{'configuration':<34}{'prec':<6}{'batch':>6}{'persons/s':>12}{'ratio':>9}")
    for name in opt["models"].split(","):
        model = build_pose_model(name)
        model.load_state_dict(seeded_state_dict(model, 0))
        h, w = model.config.input_size
        per_call = 2 if device.type == "cuda" else 1      # batches per timed call
        n = max(batches) * per_call
        crops = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (n, 3, h, w), dtype=np.uint8))
        crops = crops.to(device)
        for flip in [f == "on" for f in opt["flip"].split(",")]:
            configs = [("baseline: eager, BN, NCHW", "fp32", 1, model, dict(fuse_bn=False, channels_last=False))]
            if args.official is not None:
                off = official_model(args.official, model.config)
                off.load_state_dict(model.state_dict())
                configs += [("official (checkout), eager", "fp32", b, off, dict(fuse_bn=False, channels_last=False))
                            for b in sorted({1, max(batches)})]
            if max(batches) > 1:
                configs.append(("eager, BN, NCHW", "fp32", max(batches), model,
                                dict(fuse_bn=False, channels_last=False)))
            for backend in opt["backends"].split(","):
                label = "torch: BN folded, channels_last" if backend == "torch" else f"{backend}: BN folded"
                configs += [(label, pr, b, model, dict(backend=backend)) for pr in opt["precisions"].split(",")
                            for b in batches if backend == "torch" or pr == "fp32"]
            if args.compile:
                label = "torch.compile" + (" + CUDA graphs" if device.type == "cuda" else "")
                configs += [(label, pr, max(batches), model, dict(compile=True, static_batch=True))
                            for pr in args.compile_precisions.split(",")]
            best = {}
            estimators = {}
            for _ in range(args.rounds):        # round-robin, best of rounds: robust to a busy machine
                for i, (label, precision, b, net, kw) in enumerate(configs):
                    if estimators.get(i, 0) is None:
                        continue
                    try:
                        if i not in estimators:
                            estimators[i] = PoseEstimator(net, flip_test=flip, device=device, batch_size=b,
                                                          precision=precision, **kw)
                        pps = measure(estimators[i], crops[:b * per_call], seconds, sync)
                    except Exception as e:  # a missing package or kernel: say so, go on
                        estimators[i] = None
                        print(f"{name:<13}{'on' if flip else 'off':<5}{label:<34}{precision:<6}{b:>6}  "
                              f"not available: {type(e).__name__}: {str(e)[:80]}")
                        continue
                    best[i] = max(best.get(i, 0.0), pps)
            base = best[0]
            for i, (label, precision, b, _, _) in enumerate(configs):
                if i in best:
                    report(name, flip, label, precision, b, best[i], base)
            estimators.clear()
    if args.json:
        import json

        args.json.write_text(json.dumps({"machine": machine(device), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
