"""The pose model table (``posetrack models``): parameters and GFLOPs from the architecture table, without torch.

Building a model to count its parameters and multiply-accumulates means importing torch
(seconds, close to a gigabyte). HRNet is fully described by its stage table, so both
numbers follow in closed form from the config; ``tests/test_model_table.py`` checks them
against :func:`posetrack.models.registry.count_parameters` and :func:`posetrack.models.registry.count_gflops`
on the built model for every shipped config.

Conventions (the HRNet paper's, Sun et al., CVPR 2019, Table 1):

* params: every trainable tensor (conv weights, BatchNorm weight and bias, the head's
  bias); BatchNorm running statistics are buffers and do not count.
* GFLOPs: convolution multiply-accumulates of one forward pass of a single crop, / 2^30.

Example:
    >>> from posetrack.models.cost_table import model_summaries
    >>> [(m.name, round(m.gflops, 1)) for m in model_summaries()][:2]
    [('w32_256x192', 7.1), ('w32_384x288', 16.0)]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from posetrack.config import list_configs
from posetrack.models import DEFAULT_POSE_MODEL
from posetrack.models.registry import load_model_config

__all__ = ["ModelSummary", "hrnet_cost", "model_summary", "model_summaries", "DEFAULT_POSE_MODEL"]


_EXPANSION = {"basic": 1, "bottleneck": 4}


@dataclass(frozen=True)
class ModelSummary:
    """One row of ``posetrack models``.

    Attributes:
        name: the config name (``--pose-model`` / ``pose_model``).
        input_size: crop (height, width) in pixels.
        params: trainable parameters.
        gflops: convolution multiply-accumulates of one crop / 2^30.
        keypoints: layout of the heatmap channels.
        weights: published weights by name -> (url, keypoint layout, dataset).
        default_weights: the weights ``posetrack run`` loads for this model, or None.
        default: True for the model ``posetrack run`` uses when none is given.
    """

    name: str
    input_size: Tuple[int, int]
    params: int
    gflops: float
    keypoints: str
    weights: Dict[str, Tuple[str, str, str]]
    default_weights: Optional[str]
    default: bool


def _half(n: int) -> int:
    """Output size of a stride-2, padding-1, 3x3 convolution."""
    return (n + 1) // 2


def _block_cost(kind: str, cin: int, planes: int) -> Tuple[int, int]:
    """(params, MACs per output pixel) of one residual unit, its 1x1 projection included when needed."""
    out = planes * _EXPANSION[kind]
    if kind == "basic":
        params = 9 * cin * planes + 9 * planes * planes + 4 * planes
        macs = 9 * cin * planes + 9 * planes * planes
    else:
        params = cin * planes + 9 * planes * planes + planes * out + 4 * planes + 2 * out
        macs = cin * planes + 9 * planes * planes + planes * out
    if cin != out:  # 1x1 projection + BN on the identity path
        params += cin * out + 2 * out
        macs += cin * out
    return params, macs


def _layer_cost(kind: str, cin: int, planes: int, count: int) -> Tuple[int, int]:
    """``count`` residual units at one resolution (the first adapts the width)."""
    p, m = _block_cost(kind, cin, planes)
    p2, m2 = _block_cost(kind, planes * _EXPANSION[kind], planes)
    return p + (count - 1) * p2, m + (count - 1) * m2


def hrnet_cost(stages: Sequence, input_size: Tuple[int, int], num_joints: int = 17, stem_channels: int = 64,
               final_conv_kernel: int = 1) -> Tuple[int, int]:
    """Parameters and convolution multiply-accumulates of :class:`posetrack.models.hrnet.HRNet` for one crop.

    Follows the module structure of :mod:`posetrack.models.hrnet` (the official one): stem,
    stage 1, then per stage a transition and its exchange modules (the last module of
    the last stage fuses into the high-resolution branch only), then the 1x1 head.

    Args:
        stages: the stage table: objects with ``modules``, ``blocks``, ``channels`` and
            ``block`` ("basic" or "bottleneck"), as :class:`posetrack.models.hrnet_spec.StageSpec`.
        input_size: crop (height, width) in pixels.
        num_joints, stem_channels, final_conv_kernel: as in :class:`posetrack.models.hrnet.HRNetSpec`.

    Returns:
        ``(params, macs)``: trainable parameters, and multiply-accumulates of all convolutions.
    """
    c = stem_channels
    params, macs, (h, w) = _stem_cost(c, input_size)
    sizes = [(h, w)]                                          # branch i runs at 1/(4 * 2^i)
    for _ in range(1, max(len(s.channels) for s in stages)):
        sizes.append((_half(sizes[-1][0]), _half(sizes[-1][1])))
    area = [a * b for a, b in sizes]

    first = stages[0]
    p, m = _layer_cost(first.block, c, first.channels[0], first.blocks[0])
    params, macs = params + p, macs + area[0] * m
    prev = [first.channels[0] * _EXPANSION[first.block]]
    for n, stage in enumerate(stages[1:], start=1):
        cur = [ch * _EXPANSION[stage.block] for ch in stage.channels]
        p, m = _transition_cost(prev, cur, area)
        p2, m2 = _stage_cost(stage, cur, area, last_stage=n == len(stages) - 1)
        params, macs = params + p + p2, macs + m + m2
        prev = cur
    k2 = final_conv_kernel * final_conv_kernel
    params += num_joints * prev[0] * k2 + num_joints            # head, with bias
    macs += area[0] * num_joints * prev[0] * k2
    return params, macs


def _stem_cost(c: int, input_size: Tuple[int, int]) -> Tuple[int, int, Tuple[int, int]]:
    """(params, MACs, output (h, w)) of the stem: two stride-2 3x3 convolutions with BN."""
    h, w = _half(input_size[0]), _half(input_size[1])
    params, macs = 27 * c + 2 * c, h * w * 27 * c            # conv1 (3x3, stride 2) + bn1
    h, w = _half(h), _half(w)
    return params + 9 * c * c + 2 * c, macs + h * w * 9 * c * c, (h, w)   # conv2 + bn2


def _transition_cost(prev: List[int], cur: List[int], area: List[int]) -> Tuple[int, int]:
    """A stage's transition: a 3x3 conv where a branch changes width, stride-2 3x3 convs down to each new branch."""
    params = macs = 0
    for i, ch in enumerate(cur):
        if i < len(prev):
            if prev[i] != ch:
                params, macs = params + 9 * prev[i] * ch + 2 * ch, macs + area[i] * 9 * prev[i] * ch
            continue
        cin = prev[-1]
        for k in range(i + 1 - len(prev)):
            cout = ch if k == i - len(prev) else prev[-1]
            level = len(prev) + k
            params, macs = params + 9 * cin * cout + 2 * cout, macs + area[level] * 9 * cin * cout
    return params, macs


