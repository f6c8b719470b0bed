"""BatchNorm statistics over groups of samples, as the official multi-GPU run computed them.

The official run trained on 4 GPUs under ``DataParallel`` with 32 samples each: every GPU's
BatchNorm normalised its own 32 samples, and the running statistics kept were those of the first
GPU's chunk. :class:`GroupBatchNorm2d` does the same on one device for a batch of several groups
(normalise each group of ``group`` samples on its own; update the running statistics from the
first group only), and under DDP with ``broadcast_buffers`` (rank 0's statistics win) a run on
several processes computes what one process with the same total batch computes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["GroupBatchNorm2d", "group_batchnorm"]


class GroupBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` whose training statistics are per group of ``group`` samples (same state dict)."""

    group: int = 0

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.group <= 0 or x.shape[0] <= self.group:
            return super().forward(x)
        chunks = x.split(self.group)
        first = super().forward(chunks[0])                    # updates the running statistics
        rest = [F.batch_norm(c, None, None, self.weight, self.bias, True, 0.0, self.eps) for c in chunks[1:]]
        return torch.cat([first, *rest])


def group_batchnorm(model: nn.Module, group: int) -> nn.Module:
    """Give every ``BatchNorm2d`` of ``model`` group statistics of ``group`` samples, in place.

    The modules keep their parameters and buffers (and state-dict keys); ``group`` <= 0 restores
    plain BatchNorm behaviour.
    """
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.__class__ = GroupBatchNorm2d if group > 0 else nn.BatchNorm2d
            module.group = group
    return model
