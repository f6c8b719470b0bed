"""Gaussian heatmap targets with target weights: the official ``JointsDataset.generate_target``.

Each keypoint gets one heatmap channel holding an unnormalised Gaussian of standard deviation
``sigma`` (heatmap pixels) around the keypoint's heatmap cell, cut off at 3 sigma, and a weight:
1 for a labelled keypoint, 0 for an unlabelled one or one whose cut-off window misses the heatmap.
The official quirks are kept (README of the reference data; Sun et al. CVPR 2019 Sec. 4 "Training"):

* the centre cell is ``int(x / stride + 0.5)``, and ``int`` truncates toward zero, so
  ``-1 < x / stride + 0.5 < 0`` gives cell 0, not -1;
* the window is ``[mu - 3 sigma, mu + 3 sigma + 1)``; the weight becomes 0 when it starts at or
  beyond the far edge or *ends* before 0, so a centre at ``-3 sigma - 1`` keeps weight 1 with an
  all-zero heatmap;
* the Gaussian is computed in float32 and only drawn for weights above 0.5.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = ["generate_targets"]


def _trunc(x: np.ndarray) -> np.ndarray:
    """Python's ``int()`` on floats: toward zero."""
    return np.trunc(x).astype(np.int64)


def generate_targets(joints: np.ndarray, joints_vis: np.ndarray, image_size: Tuple[int, int],
                     heatmap_size: Tuple[int, int], sigma: float) -> Tuple[np.ndarray, np.ndarray]:
    """Heatmap targets and target weights of a batch of keypoint sets, vectorised.

    Args:
        joints: (..., K, 2+) keypoint x, y in crop (model input) pixels; extra columns ignored.
        joints_vis: (..., K) or (..., K, 1+) labelled flags (column 0 is used), as the official
            ``joints_vis[:, 0]``; any value, taken verbatim as the weight.
        image_size: (width, height) of the crop.
        heatmap_size: (width, height) of the heatmaps.
        sigma: Gaussian standard deviation in heatmap pixels (official: 2 at 256x192, 3 at 384x288).

    Returns:
        target (..., K, H, W) float32 and target_weight (..., K, 1) float32, equal to the official
        function's output (bit for bit).
    """
    joints = np.asarray(joints, dtype=np.float64)
    vis = np.asarray(joints_vis, dtype=np.float64)
    if vis.ndim == joints.ndim:
        vis = vis[..., 0]
    w, h = int(heatmap_size[0]), int(heatmap_size[1])
    stride = np.asarray(image_size, dtype=np.float64) / np.asarray(heatmap_size, dtype=np.float64)
    tmp = sigma * 3
    mu = _trunc(joints[..., :2] / stride + 0.5)                                 # (..., K, 2)
    ul = _trunc(mu - tmp)
    br = _trunc(mu + tmp + 1)
    outside = (ul[..., 0] >= w) | (ul[..., 1] >= h) | (br[..., 0] < 0) | (br[..., 1] < 0)
    weight = np.where(outside, 0.0, vis).astype(np.float32)
    size = 2 * tmp + 1
    patch = len(np.arange(0, size, 1, np.float32))                             # official patch side
    centre = np.float32(size // 2)
    # patch index of every heatmap cell: q = cell - ul, drawn where 0 <= q < patch and inside the window
    qx = np.arange(w) - ul[..., 0:1]                                            # (..., K, W)
    qy = np.arange(h) - ul[..., 1:2]                                            # (..., K, H)
    inx = (qx >= 0) & (qx < patch) & (np.arange(w) < br[..., 0:1])
    iny = (qy >= 0) & (qy < patch) & (np.arange(h) < br[..., 1:2])
    dx2 = (qx.astype(np.float32) - centre) ** 2
    dy2 = (qy.astype(np.float32) - centre) ** 2
    g = np.exp(-(dx2[..., None, :] + dy2[..., :, None]) / np.float32(2 * sigma ** 2))
    draw = (weight > 0.5)[..., None, None] & iny[..., :, None] & inx[..., None, :]
    target = np.where(draw, g, np.float32(0)).astype(np.float32)
    return target, weight[..., None]
