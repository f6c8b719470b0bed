"""Dense optical flow between consecutive frames, and sampling it at keypoints.

FlowTrack (Xiao et al., ECCV 2018, Sec. 3.2) moves the previous frame's joints by the
flow field to the next frame. Three estimators, chosen by name from :data:`FLOW_METHODS`:

* ``"dis"`` — OpenCV's DIS optical flow on grayscale (CPU, fast; the default);
* ``"raft"`` — torchvision's RAFT (small or large), for users with a GPU;
* ``"none"`` — zero flow (pose-only tracking).

Every estimator is a callable ``flow = estimator(prev_rgb, next_rgb)`` returning an
(H, W, 2) float32 field of (dx, dy) in pixels such that the point (x, y) of ``prev``
moves to (x + dx, y + dy) in ``next``.

Example:
    >>> import numpy as np
    >>> from posetrack.tracking.flow import get_flow, propagate_points
    >>> flow = get_flow("dis", preset="fast")
    >>> a = np.zeros((120, 160, 3), np.uint8)
    >>> field = flow(a, a)                                  # (120, 160, 2)
    >>> propagate_points(field, np.array([[[10.0, 20.0]]])).shape
    (1, 1, 2)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Union

import numpy as np

from posetrack.errors import ConfigError

__all__ = ["FlowConfig", "FlowEstimator", "DISFlow", "RAFTFlow", "ZeroFlow", "FLOW_METHODS", "get_flow",
           "build_flow", "sample_flow", "propagate_points", "DIS_PRESETS", "RAFT_MODELS"]


# Flow estimator: (prev_rgb (H, W, 3) uint8, next_rgb (H, W, 3) uint8) -> (H, W, 2) float32.
FlowEstimator = Callable[[np.ndarray, np.ndarray], np.ndarray]

DIS_PRESETS = ("ultrafast", "fast", "medium")
# torchvision builder per RAFT size; pretrained weights are the enums' DEFAULT (C+T+S+K+H "V2").
RAFT_MODELS = {"small": "raft_small", "large": "raft_large"}


def _check_pair(prev: np.ndarray, nxt: np.ndarray) -> None:
    if prev.shape != nxt.shape or prev.ndim != 3 or prev.shape[2] != 3:
        raise ValueError(f"flow needs two RGB frames of one size, got {prev.shape} and {nxt.shape}")


class ZeroFlow:
    """No motion: every displacement is zero (tracking by pose similarity alone)."""

    def __call__(self, prev_rgb: np.ndarray, next_rgb: np.ndarray) -> np.ndarray:
        _check_pair(prev_rgb, next_rgb)
        return np.zeros((*prev_rgb.shape[:2], 2), np.float32)


class DISFlow:
    """OpenCV DIS optical flow (Kroeger et al., ECCV 2016) on grayscale frames.

    Args:
        preset: "ultrafast", "fast" or "medium" (OpenCV's DISOpticalFlow presets).
        scale: compute the flow on frames resized by this factor (0 < scale <= 1), then
            resize the field back and multiply it by 1 / scale. 0.5 is ~3x faster on
            1080p video and still well under a pixel on the person scale.
    """

    def __init__(self, preset: str = "medium", scale: float = 1.0):
        import cv2

        if preset not in DIS_PRESETS:
            raise ConfigError(f"unknown DIS preset {preset!r}; choose one of: {', '.join(DIS_PRESETS)}")
        if not 0.0 < scale <= 1.0:
            raise ConfigError(f"DIS scale must be in (0, 1], got {scale}")
        code = {"ultrafast": cv2.DISOpticalFlow_PRESET_ULTRAFAST, "fast": cv2.DISOpticalFlow_PRESET_FAST,
                "medium": cv2.DISOpticalFlow_PRESET_MEDIUM}[preset]
        self._dis = cv2.DISOpticalFlow_create(code)
        self.preset = preset
        self.scale = float(scale)

    def __call__(self, prev_rgb: np.ndarray, next_rgb: np.ndarray) -> np.ndarray:
        import cv2

        _check_pair(prev_rgb, next_rgb)
        h, w = prev_rgb.shape[:2]
        a = cv2.cvtColor(np.ascontiguousarray(prev_rgb), cv2.COLOR_RGB2GRAY)
        b = cv2.cvtColor(np.ascontiguousarray(next_rgb), cv2.COLOR_RGB2GRAY)
        if self.scale < 1.0:
            size = (max(8, round(w * self.scale)), max(8, round(h * self.scale)))
            a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
            b = cv2.resize(b, size, interpolation=cv2.INTER_AREA)
        flow = _dis_padded(self._dis, a, b)
        if flow.shape[:2] != (h, w):
            sx, sy = w / flow.shape[1], h / flow.shape[0]
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= sx
            flow[..., 1] *= sy
        return np.ascontiguousarray(flow, dtype=np.float32)


# OpenCV's DIS refuses images below about 12 pixels a side (measured on OpenCV 5.0: 11x11 fails,
# 12x12 works); smaller frames are padded by repeating their edge, and the field cropped back.
_DIS_MIN_SIDE = 16


def _dis_padded(dis, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DIS flow of two grey images of any size: tiny ones are edge-padded to 16 px and the flow cropped."""
    h, w = a.shape[:2]
    if h >= _DIS_MIN_SIDE and w >= _DIS_MIN_SIDE:
        return dis.calc(a, b, None)
    pad = ((0, max(0, _DIS_MIN_SIDE - h)), (0, max(0, _DIS_MIN_SIDE - w)))
    return dis.calc(np.pad(a, pad, mode="edge"), np.pad(b, pad, mode="edge"), None)[:h, :w]


def _raft_state_dict(model: str, weights: Optional[Union[str, Path]]):
    """RAFT weights: a local file, or torchvision's published checkpoint (cached, hash-checked)."""
    import torch
    from torchvision.models import optical_flow

    if weights is not None:
        return torch.load(str(weights), map_location="cpu", weights_only=True)
    enum = {"small": optical_flow.Raft_Small_Weights, "large": optical_flow.Raft_Large_Weights}[model].DEFAULT
    from posetrack.io.download import download_url, hash_from_name

    # torchvision names its files <name>-<first 8 hex digits of the SHA-256>.pth
    path = download_url(enum.url, sha256=hash_from_name(enum.url))
    return torch.load(str(path), map_location="cpu", weights_only=True)


class RAFTFlow:
    """torchvision RAFT (Teed & Deng, ECCV 2020); frames padded to multiples of 8, at least 128 px.

    Args:
        model: "small" (1M parameters) or "large" (5.3M).
        weights: a local state-dict file; None downloads torchvision's checkpoint
            (cached and hash-checked by ``posetrack.io.download``).
        pretrained: False builds random weights (tests only).
        device: a torch device string ("cpu", "cuda", "cuda:1").
        iterations: RAFT's recurrent refinement steps (torchvision's default is 12).
    """

    def __init__(self, model: str = "small", weights: Optional[Union[str, Path]] = None, pretrained: bool = True,
                 device: str = "cpu", iterations: int = 12):
        import torch
        from torchvision.models import optical_flow

        if model not in RAFT_MODELS:
            raise ConfigError(f"unknown RAFT model {model!r}; choose one of: {', '.join(RAFT_MODELS)}")
        net = getattr(optical_flow, RAFT_MODELS[model])(weights=None)
        if pretrained:
            net.load_state_dict(_raft_state_dict(model, weights))
        self.device = torch.device(device)
        self.net = net.eval().to(self.device)
        self.iterations = int(iterations)

    def _tensor(self, rgb: np.ndarray):
        import torch

        t = torch.from_numpy(np.ascontiguousarray(rgb)).to(self.device).permute(2, 0, 1)[None].float()
        return t / 127.5 - 1.0                                              # RAFT expects [-1, 1]

    def __call__(self, prev_rgb: np.ndarray, next_rgb: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        _check_pair(prev_rgb, next_rgb)
        h, w = prev_rgb.shape[:2]
        ph, pw = max(h + (-h) % 8, 128) - h, max(w + (-w) % 8, 128) - w     # RAFT needs >= 128 px
        pair = [F.pad(self._tensor(x), (0, pw, 0, ph), mode="replicate") for x in (prev_rgb, next_rgb)]
        with torch.inference_mode():
            flow = self.net(*pair, num_flow_updates=self.iterations)[-1]     # (1, 2, H', W')
        return flow[0, :, :h, :w].permute(1, 2, 0).float().cpu().numpy()


FLOW_METHODS: Dict[str, Callable[..., FlowEstimator]] = {"dis": DISFlow, "raft": RAFTFlow, "none": ZeroFlow}


def get_flow(name: str, **kwargs) -> FlowEstimator:
    """Build the flow estimator called ``name``; an unknown name lists the valid ones."""
    try:
        factory = FLOW_METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown optical flow method {name!r}; choose one of: {', '.join(FLOW_METHODS)}") from None
    return factory(**kwargs)


@dataclass(frozen=True)
class FlowConfig:
    """How to compute optical flow (the ``flow:`` section of ``configs/tracker.yaml``).

    Attributes:
        method: a key of :data:`FLOW_METHODS`.
        dis_preset: DIS preset ("ultrafast", "fast", "medium").
        dis_scale: DIS resolution factor in (0, 1].
        raft_model: "small" or "large".
        raft_weights: local RAFT state dict; None downloads torchvision's checkpoint.
        device: torch device for RAFT.
    """

    method: str = "dis"
    dis_preset: str = "medium"
    dis_scale: float = 1.0
    raft_model: str = "small"
    raft_weights: Optional[str] = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.method not in FLOW_METHODS:
            raise ConfigError(f"unknown optical flow method {self.method!r}; choose one of: {', '.join(FLOW_METHODS)}")
        if self.dis_preset not in DIS_PRESETS:
            raise ConfigError(f"unknown DIS preset {self.dis_preset!r}; choose one of: {', '.join(DIS_PRESETS)}")
        if not 0.0 < self.dis_scale <= 1.0:
            raise ConfigError(f"dis_scale must be in (0, 1], got {self.dis_scale}")
        if self.raft_model not in RAFT_MODELS:
            raise ConfigError(f"unknown RAFT model {self.raft_model!r}; choose one of: {', '.join(RAFT_MODELS)}")


def build_flow(config: FlowConfig) -> FlowEstimator:
    """The estimator a :class:`FlowConfig` describes."""
    if config.method == "dis":
        return get_flow("dis", preset=config.dis_preset, scale=config.dis_scale)
    if config.method == "raft":
        return get_flow("raft", model=config.raft_model, weights=config.raft_weights, device=config.device)
    return get_flow(config.method)


def sample_flow(flow: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinearly sample a flow field at points; points outside are clamped to the border.

    Args:
        flow: (H, W, 2) displacements (dx, dy); pixel (i, j) holds the flow at x = j, y = i.
        xy: (..., 2) x, y points in the same pixel frame, e.g. (N, K, 2) keypoints.

    Returns:
        (..., 2) float32 displacements; zero at non-finite points.
    """
    flow = np.asarray(flow, dtype=np.float32)
    xy = np.asarray(xy, dtype=np.float64)
    h, w = flow.shape[:2]
    finite = np.isfinite(xy).all(-1)
    x = np.clip(np.where(finite, xy[..., 0], 0.0), 0, w - 1)
    y = np.clip(np.where(finite, xy[..., 1], 0.0), 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.int64), max(w - 2, 0))
    y0 = np.minimum(np.floor(y).astype(np.int64), max(h - 2, 0))
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    top = flow[y0, x0] * (1 - fx) + flow[y0, x1] * fx
    bottom = flow[y1, x0] * (1 - fx) + flow[y1, x1] * fx
    out = top * (1 - fy) + bottom * fy
    return np.where(finite[..., None], out, 0.0).astype(np.float32)


def propagate_points(flow: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Move points by a flow field: ``xy + sample_flow(flow, xy)``, shape and dtype float32 of ``xy``."""
    xy = np.asarray(xy, dtype=np.float32)
    return xy + sample_flow(flow, xy)
