"""Box -> crop geometry of the official top-down pipeline, and the crops themselves.

A person box becomes a centre and a scale (in units of ``pixel_std`` = 200 px) with the
aspect ratio of the model input, padded by 1.25; an affine map takes that region to the
model's input size. The same geometry maps heatmap coordinates back to the frame.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

__all__ = ["PIXEL_STD", "PADDING", "xywh_to_center_scale", "boxes_to_center_scale", "affine_matrices", "crop_opencv", "crop_torch",
           "crop_thetas", "apply_affine"]

PIXEL_STD = 200.0
PADDING = 1.25


def xywh_to_center_scale(boxes: np.ndarray, aspect_ratio: float, padding: float = PADDING
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """Centres and scales of x, y, width, height boxes: the official ``_xywh2cs``.

    The shorter side is grown to the model's aspect ratio (width / height), the result is
    divided by 200 and padded by ``padding``. As in the official code, the arithmetic is in
    float64 and the results are stored as float32, and the padding is skipped for a box whose
    centre x is exactly -1 (its "no box" marker).

    Args:
        boxes: (N, 4) x, y, width, height in pixels.

    Returns:
        center (N, 2) and scale (N, 2), float32 like the official arrays.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w, h = b[:, 2], b[:, 3]
    center = np.stack([b[:, 0] + w * 0.5, b[:, 1] + h * 0.5], axis=1).astype(np.float32)
    wide = w > aspect_ratio * h
    narrow = w < aspect_ratio * h
    h = np.where(wide, w / aspect_ratio, h)
    w = np.where(narrow, h * aspect_ratio, w)
    scale = np.stack([w / PIXEL_STD, h / PIXEL_STD], axis=1).astype(np.float32)
    pad = np.where(center[:, 0] != -1, padding, 1.0).astype(np.float32)
    return center, scale * pad[:, None]


def boxes_to_center_scale(boxes: np.ndarray, aspect_ratio: float, padding: float = PADDING
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """Centres and scales of x1, y1, x2, y2 boxes (:func:`xywh_to_center_scale` of their x, y, w, h).

    Args:
        boxes: (N, 4) x1, y1, x2, y2 in pixels.

    Returns:
        center (N, 2) and scale (N, 2), float32 like the official arrays.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return xywh_to_center_scale(np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1), aspect_ratio, padding)


def _third_points(p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    """The official ``get_3rd_point``: ``p0 - p1`` turned by 90 degrees around ``p1``, in float32."""
    d = p0 - p1
    return p1 + np.stack([-d[:, 1], d[:, 0]], axis=1)


def affine_matrices(center: np.ndarray, scale: np.ndarray, output_size: Tuple[int, int],
                    inverse: bool = False, rotation: Optional[np.ndarray] = None) -> np.ndarray:
    """The official ``get_affine_transform`` for every box.

    Three point pairs (the centre, a point half a box width above it turned by the rotation,
    and the point at a right angle) are built with the official code's dtypes (float32
    points, the turned offset in float64) and solved with ``cv2.getAffineTransform``, so
    rounding matches too. Only ``scale[:, 0]`` (the width) sets the zoom, as officially.

    Args:
        center: (N, 2); scale: (N, 2) in units of 200 px.
        output_size: (width, height) of the crop (or heatmap, for the inverse map).
        inverse: map output coordinates back to the frame.
        rotation: (N,) or a scalar, degrees; positive turns the content counter-clockwise as
            displayed (training augmentation). None: no rotation.

    Returns:
        (N, 2, 3) float64 affine matrices.
    """
    import cv2

    c = np.asarray(center, dtype=np.float32).reshape(-1, 2)
    n = len(c)
    src_w = np.asarray(scale, dtype=np.float32).reshape(-1, 2)[:, 0] * np.float32(PIXEL_STD)
    rot = np.zeros(n) if rotation is None else np.broadcast_to(np.asarray(rotation, dtype=np.float64), (n,))
    rad = np.pi * rot / 180
    half = (src_w * np.float32(-0.5)).astype(np.float64)       # the official [0, src_w * -0.5], turned
    turned = np.stack([0.0 - half * np.sin(rad), half * np.cos(rad)], axis=1)
    src = np.empty((n, 3, 2), np.float32)
    src[:, 0] = c
    src[:, 1] = c.astype(np.float64) + turned
    src[:, 2] = _third_points(src[:, 0], src[:, 1])
    dst_w, dst_h = output_size[0], output_size[1]
    dst = np.empty((n, 3, 2), np.float32)
    dst[:, 0] = [dst_w * 0.5, dst_h * 0.5]
    dst[:, 1] = np.array([dst_w * 0.5, dst_h * 0.5]) + np.array([0, dst_w * -0.5], np.float32)
    dst[:, 2] = _third_points(dst[:, 0], dst[:, 1])
    out = np.empty((n, 2, 3))
    for i in range(n):
        a, b = (dst[i], src[i]) if inverse else (src[i], dst[i])
        out[i] = cv2.getAffineTransform(a, b)
    return out


def apply_affine(points: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Apply per-box affine maps to points: (N, K, 2) with (N, 2, 3) -> (N, K, 2)."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ matrices[:, :, :2].transpose(0, 2, 1) + matrices[:, None, :, 2]


def crop_opencv(image: np.ndarray, matrices: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Warp each box region to the model input with ``cv2.warpAffine`` (bilinear, black border).

    This is the official path, bit for bit.

    Args:
        image: (H, W, 3) uint8.
        matrices: (N, 2, 3) forward affine maps.
        size: (width, height) of the crops.

    Returns:
        (N, height, width, 3) uint8.
    """
    import cv2

    w, h = int(size[0]), int(size[1])
    out = np.empty((len(matrices), h, w, 3), dtype=np.uint8)
    for i, m in enumerate(matrices):
        out[i] = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR)
    return out


