"""HRNet for top-down pose estimation (Sun et al., "Deep High-Resolution Representation
Learning for Human Pose Estimation", CVPR 2019).

One :class:`HRNet` class is driven by a stage table (:class:`HRNetSpec`). Module and
parameter names follow the official implementation (leoxiaobin/deep-high-resolution-net.pytorch)
so its checkpoints load strictly: ``conv1``/``bn1``/``conv2``/``bn2`` stem, ``layer1``
(stage 1), ``transition{1,2,3}``, ``stage{2,3,4}`` of modules with ``branches`` and
``fuse_layers``, and ``final_layer``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

from torch import Tensor, nn

from posetrack.errors import InputError
from posetrack.models.hrnet_spec import HRNetSpec, StageSpec

__all__ = ["StageSpec", "HRNetSpec", "HRNet", "BasicBlock", "Bottleneck"]

BN_MOMENTUM = 0.1  # the official value; only matters for training


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, momentum=BN_MOMENTUM)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection (ResNet-18/34 unit)."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride)
        self.bn1 = _bn(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = _bn(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4) with a residual connection (ResNet-50 unit)."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, kernel_size=1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = _bn(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = _bn(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


_BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


def _make_layer(block, cin: int, planes: int, count: int) -> nn.Sequential:
    """``count`` residual units; the first gets a 1x1 projection when the width changes."""
    downsample = None
    if cin != planes * block.expansion:
        downsample = nn.Sequential(nn.Conv2d(cin, planes * block.expansion, kernel_size=1, bias=False),
                                   _bn(planes * block.expansion))
    layers = [block(cin, planes, downsample=downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(count - 1)]
    return nn.Sequential(*layers)


def _fuse_path(cin_j: int, cin_i: int, j: int, i: int) -> Optional[nn.Module]:
    """The path that brings branch j's features to branch i's resolution and width.

    Lower resolution (j > i): 1x1 conv + BN at the low resolution, then nearest
    upsampling. Higher resolution (j < i): a chain of stride-2 3x3 conv + BN, ReLU after
    every step but the last; middle steps keep branch j's width.
    """
    if j == i:
        return None
    if j > i:
        return nn.Sequential(nn.Conv2d(cin_j, cin_i, kernel_size=1, bias=False), _bn(cin_i),
                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"))
    steps = []
    for k in range(i - j):
        last = k == i - j - 1
        cout = cin_i if last else cin_j
        step = [_conv3x3(cin_j, cout, stride=2), _bn(cout)]
        if not last:
            step.append(nn.ReLU(inplace=True))
        steps.append(nn.Sequential(*step))
    return nn.Sequential(*steps)


class HRModule(nn.Module):
    """One exchange unit: parallel residual branches, then multi-resolution fusion.

    Args:
        in_channels: channels arriving on each branch.
        spec: the stage this module belongs to.
        fuse_all: fuse into every branch (False: only into the high-resolution one, as the
            last module of the last stage does).
    """

    def __init__(self, in_channels: Sequence[int], spec: StageSpec, fuse_all: bool = True):
        super().__init__()
        block = _BLOCKS[spec.block]
        self.branches = nn.ModuleList(
            _make_layer(block, cin, c, n) for cin, c, n in zip(in_channels, spec.channels, spec.blocks))
        self.out_channels = [c * block.expansion for c in spec.channels]
        outs = range(spec.branches if fuse_all else 1)
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(_fuse_path(self.out_channels[j], self.out_channels[i], j, i) for j in range(spec.branches))
            for i in outs) if spec.branches > 1 else nn.ModuleList()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: List[Tensor]) -> List[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if not self.fuse_layers:
            return xs
        fused = []
        for i, paths in enumerate(self.fuse_layers):
            # Summation order as the official code: branch 0 first, then 1, 2, ...
            y = xs[0] if i == 0 else paths[0](xs[0])
            for j in range(1, len(xs)):
                y = y + (xs[j] if j == i else paths[j](xs[j]))
            fused.append(self.relu(y))
        return fused


def _transition(prev: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
    """Adapt the previous stage's branches and create the new one.

    Existing branches get a 3x3 conv only if their width changes (None otherwise); the
    new branch is made from the previous stage's lowest-resolution output by stride-2
    3x3 convs.
    """
    layers: List[Optional[nn.Module]] = []
    for i, c in enumerate(cur):
        if i < len(prev):
            layers.append(None if prev[i] == c else nn.Sequential(_conv3x3(prev[i], c), _bn(c), nn.ReLU(inplace=True)))
            continue
        steps = []
        for k in range(i + 1 - len(prev)):
            cout = c if k == i - len(prev) else prev[-1]
            steps.append(nn.Sequential(_conv3x3(prev[-1], cout, stride=2), _bn(cout), nn.ReLU(inplace=True)))
        layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class HRNet(nn.Module):
    """HRNet pose network: image (B, 3, H, W) -> heatmaps (B, J, H/4, W/4).

    The input is ImageNet-normalised RGB; H and W must be multiples of 32 (the lowest
    branch runs at 1/32 and fusion upsamples by exact powers of two).
    """

    def __init__(self, spec: HRNetSpec):
        super().__init__()
        self.spec = spec
        c = spec.stem_channels
        self.conv1 = nn.Conv2d(3, c, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = _bn(c)
        self.conv2 = nn.Conv2d(c, c, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn2 = _bn(c)
        self.relu = nn.ReLU(inplace=True)

        s1 = spec.stages[0]
        b1 = _BLOCKS[s1.block]
        self.layer1 = _make_layer(b1, c, s1.channels[0], s1.blocks[0])
        prev = [s1.channels[0] * b1.expansion]
        last = len(spec.stages) - 1
        for n, stage in enumerate(spec.stages[1:], start=1):
            cur = [ch * _BLOCKS[stage.block].expansion for ch in stage.channels]
            setattr(self, f"transition{n}", _transition(prev, cur))
            modules, channels = [], cur
            for m in range(stage.modules):
                fuse_all = not (n == last and m == stage.modules - 1)
                module = HRModule(channels, stage, fuse_all=fuse_all)
                modules.append(module)
                channels = module.out_channels
            setattr(self, f"stage{n + 1}", nn.Sequential(*modules))
            prev = cur
        k = spec.final_conv_kernel
        self.final_layer = nn.Conv2d(prev[0], spec.num_joints, kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise InputError(f"HRNet input height and width must be multiples of 32, got {tuple(x.shape[-2:])}")
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        for n in range(1, len(self.spec.stages)):
            transition = getattr(self, f"transition{n}")
            xs = [xs[i] if t is None and i < len(xs) else t(xs[-1] if i >= len(xs) else xs[i])
                  for i, t in enumerate(transition)]
            xs = getattr(self, f"stage{n + 1}")(xs)
        return self.final_layer(xs[0])
