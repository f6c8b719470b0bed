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

import torch

from posetrack.errors import InputError, MissingDependencyError, OutputExistsError, ResumeError
from posetrack.training.checkpoints import BEST, FINAL, RESUME, build_meta, load_resume, save_checkpoint
from posetrack.training.config import TrainConfig, config_to_dict
from posetrack.training.loss import joints_mse_loss

__all__ = ["TrainEvent", "TrainSummary", "train", "OUTPUT_FILES"]

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
        raise MissingDependencyError(f"training needs {', '.join(missing)}", extras)


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
            raise ResumeError(f"{out}: nothing to resume (no {RESUME})", field="out", fields=("resume=False",))
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


def _grad_scaler(device_type: str, enabled: bool):
    """fp16's loss scaler (``torch.amp.GradScaler`` from torch 2.3; ``torch.cuda.amp`` before)."""
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device_type, enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled and device_type == "cuda")


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

    base_cfg = load_model_config(config.model)          # its keypoints: the layout of weights without a record
    named = LAYOUTS.get(layout.layout.name)
    custom = None if named is not None and named.names == layout.layout.names else layout.layout
    model_cfg = dataclasses.replace(base_cfg, keypoints=layout.layout.name, num_joints=layout.num_keypoints,
                                    custom_layout=custom)
    model = HRNet(model_cfg.hrnet_spec())
    model.config = model_cfg
    if resume_state is not None:
        model.load_state_dict(resume_state["state_dict"])
        init = resume_state["meta"].get("init", {})
    else:
        init = init_model(model, base_cfg, config.weights, layout.layout, config.head_init, config.seed)
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
    from posetrack.models.devices import resolve_device
    from posetrack.training.layouts import load_layout

    t_start = time.perf_counter()
    _check_dependencies(bool(config.data.val) and config.validation.every > 0, tensorboard)
    rank, world, device = _distributed(resolve_device(device))
    out, data = Path(out), Path(data)
    state = _prepare_out(out, resume, force) if rank == 0 else None
    _barrier(world)
    if rank != 0 and resume:
        state = load_resume(out / RESUME)
    layout = load_layout(config.data.layout_name)
    train_set, val_set, data_hash = _read_sets(config, data, layout)
    if state is not None:
        _check_resume(state, config, data_hash, out)
    if len(train_set) < config.optimizer.batch_size:
        raise InputError(f"{data}: {len(train_set)} training people, fewer than one batch of "
                         f"{config.optimizer.batch_size}", field="optimizer.batch_size", fields=("data",))
    model, model_cfg, init = _setup_model(config, layout, device, state)
    run = _Run(config, out, model, model_cfg, layout, train_set, val_set, device, rank, world,
               progress if (progress is not None and rank == 0) else None, tensorboard, t_start)
    run.meta = build_meta(model_cfg, layout.layout, config, data_hash, init=init, frozen=list(run.frozen))
    if state is not None:
        run.restore(state)
    resumed_from = run.global_step
    run.fit()
    return TrainSummary(out=out, epochs=config.optimizer.epochs, steps=run.global_step, best_ap=run.best_ap,
                        final_ap=run.final_ap, seconds=time.perf_counter() - t_start, resumed_from=resumed_from,
                        people=len(train_set), data_hash=data_hash, rank=rank, world=world)


