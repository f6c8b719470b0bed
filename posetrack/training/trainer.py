"""The training loop behind ``posetrack train``: the official HRNet recipe, resumable and distributed.

One call of :func:`train` reads the data, builds HRNet for the layout, loads the starting weights,
and runs epochs of Adam steps on augmented crops (:mod:`posetrack.training.dataset`), validating
with COCO keypoint AP (:mod:`posetrack.training.validation`) and writing checkpoints, ``log.csv`` and
``curves.png`` into the output folder. Under ``torchrun`` (``WORLD_SIZE`` > 1) it runs as one DDP
process per GPU (gloo on CPUs); every process takes its share of the same global batches.

Reproducibility: the data order and every crop come from the seed (per sample, independent of
workers and processes); a resume restores the model, Adam, the gradient scaler, the log's
running sums and the position in the epoch, so it ends with the weights an uninterrupted run ends
with (bit for bit on a CPU; GPU kernels may add their own nondeterminism).

Example:
    >>> from posetrack.training import load_train_config, train
    >>> summary = train(load_train_config("coco_w32_256x192"), "data/coco", "runs/w32")   # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Optional, Tuple, Union

import numpy as np
import torch

from posetrack.errors import InputError, OutputExistsError, PosetrackError, ResumeError
from posetrack.training.checkpoints import BEST, FINAL, RESUME, build_meta, load_resume, save_checkpoint
from posetrack.training.config import TrainConfig, config_to_dict

__all__ = ["TrainEvent", "TrainSummary", "train", "OUTPUT_FILES", "MissingDependencyError"]

log = logging.getLogger(__name__)

#: Files a run writes into its output folder (``--force`` replaces them; others are left alone).
OUTPUT_FILES = (RESUME, BEST, FINAL, "log.csv", "curves.png")


@dataclass(frozen=True)
class TrainEvent:
    """A progress report (the callback's argument).

    Attributes:
        phase: ``start``, ``step``, ``validate`` (an image count in ``done``/``total``), ``epoch``
            (an epoch finished; ``metrics`` holds its validation) or ``done``.
        epoch: 0-based epoch; epochs: the run's number of epochs.
        step: optimiser steps done; total_steps: the run's total.
        loss: mean training loss since the last ``step`` event (None outside steps).
        lr: current learning rate.
        eta: seconds left at the recent step rate (None until known).
        metrics: validation metrics (``AP``, ``AR``, ...) of an ``epoch`` event that validated.
        done, total: progress inside a validation.
    """

    phase: str
    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: Optional[float] = None
    lr: float = 0.0
    eta: Optional[float] = None
    metrics: Dict[str, float] = field(default_factory=dict)
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class TrainSummary:
    """What a finished run did.

    Attributes:
        out: the output folder; epochs, steps: done in total (also before a resume).
        best_ap, final_ap: validation AP (None when never validated).
        seconds: wall time of this call; resumed_from: the global step it resumed at (0: fresh).
        people: training people; data_hash: SHA-256 of the annotation files.
        rank, world: this process's rank and the number of processes (DDP; 0 and 1 otherwise).
    """

    out: Path
    epochs: int
    steps: int
    best_ap: Optional[float]
    final_ap: Optional[float]
    seconds: float
    resumed_from: int
    people: int
    data_hash: str
    rank: int = 0
    world: int = 1


Progress = Callable[[TrainEvent], None]


class MissingDependencyError(PosetrackError, RuntimeError):
    """A package that training needs is not installed (the message gives the pip command)."""


def _check_dependencies(validating: bool, tensorboard: bool) -> None:
    import importlib.util

    wanted = {"matplotlib": "train"}
    if validating:
        wanted["pycocotools"] = "train"
    if tensorboard:
        wanted["tensorboard"] = "tensorboard"
    missing = [name for name in wanted if importlib.util.find_spec(name) is None]
    if missing:
        extras = ",".join(dict.fromkeys(wanted[m] for m in missing))
        raise MissingDependencyError(f"training needs {', '.join(missing)}: pip install \"posetrack[{extras}]\"")


def _distributed(device: str) -> Tuple[int, int, str]:
    """(rank, world size, device) under torchrun's environment; (0, 1, device) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    import torch.distributed as dist

    cuda = device.startswith("cuda")
    if not dist.is_initialized():
        import datetime

        # the other processes wait while rank 0 validates (minutes on COCO val): longer than NCCL's default
        dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(hours=2))
    rank = dist.get_rank()
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    return rank, dist.get_world_size(), device


def _barrier(world: int) -> None:
    if world > 1:
        torch.distributed.barrier()