def _stage_cost(stage, cur: List[int], area: List[int], last_stage: bool) -> Tuple[int, int]:
    """A stage's exchange modules: residual units per branch, then the fusion (the last module of the
    last stage fuses into the high-resolution branch only)."""
    params = macs = 0
    for mod in range(stage.modules):
        for i, ch in enumerate(stage.channels):
            p, m = _layer_cost(stage.block, cur[i], ch, stage.blocks[i])
            params, macs = params + p, macs + area[i] * m
        if len(cur) > 1:
            p, m = _fuse_cost(cur, area, outs=1 if last_stage and mod == stage.modules - 1 else len(cur))
            params, macs = params + p, macs + m
    return params, macs


def _fuse_cost(cur: List[int], area: List[int], outs: int) -> Tuple[int, int]:
    """Fusion into the first ``outs`` branches: 1x1 conv + BN (then upsampling) from lower resolutions,
    stride-2 3x3 convs + BN from higher ones."""
    params = macs = 0
    for i in range(outs):
        for j in range(len(cur)):
            if j > i:    # 1x1 conv + BN at the low resolution, then upsample
                params, macs = params + cur[j] * cur[i] + 2 * cur[i], macs + area[j] * cur[j] * cur[i]
            elif j < i:  # stride-2 3x3 convs down to branch i
                for k in range(i - j):
                    cout = cur[i] if k == i - j - 1 else cur[j]
                    params += 9 * cur[j] * cout + 2 * cout
                    macs += area[j + k + 1] * 9 * cur[j] * cout
    return params, macs


def model_summary(name: str) -> ModelSummary:
    """The table row of one model config (a shipped name or a YAML path)."""
    cfg = load_model_config(name)
    params, macs = hrnet_cost(cfg.stages, cfg.input_size, cfg.num_joints, cfg.stem_channels,
                              cfg.final_conv_kernel)
    return ModelSummary(name=cfg.name, input_size=cfg.input_size, params=params, gflops=macs / 2 ** 30,
                        keypoints=cfg.keypoints,
                        weights={k: (w.url, w.keypoints, w.dataset) for k, w in cfg.weights.items()},
                        default_weights=cfg.default_weights, default=cfg.name == DEFAULT_POSE_MODEL)


def model_summaries() -> List[ModelSummary]:
    """Every shipped pose model: those with published weights first, by name; then the others."""
    rows = [model_summary(n) for n in list_configs() if n.startswith(("w", "hrnet_"))]
    return sorted(rows, key=lambda r: (not r.weights, r.name))
