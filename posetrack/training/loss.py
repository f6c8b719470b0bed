"""The official heatmap loss: ``JointsMSELoss`` with target weights (Sun et al., CVPR 2019, Sec. 4).

``loss = 0.5 * mean over joints of MSE(w * pred, w * target)``, each MSE averaged over the batch
and heatmap pixels. The weight multiplies both heatmaps before the difference, so it enters the
loss *squared* (a weight of 1.5 counts 2.25 times), as in the official code.
"""
from __future__ import annotations

from typing import Optional

from torch import Tensor

__all__ = ["joints_mse_loss"]


def joints_mse_loss(output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
    """Official ``JointsMSELoss``.

    Args:
        output: (B, K, H, W) predicted heatmaps (computed in float32 whatever their dtype).
        target: (B, K, H, W) target heatmaps.
        target_weight: (B, K, 1) or (B, K) weights; None: ``use_target_weight=False``.

    Returns:
        a scalar float32 tensor; its gradient is ``w^2 (pred - target) / (B K H W)``.
    """
    b, k = output.shape[:2]
    pred = output.float().reshape(b, k, -1)
    gt = target.float().reshape(b, k, -1)
    if target_weight is not None:
        w = target_weight.float().reshape(b, k, 1)
        pred, gt = pred * w, gt * w
    per_joint = ((pred - gt) ** 2).mean(dim=(0, 2))                              # (K,) MSE of each joint
    return 0.5 * per_joint.sum() / k