def _mean_over_ranks(value: float, world: int, device: str) -> float:
    if world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return float(t.item()) / world


def _prepare_out(out: Path, resume: bool, force: bool) -> Optional[Dict[str, Any]]:
    """Check the output folder; the resume state when resuming."""
    existing = [out / f for f in OUTPUT_FILES if (out / f).exists()]
    if resume:
        if not (out / RESUME).is_file():
            raise ResumeError(f"{out}: nothing to resume (no {RESUME})")
        return load_resume(out / RESUME)
    if existing and not force:
        raise OutputExistsError(f"{out} already holds a training run ({', '.join(p.name for p in existing)}); "
                                "resume it, or overwrite it", path=out, resumable=(out / RESUME).is_file(),
                                field="out")
    for p in existing:
        p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return None


def _check_resume(state: Dict[str, Any], config: TrainConfig, data_hash: str, out: Path) -> None:
    meta = state["meta"]
    saved, now = meta.get("train_config", {}), config_to_dict(config)
    for d in (saved, now):
        d.get("data", {}).pop("workers", None)
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if diff:
        raise ResumeError(f"{out / RESUME} was made with other settings ({', '.join(diff)} differ); resume with the "
                          "same config, or start a new run")
    if meta.get("data_hash") != data_hash:
        raise ResumeError(f"{out / RESUME} was made on other annotation files (data hash "
                          f"{str(meta.get('data_hash'))[:12]} vs {data_hash[:12]})")


class _Rate:
    """Steps per second over the last ``window`` steps (for the ETA)."""

    def __init__(self, window: int = 20):
        self.times: Deque[Tuple[float, int]] = deque(maxlen=window)

    def add(self, step: int) -> None:
        self.times.append((time.perf_counter(), step))

    def eta(self, left: int) -> Optional[float]:
        if len(self.times) < 2:
            return None
        (t0, s0), (t1, s1) = self.times[0], self.times[-1]
        return left * (t1 - t0) / (s1 - s0) if s1 > s0 and t1 > t0 else None


@dataclass
class _Sums:
    """Running loss sums: since the last logged step row, and over the current epoch."""

    log_sum: float = 0.0
    log_count: int = 0
    epoch_sum: float = 0.0
    epoch_count: int = 0


def _setup_model(config: TrainConfig, layout, device: str, resume_state: Optional[Dict[str, Any]]):
    from posetrack.keypoints import LAYOUTS
    from posetrack.models.hrnet import HRNet
    from posetrack.models.registry import load_model_config
    from posetrack.training.batchnorm import group_batchnorm
    from posetrack.training.finetune import init_model

    model_cfg = load_model_config(config.model)
    named = LAYOUTS.get(layout.layout.name)
    custom = None if named is not None and named.names == layout.layout.names else layout.layout
    model_cfg = dataclasses.replace(model_cfg, keypoints=layout.layout.name, num_joints=layout.num_keypoints,
                                    custom_layout=custom)
    model = HRNet(model_cfg.hrnet_spec())
    model.config = model_cfg
    if resume_state is not None:
        model.load_state_dict(resume_state["state_dict"])
        init = resume_state["meta"].get("init", {})
    else:
        init = init_model(model, model_cfg, config.weights, layout.layout, config.head_init, config.seed)
    group_batchnorm(model, config.optimizer.batchnorm_batch or 0)
    return model.to(device), model_cfg, init


def _read_sets(config: TrainConfig, data: Path, layout):
    from posetrack.training.data import data_hash, find_split, read_keypoint_files

    files, bases = find_split(data, config.data.format, config.data.train)
    train_set = read_keypoint_files(files, bases, layout.layout)
    val_set, val_files = None, []
    if config.data.val and config.validation.every > 0:
        val_files, vbases = find_split(data, config.data.format, config.data.val)
        val_set = read_keypoint_files(val_files, vbases, layout.layout)
    return train_set, val_set, data_hash(list(files) + list(val_files))