def crop_torch(image, matrices: np.ndarray, size: Tuple[int, int]):
    """The same crops with ``grid_sample`` on the image's device, as float in [0, 255].

    Faster on a GPU (one ``affine_grid`` + ``grid_sample`` for all boxes of a frame, no host
    round trip for the pixels). It deviates from ``cv2.warpAffine``, which quantises sub-pixel
    positions to 1/32 px and rounds the result to uint8; see the README's "Numerical
    deviations" for the measured size.

    Args:
        image: (H, W, 3) uint8 torch tensor (on any device) or numpy array.
        matrices: (N, 2, 3) forward affine maps (frame pixel -> crop pixel).
        size: (width, height) of the crops.

    Returns:
        (N, 3, height, width) float32 tensor on the image's device.
    """
    import torch
    import torch.nn.functional as F

    img = torch.as_tensor(image)
    H, W = img.shape[:2]
    w, h = int(size[0]), int(size[1])
    theta = torch.as_tensor(crop_thetas(matrices, (W, H), (w, h)), dtype=torch.float32, device=img.device)
    n = len(matrices)
    grid = F.affine_grid(theta, [n, 3, h, w], align_corners=True)
    x = img.permute(2, 0, 1)[None].float().expand(n, -1, -1, -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def crop_thetas(matrices: np.ndarray, frame_wh: Tuple[int, int], crop_wh: Tuple[int, int]) -> np.ndarray:
    """``affine_grid`` matrices for crops: normalised crop coordinates -> normalised frame coordinates.

    With ``align_corners=True``, -1 and 1 are the centres of the first and last pixel, so a
    pixel map ``M^-1`` (crop -> frame) becomes ``S_frame @ M^-1 @ S_crop^-1``. Computed in float64.

    Args:
        matrices: (N, 2, 3) forward affine maps (frame pixel -> crop pixel).
        frame_wh, crop_wh: (width, height) of the frame and of the crops.

    Returns:
        (N, 2, 3) float64.
    """
    m = np.asarray(matrices, dtype=np.float64).reshape(-1, 2, 3)
    full = np.concatenate([m, np.broadcast_to([[[0.0, 0.0, 1.0]]], (len(m), 1, 3))], axis=1)
    inv = np.linalg.inv(full)                                                   # crop pixel -> frame pixel
    W, H = frame_wh
    w, h = crop_wh
    to_norm = np.array([[2.0 / (W - 1) if W > 1 else 0.0, 0, -1.0 if W > 1 else 0.0],
                        [0, 2.0 / (H - 1) if H > 1 else 0.0, -1.0 if H > 1 else 0.0], [0, 0, 1.0]])
    from_norm = np.array([[(w - 1) / 2.0, 0, (w - 1) / 2.0], [0, (h - 1) / 2.0, (h - 1) / 2.0], [0, 0, 1.0]])
    return (to_norm @ inv @ from_norm)[:, :2]
