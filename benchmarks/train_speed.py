"""Training throughput (samples/s of one optimiser step: forward, loss, backward, Adam) per precision and layout.

    python benchmarks/train_speed.py --quick                          # CPU: hrnet_tiny, a few seconds
    python benchmarks/train_speed.py --device cuda                    # GPU: W32/W48, fp32 vs fp16, NCHW vs NHWC
    python benchmarks/train_speed.py --device cuda --models w48_384x288 --batch 24

The step is the one ``posetrack train`` runs (the same loss, autocast and GradScaler) on random crops and
targets, so data loading is left out: it measures what the GPU can take, and ``--workers`` in the training
config must keep up with it. Every figure is also a ratio against fp32 NCHW of the same model, measured in
the same run, round-robin (best of ``--rounds``), so a busy machine shifts them alike. An epoch of COCO
train2017 (149,813 people) then takes 149,813 / (samples/s) seconds on one device.
"""
from __future__ import annotations

import argparse
import time

import torch

from posetrack.models.registry import build_pose_model
from posetrack.training.loss import joints_mse_loss


def step_time(model, batch: int, precision: str, channels_last: bool, device: str, steps: int) -> float:
    """Seconds per optimiser step (median of ``steps`` after a warm-up)."""
    dev = torch.device(device)
    h, w = model.config.input_size
    x = torch.randn(batch, 3, h, w, device=dev)
    target = torch.rand(batch, model.config.num_joints, h // 4, w // 4, device=dev)
    weight = torch.ones(batch, model.config.num_joints, 1, device=dev)
    net = model.to(dev).train()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(dev.type, enabled=precision == "fp16")
    times = []
    for i in range(steps + 2):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            out = net(x)
        loss = joints_mse_loss(out, target, weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default=None, help="comma-separated model configs")
    parser.add_argument("--batch", type=int, default=None, help="samples per step (one device's share)")
    parser.add_argument("--precisions", default=None, help="comma-separated: fp32,fp16,bf16")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="hrnet_tiny on the CPU only")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    models = (args.models or ("hrnet_tiny_128x96" if args.quick or not cuda else
                              "w32_256x192,w32_384x288,w48_256x192,w48_384x288")).split(",")
    precisions = (args.precisions or ("fp32,fp16" if cuda else "fp32,bf16")).split(",")
    batch = args.batch or (32 if cuda else 8)
    print(f"device {args.device} ({torch.cuda.get_device_name() if cuda else 'cpu'}), torch {torch.__version__}, "
          f"batch {batch}, {torch.get_num_threads()} threads")
    for name in models:
        model = build_pose_model(name)
        configs = [(p, cl) for p in precisions for cl in (False, True)]
        best = {c: float("inf") for c in configs}
        for _ in range(args.rounds):
            for c in configs:
                best[c] = min(best[c], step_time(model, batch, c[0], c[1], args.device, args.steps))
        base = best[("fp32", False)]
        for (precision, cl), t in best.items():
            print(f"{name:18s} {precision:5s} {'NHWC' if cl else 'NCHW'}  {batch / t:8.1f} samples/s  "
                  f"{base / t:5.2f}x fp32 NCHW")


if __name__ == "__main__":
    main()
