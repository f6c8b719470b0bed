"""Starting weights for training: seeded, published, official, mmpose or our own checkpoints; frozen
stages; and a head for a new keypoint layout.

A checkpoint whose keypoint layout differs from the training layout (COCO weights fine-tuned to
PoseTrack's ``posetrack18``, or to a user's own layout) loads everything but the final 1x1
layer; each new keypoint's filter then starts as

1. the filter of the keypoint ``head_init`` names for it (e.g. ``head_top: nose``), else
2. the filter of the keypoint with the same name in the weights' layout (``nose`` stays ``nose``), else
3. the official initialisation of ``final_layer``: weights N(0, 0.001^2), bias 0
   (``PoseHighResolutionNet.init_weights``), drawn from the run's seed.
"""
from __future__ import annotations

import logging
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import nn

from posetrack.errors import ConfigError
from posetrack.keypoints import KeypointLayout, get_layout
from posetrack.models.registry import PoseModelConfig

__all__ = ["official_init", "parse_seeded", "weights_layout", "init_model", "head_sources", "freeze_stages", "STAGE_MODULES"]

log = logging.getLogger(__name__)

#: HRNet's modules per stage: the stem and stage 1, then transition + stage (as mmpose's ``frozen_stages``).
STAGE_MODULES = {1: ("conv1", "bn1", "conv2", "bn2", "layer1"), 2: ("transition1", "stage2"),
                 3: ("transition2", "stage3"), 4: ("transition3", "stage4")}


def official_init(model: nn.Module, seed: int) -> None:
    """The official from-scratch initialisation (``PoseHighResolutionNet.init_weights``), seeded.

    Convolutions N(0, 0.001^2) with zero biases, BatchNorm weight 1 and bias 0; the official run
    then loaded ImageNet weights into everything but ``final_layer`` (not available here).
    """
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.001)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()


def parse_seeded(weights: Optional[str]) -> Optional[int]:
    """``seeded`` -> 0, ``seeded:N`` -> N; any other weights (and None) -> None."""
    if weights == "seeded":
        return 0
    if weights.startswith("seeded:"):
        try:
            return int(weights.split(":", 1)[1])
        except ValueError:
            raise ConfigError(f"weights: {weights!r}: write seeded:N with an integer seed N", field="weights") from None
    return None


def weights_layout(model_cfg: PoseModelConfig, weights: str) -> KeypointLayout:
    """The keypoint layout a checkpoint predicts: its own record (``posetrack train``), the named
    weights' layout, or else the model config's."""
    if weights in model_cfg.weights:
        return get_layout(model_cfg.weights[weights].keypoints)
    from posetrack.io.download import is_url

    if not is_url(weights):
        from posetrack.models.checkpoint import read_training_meta

        meta = read_training_meta(weights)
        if meta is not None:
            return KeypointLayout.from_dict(meta["layout"])
    return model_cfg.layout


def _official_head_init(layer: nn.Conv2d, seed: int) -> None:
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * 0.001)
        layer.bias.zero_()


def head_sources(target: KeypointLayout, source: KeypointLayout, head_init: Mapping[str, str]
                 ) -> List[Optional[int]]:
    """For each target keypoint, the source slot its filter is copied from (None: official init).

    Raises:
        ConfigError: ``head_init`` names a keypoint that neither layout has.
    """
    for new, old in head_init.items():
        if new not in target.names:
            raise ConfigError(f"head_init: {new!r} is not a keypoint of layout {target.name!r} "
                              f"({', '.join(target.names)})")
        if old not in source.names:
            raise ConfigError(f"head_init: {new}: {old!r} is not a keypoint of the weights' layout "
                              f"{source.name!r} ({', '.join(source.names)})")
    return [source.names.index(head_init[n]) if n in head_init else
            (source.names.index(n) if n in source.names else None) for n in target.names]


def init_model(model: nn.Module, model_cfg: PoseModelConfig, weights: Optional[str], layout: KeypointLayout,
               head_init: Mapping[str, str], seed: int) -> Dict[str, object]:
    """Load the starting weights into ``model`` (built for ``layout``), in place.

    Returns:
        a record of what was done: ``weights``, ``layout`` of the weights, and per new keypoint
        where its filter came from (for the run's log).

    Raises:
        CheckpointError / WeightsError: the weights cannot be read or do not fit the model.
        ConfigError: a bad ``seeded:N`` or ``head_init``.
    """
    from posetrack.models.checkpoint import load_checkpoint
    from posetrack.models.registry import seeded_state_dict

    if weights is None:
        official_init(model, seed)
        return {"weights": None, "head": "official init"}
    seeded = parse_seeded(weights)
    if seeded is not None:
        model.load_state_dict(seeded_state_dict(model, seed=seeded))
        return {"weights": f"seeded:{seeded}", "head": "seeded"}
    source = weights_layout(model_cfg, weights)
    url = model_cfg.weights[weights].url if weights in model_cfg.weights else weights
    sha = model_cfg.weights[weights].sha256 if weights in model_cfg.weights else None
    if source.names == layout.names:
        load_checkpoint(model, url, sha256=sha)
        return {"weights": weights, "head": "loaded"}
    from posetrack.models.hrnet import HRNet
    import dataclasses

    donor = HRNet(dataclasses.replace(model_cfg.hrnet_spec(), num_joints=source.num_keypoints))
    load_checkpoint(donor, url, sha256=sha)
    state = {k: v for k, v in donor.state_dict().items() if not k.startswith("final_layer.")}
    model.load_state_dict({**model.state_dict(), **state})       # everything but the head, shapes checked
    _official_head_init(model.final_layer, seed)
    plan = head_sources(layout, source, head_init)
    with torch.no_grad():
        for k, src in enumerate(plan):
            if src is not None:
                model.final_layer.weight[k].copy_(donor.final_layer.weight[src])
                model.final_layer.bias[k].copy_(donor.final_layer.bias[src])
    head = {layout.names[k]: (source.names[s] if s is not None else "official init") for k, s in enumerate(plan)}
    log.info("new %s head from %s weights: %s", layout.name, source.name,
             ", ".join(f"{a} <- {b}" for a, b in head.items()))
    return {"weights": weights, "head": head}


def freeze_stages(model: nn.Module, stages: int) -> Tuple[str, ...]:
    """Stop training the stem and stages 1..``stages`` (their BatchNorms stay in eval mode).

    Call again after every ``model.train()`` (it sets the frozen BatchNorms back to eval mode).

    Returns:
        the names of the frozen modules.
    """
    names = tuple(n for s in range(1, stages + 1) for n in STAGE_MODULES[s])
    for name in names:
        module = getattr(model, name)
        module.eval()
        for p in module.parameters():
            p.requires_grad_(False)
    return names
