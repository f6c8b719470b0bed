"""HRNet's architecture table as data (no torch): stages of branches, blocks and channels.

:class:`posetrack.models.hrnet.HRNet` is built from an :class:`HRNetSpec`; the model configs in
``configs/*.yaml`` hold its rows, and :mod:`posetrack.models.cost_table` counts parameters and
GFLOPs from the same table without importing torch.

Example:
    >>> from posetrack.models.hrnet_spec import HRNetSpec, StageSpec
    >>> spec = HRNetSpec(stages=(StageSpec(1, (4,), (64,), "bottleneck"), StageSpec(1, (4, 4), (32, 64))))
    >>> [s.branches for s in spec.stages]
    [1, 2]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Tuple

from posetrack.errors import ConfigError

__all__ = ["StageSpec", "HRNetSpec"]


@dataclass(frozen=True)
class StageSpec:
    """One HRNet stage.

    Attributes:
        modules: number of multi-resolution (exchange) modules.
        blocks: residual units per branch in each module, one entry per branch.
        channels: channels per branch (before the block expansion).
        block: residual unit type.
    """

    modules: int
    blocks: Tuple[int, ...]
    channels: Tuple[int, ...]
    block: Literal["basic", "bottleneck"] = "basic"

    @property
    def branches(self) -> int:
        return len(self.channels)


@dataclass(frozen=True)
class HRNetSpec:
    """The architecture table: stem width, four stages, joints and head kernel."""

    stages: Tuple[StageSpec, ...]
    num_joints: int = 17
    stem_channels: int = 64
    final_conv_kernel: int = 1

    def __post_init__(self) -> None:
        if len(self.stages) < 2 or self.stages[0].branches != 1:
            raise ConfigError("HRNet needs a single-branch first stage followed by multi-branch stages")
        for prev, cur in zip(self.stages, self.stages[1:]):
            if cur.branches != prev.branches + 1:
                raise ConfigError("each HRNet stage adds exactly one branch")
        for s in self.stages:
            if len(s.blocks) != s.branches:
                raise ConfigError(f"stage {s}: one block count per branch expected")
