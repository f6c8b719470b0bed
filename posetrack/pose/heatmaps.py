"""Heatmaps -> keypoint coordinates: the official argmax with quarter-pixel offset, DARK, flip test.

All functions work on whole batches, (N, K, H, W) numpy arrays, with no Python loop over
people or joints.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from posetrack.errors import ConfigError

__all__ = ["argmax_coords", "quarter_offset", "dark_refine", "flip_back", "decode_heatmaps", "dark_kernel_size",
           "flip_back_torch", "decode_argmax_torch"]


def argmax_coords(heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Integer peak of every heatmap, as the official ``get_max_preds``.

    Args:
        heatmaps: (N, K, H, W).

    Returns:
        coords (N, K, 2) float32 x, y (zeroed where the maximum is <= 0) and
        maxvals (N, K) float32.
    """
    hm = np.asarray(heatmaps)
    n, k, h, w = hm.shape
    flat = hm.reshape(n, k, h * w)
    idx = flat.argmax(-1)                                    # first maximum, like np.argmax
    maxvals = np.take_along_axis(flat, idx[..., None], -1)[..., 0].astype(np.float32)
    coords = np.stack([idx % w, idx // w], -1).astype(np.float32)
    coords *= (maxvals > 0)[..., None]
    return coords, maxvals


def quarter_offset(heatmaps: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Move each peak a quarter pixel towards the higher neighbour (official post-processing).

    Applied only where the rounded peak satisfies 1 < px < W-1 and 1 < py < H-1, as in
    the official code.

    Args:
        heatmaps: (N, K, H, W); coords: (N, K, 2) from :func:`argmax_coords`.
    """
    hm = np.asarray(heatmaps)
    n, k, h, w = hm.shape
    px = np.floor(coords[..., 0] + 0.5).astype(np.int64)
    py = np.floor(coords[..., 1] + 0.5).astype(np.int64)
    ok = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    pxc, pyc = np.clip(px, 1, w - 2), np.clip(py, 1, h - 2)
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    dx = hm[ni, ki, pyc, pxc + 1] - hm[ni, ki, pyc, pxc - 1]
    dy = hm[ni, ki, pyc + 1, pxc] - hm[ni, ki, pyc - 1, pxc]
    shift = np.stack([np.sign(dx), np.sign(dy)], -1) * 0.25 * ok[..., None]
    return (coords + shift).astype(np.float32)


def dark_kernel_size(heatmap_size: Tuple[int, int]) -> int:
    """DARK's blur kernel: 11 for 64x48 heatmaps, 17 for 96x72 (the values DARK/mmpose use)."""
    return 17 if max(heatmap_size) >= 96 else 11


def _gaussian_blur(hm: np.ndarray, kernel: int) -> np.ndarray:
    """Blur every map with zero padding, as DARK pads by the radius before ``cv2.GaussianBlur``."""
    import cv2
    from scipy.ndimage import convolve1d

    g = cv2.getGaussianKernel(kernel, 0).ravel()
    out = convolve1d(hm.astype(np.float64), g, axis=-1, mode="constant")
    return convolve1d(out, g, axis=-2, mode="constant")


def dark_refine(heatmaps: np.ndarray, coords: np.ndarray, kernel: int = 11) -> np.ndarray:
    """Distribution-aware sub-pixel refinement (Zhang et al., CVPR 2020).

    Blur each heatmap (keeping its maximum), take the log, and move the integer peak by
    one Newton step of a second-order Taylor expansion: offset = -H^-1 * gradient.

    Args:
        heatmaps: (N, K, H, W); coords: (N, K, 2) integer peaks.
        kernel: Gaussian kernel size of the modulation step.

    Returns:
        (N, K, 2) float32 refined coordinates.
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    n, k, h, w = hm.shape
    peak = hm.reshape(n, k, -1).max(-1)
    blurred = _gaussian_blur(hm, kernel)
    bmax = blurred.reshape(n, k, -1).max(-1)
    blurred *= np.divide(peak, bmax, out=np.zeros_like(peak), where=bmax != 0)[..., None, None]
    logm = np.log(np.maximum(blurred, 1e-10))
    px = coords[..., 0].astype(np.int64)
    py = coords[..., 1].astype(np.int64)
    ok = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2)
    x, y = np.clip(px, 2, w - 3), np.clip(py, 2, h - 3)
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")

    def at(dy, dx):
        return logm[ni, ki, y + dy, x + dx]

    gx = 0.5 * (at(0, 1) - at(0, -1))
    gy = 0.5 * (at(1, 0) - at(-1, 0))
    hxx = 0.25 * (at(0, 2) - 2 * at(0, 0) + at(0, -2))
    hxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    hyy = 0.25 * (at(2, 0) - 2 * at(0, 0) + at(-2, 0))
    det = hxx * hyy - hxy ** 2
    ok &= det != 0
    safe = np.where(ok, det, 1.0)
    ox = -(hyy * gx - hxy * gy) / safe
    oy = -(-hxy * gx + hxx * gy) / safe
    out = coords.astype(np.float64) + np.stack([ox, oy], -1) * ok[..., None]
    return out.astype(np.float32)


def flip_back(heatmaps: np.ndarray, flip_pairs: Sequence[Tuple[int, int]], shift: bool = True) -> np.ndarray:
    """Heatmaps of a mirrored crop -> heatmaps of the original crop.

    Mirror the columns, swap left/right channels, and (``shift``) move everything one
    column right as the official ``SHIFT_HEATMAP`` does: columns 0..W-2 go to 1..W-1 and
    column 0 keeps its mirrored value.

    Args:
        heatmaps: (N, K, H, W) predicted on horizontally flipped inputs.
    """
    hm = np.asarray(heatmaps)[..., ::-1]
    perm = np.arange(hm.shape[1])
    for i, j in flip_pairs:
        perm[i], perm[j] = j, i
    hm = hm[:, perm]
    if shift:
        hm = np.concatenate([hm[..., :1], hm[..., :-1]], axis=-1)
    return np.ascontiguousarray(hm)


#: The heatmap decodings by name: the official argmax + quarter offset, and DARK (Zhang et al., CVPR 2020).
DECODE_METHODS = ("argmax", "dark")


def decode_heatmaps(heatmaps: np.ndarray, method: str = "argmax", dark_kernel: Optional[int] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Heatmap-pixel coordinates and scores of every keypoint.

    Args:
        heatmaps: (N, K, H, W).
        method: ``argmax`` (official: integer peak + quarter offset) or ``dark``.

    Returns:
        coords (N, K, 2) in heatmap pixels and maxvals (N, K).
    """
    coords, maxvals = argmax_coords(heatmaps)
    if method == "argmax":
        coords = quarter_offset(heatmaps, coords)
    elif method == "dark":
        kernel = dark_kernel or dark_kernel_size(heatmaps.shape[-2:])
        coords = dark_refine(heatmaps, coords, kernel)
    else:
        raise ConfigError(f"unknown decoding {method!r}; choose one of: {', '.join(DECODE_METHODS)}")
    return coords, maxvals


def flip_back_torch(heatmaps, flip_pairs: Sequence[Tuple[int, int]], shift: bool = True):
    """:func:`flip_back` on a torch tensor, on its device (bit-identical: it only moves values).

    Args:
        heatmaps: (N, K, H, W) tensor predicted on horizontally flipped inputs.
    """
    import torch

    perm = np.arange(heatmaps.shape[1])
    for i, j in flip_pairs:
        perm[i], perm[j] = j, i
    hm = torch.flip(heatmaps, dims=[3])[:, torch.as_tensor(perm, device=heatmaps.device)]
    if shift:
        hm = torch.cat([hm[..., :1], hm[..., :-1]], dim=-1)
    return hm


def decode_argmax_torch(heatmaps) -> Tuple[np.ndarray, np.ndarray]:
    """The official argmax decoding (:func:`argmax_coords` + :func:`quarter_offset`) on the heatmaps' device.

    Only (N, K, 2) coordinates and (N, K) scores travel to the host instead of the whole
    heatmaps. Identical results to the numpy path: ``torch.argmax`` returns the first
    maximum like ``np.argmax``, and the offset uses the same comparisons.

    Args:
        heatmaps: (N, K, H, W) float32 tensor.

    Returns:
        coords (N, K, 2) float32 heatmap pixels and maxvals (N, K) float32, as numpy arrays.
    """
    import torch

    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    idx = flat.argmax(-1)                                          # first maximum, like np.argmax
    maxvals = torch.gather(flat, 2, idx.unsqueeze(-1)).squeeze(-1)
    px, py = idx % w, torch.div(idx, w, rounding_mode="floor")
    ok = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1) & (maxvals > 0)
    pxc, pyc = px.clamp(1, w - 2), py.clamp(1, h - 2)

    def at(dy: int, dx: int):
        return torch.gather(flat, 2, ((pyc + dy) * w + pxc + dx).unsqueeze(-1)).squeeze(-1)

    dx = torch.sign(at(0, 1) - at(0, -1))
    dy = torch.sign(at(1, 0) - at(-1, 0))
    positive = (maxvals > 0).to(heatmaps.dtype)
    coords = torch.stack([px.to(heatmaps.dtype), py.to(heatmaps.dtype)], -1) * positive[..., None]
    coords = coords + torch.stack([dx, dy], -1) * 0.25 * ok[..., None].to(heatmaps.dtype)
    return coords.float().cpu().numpy(), maxvals.float().cpu().numpy()
