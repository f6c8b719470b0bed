"""The official optimiser and learning-rate steps (``lib/utils/utils.py::get_optimizer``, ``tools/train.py``).

``torch.optim.Adam(params, lr)`` with torch's defaults: the yaml's ``WD 0.0001`` and ``MOMENTUM 0.9``
only reach the SGD branch, so Adam runs without weight decay. ``MultiStepLR(milestones, gamma)``
is stepped at the *start* of every epoch, before its training, so epoch ``e`` runs at
``lr * gamma ** (number of milestones <= e + 1)``: with milestones 170 and 200, epochs 0-168 use
1e-3, 169-198 use 1e-4 and 199-209 use 1e-5. mmpose's fine-tuning configs add a linear warm-up
over the first steps (``mmcv``'s rule: ``lr * (1 - (1 - step / warmup) * (1 - ratio))``).
"""
from __future__ import annotations

from typing import Iterable

from posetrack.training.config import OptimizerSettings

__all__ = ["epoch_lr", "step_lr", "build_optimizer"]


def epoch_lr(settings: OptimizerSettings, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (0-based) under the official stepping."""
    drops = sum(1 for m in settings.milestones if m <= epoch + 1)
    return settings.lr * settings.gamma ** drops


def step_lr(settings: OptimizerSettings, epoch: int, step: int) -> float:
    """The learning rate at global optimiser step ``step`` (0-based) of epoch ``epoch``, warm-up included."""
    lr = epoch_lr(settings, epoch)
    if step < settings.warmup_steps:
        lr *= 1 - (1 - step / settings.warmup_steps) * (1 - settings.warmup_ratio)
    return lr


def build_optimizer(params: Iterable, settings: OptimizerSettings):
    """The official ``get_optimizer``: ``torch.optim.Adam`` (betas 0.9/0.999, eps 1e-8), or its SGD branch."""
    import torch

    if settings.name == "sgd":
        return torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay,
                               nesterov=settings.nesterov)
    return torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