def train(config: TrainConfig, data: Union[str, Path], out: Union[str, Path], *, device: str = "auto",
          resume: bool = False, force: bool = False, tensorboard: bool = False,
          progress: Optional[Progress] = None) -> TrainSummary:
    """Train (or fine-tune) HRNet with the official recipe; see the module docstring.

    Args:
        config: the recipe (:func:`posetrack.training.config.load_train_config`).
        data: the data set's root folder (:func:`posetrack.training.data.find_split`).
        out: the output folder (checkpoints, ``log.csv``, ``curves.png``).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``; under torchrun each process takes its local GPU.
        resume: continue from ``out/checkpoint.pth`` (same config and data required).
        force: replace an earlier run's files in ``out``.
        tensorboard: also write TensorBoard events (``out/tensorboard``).
        progress: called with a :class:`TrainEvent` at the start, after every step, during
            validation, after every epoch and at the end (on rank 0 only).

    Raises:
        InputError / FormatError: bad data (file, annotation and field named), fewer people than a batch.
        ConfigError: bad settings.
        OutputExistsError: ``out`` holds a run and neither ``resume`` nor ``force`` was given.
        ResumeError: nothing to resume, or the checkpoint was made with another config or data.
        CheckpointError / WeightsError: starting weights that cannot be used.
    """
    from posetrack.models.backends import resolve_precision
    from posetrack.models.devices import resolve_device
    from posetrack.training.dataset import CropSettings, EpochBatches, KeypointDataset, collate
    from posetrack.training.finetune import freeze_stages
    from posetrack.training.history import TrainLog, plot_curves
    from posetrack.training.layouts import load_layout
    from posetrack.training.loss import joints_mse_loss
    from posetrack.training.schedule import build_optimizer, step_lr

    t_start = time.perf_counter()
    _check_dependencies(bool(config.data.val) and config.validation.every > 0, tensorboard)
    rank, world, device = _distributed(resolve_device(device))
    out, data = Path(out), Path(data)
    emit = progress if (progress is not None and rank == 0) else (lambda event: None)
    state = _prepare_out(out, resume, force) if rank == 0 else None
    _barrier(world)
    if rank != 0 and resume:
        state = load_resume(out / RESUME)
    layout = load_layout(config.data.layout_name)
    train_set, val_set, data_hash = _read_sets(config, data, layout)
    if state is not None:
        _check_resume(state, config, data_hash, out)
    model, model_cfg, init = _setup_model(config, layout, device, state)
    opt = config.optimizer
    if len(train_set) < opt.batch_size:
        raise InputError(f"{data}: {len(train_set)} training people, fewer than one batch of {opt.batch_size}")
    dev = torch.device(device)
    precision = resolve_precision(config.precision, dev.type)
    amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    channels_last = config.channels_last if config.channels_last is not None else dev.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    frozen = freeze_stages(model, config.freeze_stages)
    optimizer = build_optimizer([p for p in model.parameters() if p.requires_grad], opt)
    scaler = torch.amp.GradScaler(dev.type, enabled=precision == "fp16")
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    h, w = model_cfg.input_size
    crops = CropSettings(input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=config.targets.sigma,
                         seed=config.seed)
    dataset = KeypointDataset(train_set, layout, crops, config.augment)
    mean = torch.tensor(model_cfg.mean, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(model_cfg.std, device=dev).view(1, 3, 1, 1)
    meta = build_meta(model_cfg, layout.layout, config, data_hash, init=init, frozen=list(frozen))
    history = TrainLog(out, tensorboard=tensorboard) if rank == 0 else None
    sums = _Sums()
    epoch0, step0, global_step, best_ap, final_ap = 0, 0, 0, None, None
    if state is not None:
        net_state = state
        optimizer.load_state_dict(net_state["optimizer"])
        scaler.load_state_dict(net_state["scaler"])
        epoch0, step0, global_step = net_state["epoch"], net_state["step"], net_state["global_step"]
        best_ap, final_ap = net_state.get("best_ap"), net_state.get("final_ap")
        sums = _Sums(**net_state["sums"])
        if history is not None:
            history.resume(global_step)
    steps_per_epoch = len(train_set) // opt.batch_size
    total_steps = steps_per_epoch * opt.epochs
    resumed_from = global_step
    rate = _Rate()

    def save_resume(epoch: int, step: int) -> None:
        if rank == 0:
            save_checkpoint(out / RESUME, model, meta, optimizer=optimizer.state_dict(), scaler=scaler.state_dict(),
                            epoch=epoch, step=step, global_step=global_step, best_ap=best_ap, final_ap=final_ap,
                            sums=dataclasses.asdict(sums))

    emit(TrainEvent("start", epoch0, opt.epochs, global_step, total_steps, lr=step_lr(opt, epoch0, global_step)))
    if rank == 0:
        log.info("training %s (%s layout, %d keypoints) on %d people, %d steps per epoch, %s x %d, %s", model_cfg.name,
                 layout.layout.name, layout.num_keypoints, len(train_set), steps_per_epoch, device, world, precision)
    for epoch in range(epoch0, opt.epochs):
        batches = EpochBatches(len(train_set), opt.batch_size, config.seed, epoch,
                               start=step0 if epoch == epoch0 else 0, rank=rank, world=world)
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=batches, num_workers=config.data.workers,
                                             collate_fn=collate, pin_memory=dev.type == "cuda")
        net.train()
        freeze_stages(model, config.freeze_stages)
        step = batches.start
        for batch in loader:
            lr = step_lr(opt, epoch, global_step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x = batch["image"].to(dev, non_blocking=True).float()
            x = (x / 255.0 - mean) / std                 # ToTensor, then Normalize (official order)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            target = batch["target"].to(dev, non_blocking=True)
            weight = batch["target_weight"].to(dev, non_blocking=True) if config.targets.use_target_weight else None
            with torch.autocast(dev.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                output = net(x)
            loss = joints_mse_loss(output, target, weight)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            global_step += 1
            step += 1
            value = _mean_over_ranks(float(loss.detach()), world, device)
            if not math.isfinite(value):
                raise InputError(f"the training loss became {value} at step {global_step} (epoch {epoch}); "
                                 "lower the learning rate, or use precision fp32")
            sums.log_sum += value
            sums.log_count += 1
            sums.epoch_sum += value
            sums.epoch_count += 1
            rate.add(global_step)
            if history is not None and global_step % config.log_every == 0:
                history.add(kind="step", epoch=epoch, step=global_step, lr=lr, loss=sums.log_sum / sums.log_count,
                            seconds=round(time.perf_counter() - t_start, 3))
                sums.log_sum, sums.log_count = 0.0, 0
            emit(TrainEvent("step", epoch, opt.epochs, global_step, total_steps, loss=value, lr=lr,
                            eta=rate.eta(total_steps - global_step)))
            if config.checkpoint_every and global_step % config.checkpoint_every == 0 and step < batches.steps:
                save_resume(epoch, step)
        metrics: Dict[str, float] = {}
        last = epoch == opt.epochs - 1
        every = config.validation.every
        if val_set is not None and every > 0 and ((epoch + 1) % every == 0 or last):
            if rank == 0:
                metrics = _validate(model, val_set, config, device, precision, emit, epoch, global_step, total_steps)
                final_ap = metrics["AP"]
                if best_ap is None or final_ap > best_ap:
                    best_ap = final_ap
                    save_checkpoint(out / BEST, model, {**meta, "epoch": epoch + 1, "metrics": metrics})
            _barrier(world)
        epoch_loss = sums.epoch_sum / max(sums.epoch_count, 1)
        sums.epoch_sum, sums.epoch_count = 0.0, 0
        if history is not None:
            history.add(kind="epoch", epoch=epoch, step=global_step, lr=step_lr(opt, epoch, global_step - 1),
                        loss=epoch_loss, seconds=round(time.perf_counter() - t_start, 3),
                        **{k: metrics.get(k) for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")})
            plot_curves(history.rows, out / "curves.png", title=f"{model_cfg.name}, {layout.layout.name} layout")
        save_resume(epoch + 1, 0)
        emit(TrainEvent("epoch", epoch, opt.epochs, global_step, total_steps, loss=epoch_loss,
                        lr=step_lr(opt, epoch, global_step - 1), eta=rate.eta(total_steps - global_step),
                        metrics=metrics))
        _barrier(world)
    if rank == 0:
        save_checkpoint(out / FINAL, model, {**meta, "epoch": opt.epochs, "metrics": {"AP": final_ap}})
    if history is not None:
        history.close()
    emit(TrainEvent("done", opt.epochs - 1, opt.epochs, global_step, total_steps, lr=step_lr(opt, opt.epochs - 1, 0)))
    _barrier(world)
    return TrainSummary(out=out, epochs=opt.epochs, steps=global_step, best_ap=best_ap, final_ap=final_ap,
                        seconds=time.perf_counter() - t_start, resumed_from=resumed_from, people=len(train_set),
                        data_hash=data_hash, rank=rank, world=world)


def _validate(model, val_set, config: TrainConfig, device: str, precision: str, emit, epoch: int, step: int,
              total_steps: int) -> Dict[str, float]:
    """COCO AP through the PoseEstimator path ``run`` uses (BatchNorm folded into a copy of the model)."""
    from posetrack.pose.estimator import PoseEstimator
    from posetrack.training.validation import validate

    estimator = PoseEstimator(model, flip_test=config.validation.flip_test, device=device,
                              batch_size=config.validation.batch_size, precision=precision, crop="auto")
    result = validate(estimator, val_set, config.validation, config.data.detections,
                      progress=lambda done, total: emit(TrainEvent("validate", epoch, config.optimizer.epochs, step,
                                                                   total_steps, done=done, total=total)))
    log.info("epoch %d: AP %.4f on %d images (%d people, %.1f s)", epoch + 1, result.ap, result.images, result.people,
             result.seconds)
    return result.stats