class _Run:
    """One training run's state and its loop: epochs of steps, validation, records and checkpoints."""

    def __init__(self, config: TrainConfig, out: Path, model, model_cfg, layout, train_set, val_set, device: str,
                 rank: int, world: int, progress: Optional[Progress], tensorboard: bool, t_start: float):
        from posetrack.models.backends import resolve_precision
        from posetrack.training.dataset import CropSettings, KeypointDataset
        from posetrack.training.finetune import freeze_stages
        from posetrack.training.history import TrainLog
        from posetrack.training.schedule import build_optimizer

        self.config, self.out, self.model_cfg, self.layout = config, out, model_cfg, layout
        self.train_set, self.val_set, self.rank, self.world = train_set, val_set, rank, world
        self.device, self.dev = device, torch.device(device)
        self.progress, self.t_start = progress, t_start
        self.precision = resolve_precision(config.precision, self.dev.type)
        self.amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(self.precision)
        self.channels_last = config.channels_last if config.channels_last is not None else self.dev.type == "cuda"
        self.model = model.to(memory_format=torch.channels_last) if self.channels_last else model
        self.frozen = freeze_stages(self.model, config.freeze_stages)
        self.optimizer = build_optimizer([p for p in self.model.parameters() if p.requires_grad], config.optimizer)
        self.scaler = _grad_scaler(self.dev.type, self.precision == "fp16")
        self.net = self.model if world == 1 else torch.nn.parallel.DistributedDataParallel(
            self.model, device_ids=[self.dev.index] if self.dev.type == "cuda" else None)
        h, w = model_cfg.input_size
        crops = CropSettings(input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=config.targets.sigma,
                             seed=config.seed)
        self.dataset = KeypointDataset(train_set, layout, crops, config.augment)
        self.mean = torch.tensor(model_cfg.mean, device=self.dev).view(1, 3, 1, 1)
        self.std = torch.tensor(model_cfg.std, device=self.dev).view(1, 3, 1, 1)
        self.history = TrainLog(out, tensorboard=tensorboard) if rank == 0 else None
        self.meta: Dict[str, Any] = {}
        self.sums = _Sums()
        self.epoch0, self.step0, self.global_step = 0, 0, 0
        self.best_ap: Optional[float] = None
        self.final_ap: Optional[float] = None
        self.steps_per_epoch = len(train_set) // config.optimizer.batch_size
        self.total_steps = self.steps_per_epoch * config.optimizer.epochs
        self.rate = _Rate()

    def restore(self, state: Dict[str, Any]) -> None:
        """Continue from a resume checkpoint (the model's weights are already loaded)."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch0, self.step0, self.global_step = state["epoch"], state["step"], state["global_step"]
        self.best_ap, self.final_ap = state.get("best_ap"), state.get("final_ap")
        self.sums = _Sums(**state["sums"])
        if self.history is not None:
            self.history.resume(self.global_step)

    def emit(self, phase: str, epoch: int, **fields: Any) -> None:
        if self.progress is not None:
            self.progress(TrainEvent(phase, epoch, self.config.optimizer.epochs, self.global_step, self.total_steps,
                                     **fields))

    def lr(self, epoch: int, step: int) -> float:
        from posetrack.training.schedule import step_lr

        return step_lr(self.config.optimizer, epoch, step)

    def fit(self) -> None:
        """Every epoch left, then the final weights."""
        epochs = self.config.optimizer.epochs
        self.emit("start", self.epoch0, lr=self.lr(self.epoch0, self.global_step))
        if self.rank == 0:
            log.info("training %s (%s layout, %d keypoints) on %d people, %d steps per epoch, %s x %d, %s",
                     self.model_cfg.name, self.layout.layout.name, self.layout.num_keypoints, len(self.train_set),
                     self.steps_per_epoch, self.device, self.world, self.precision)
        for epoch in range(self.epoch0, epochs):
            self.train_epoch(epoch, self.step0 if epoch == self.epoch0 else 0)
            self.end_epoch(epoch)
        if self.rank == 0:
            save_checkpoint(self.out / FINAL, self.model, {**self.meta, "epoch": epochs, "metrics": {"AP": self.final_ap}})
        if self.history is not None:
            self.history.close()
        self.emit("done", epochs - 1, lr=self.lr(epochs - 1, 0))
        _barrier(self.world)

    def train_epoch(self, epoch: int, start: int) -> None:
        """The optimiser steps of one epoch, from its global batch ``start`` on."""
        from posetrack.training.dataset import EpochBatches, collate
        from posetrack.training.finetune import freeze_stages

        cfg = self.config
        batches = EpochBatches(len(self.train_set), cfg.optimizer.batch_size, cfg.seed, epoch, start=start,
                               rank=self.rank, world=self.world)
        loader = torch.utils.data.DataLoader(self.dataset, batch_sampler=batches, num_workers=cfg.data.workers,
                                             collate_fn=collate, pin_memory=self.dev.type == "cuda")
        self.net.train()
        freeze_stages(self.model, cfg.freeze_stages)
        step = start
        for batch in loader:
            lr = self.lr(epoch, self.global_step)
            value = self.step(batch, lr)
            self.global_step += 1
            step += 1
            if not math.isfinite(value):
                raise InputError(f"the training loss became {value} at step {self.global_step} (epoch {epoch + 1}); "
                                 "lower the learning rate, or use precision fp32", field="optimizer.lr",
                                 fields=("precision=fp32",))
            self.record_step(epoch, lr, value)
            if cfg.checkpoint_every and self.global_step % cfg.checkpoint_every == 0 and step < batches.steps:
                self.save_resume(epoch, step)

    def step(self, batch: Dict[str, Any], lr: float) -> float:
        """One optimiser step on a batch; returns its loss (averaged over the processes)."""
        dev = self.dev
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x = batch["image"].to(dev, non_blocking=True).float()
        x = (x / 255.0 - self.mean) / self.std                 # ToTensor, then Normalize (official order)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        target = batch["target"].to(dev, non_blocking=True)
        weight = (batch["target_weight"].to(dev, non_blocking=True) if self.config.targets.use_target_weight
                  else None)
        with torch.autocast(dev.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None):
            output = self.net(x)
        loss = joints_mse_loss(output, target, weight)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return _mean_over_ranks(float(loss.detach()), self.world, self.device)

    def record_step(self, epoch: int, lr: float, value: float) -> None:
        sums = self.sums
        sums.log_sum += value
        sums.log_count += 1
        sums.epoch_sum += value
        sums.epoch_count += 1
        self.rate.add(self.global_step)
        if self.history is not None and self.global_step % self.config.log_every == 0:
            self.history.add(kind="step", epoch=epoch, step=self.global_step, lr=lr,
                             loss=sums.log_sum / sums.log_count, seconds=round(time.perf_counter() - self.t_start, 3))
            sums.log_sum, sums.log_count = 0.0, 0
        self.emit("step", epoch, loss=value, lr=lr, eta=self.rate.eta(self.total_steps - self.global_step))

    def end_epoch(self, epoch: int) -> None:
        """Validate when due, write the epoch's row, the plot and the resume checkpoint."""
        from posetrack.training.history import plot_curves

        every, last = self.config.validation.every, epoch == self.config.optimizer.epochs - 1
        metrics: Dict[str, float] = {}
        if self.val_set is not None and every > 0 and ((epoch + 1) % every == 0 or last):
            if self.rank == 0:
                metrics = self.validate(epoch)
            _barrier(self.world)
        sums = self.sums
        epoch_loss = sums.epoch_sum / max(sums.epoch_count, 1)
        sums.epoch_sum, sums.epoch_count = 0.0, 0
        lr = self.lr(epoch, self.global_step - 1)
        if self.history is not None:
            self.history.add(kind="epoch", epoch=epoch, step=self.global_step, lr=lr, loss=epoch_loss,
                             seconds=round(time.perf_counter() - self.t_start, 3),
                             **{k: metrics.get(k) for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")})
            plot_curves(self.history.rows, self.out / "curves.png",
                        title=f"{self.model_cfg.name}, {self.layout.layout.name} layout")
        self.save_resume(epoch + 1, 0)
        self.emit("epoch", epoch, loss=epoch_loss, lr=lr, eta=self.rate.eta(self.total_steps - self.global_step),
                  metrics=metrics)
        _barrier(self.world)

    def validate(self, epoch: int) -> Dict[str, float]:
        """COCO AP through the PoseEstimator path ``run`` uses; keeps ``model_best.pth``."""
        from posetrack.pose.estimator import PoseEstimator
        from posetrack.training.validation import validate

        cfg = self.config
        estimator = PoseEstimator(self.model, flip_test=cfg.validation.flip_test, device=self.device,
                                  batch_size=cfg.validation.batch_size, precision=self.precision, crop="auto")
        result = validate(estimator, self.val_set, cfg.validation, cfg.data.detections,
                          progress=lambda done, total: self.emit("validate", epoch, done=done, total=total))
        log.info("epoch %d: AP %.4f on %d images (%d people, %.1f s)", epoch + 1, result.ap, result.images,
                 result.people, result.seconds)
        self.final_ap = result.ap
        if self.best_ap is None or result.ap > self.best_ap:
            self.best_ap = result.ap
            save_checkpoint(self.out / BEST, self.model, {**self.meta, "epoch": epoch + 1, "metrics": result.stats})
        return result.stats

    def save_resume(self, epoch: int, step: int) -> None:
        """``checkpoint.pth``: everything a resume needs to continue at (epoch, step) exactly."""
        if self.rank == 0:
            save_checkpoint(self.out / RESUME, self.model, self.meta, optimizer=self.optimizer.state_dict(),
                            scaler=self.scaler.state_dict(), epoch=epoch, step=step, global_step=self.global_step,
                            best_ap=self.best_ap, final_ap=self.final_ap, sums=dataclasses.asdict(self.sums))
