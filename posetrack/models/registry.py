"""Pose model variants: configs in ``configs/*.yaml`` -> HRNet modules, with their weights' contract.

Example:
    >>> from posetrack.models.registry import build_pose_model, list_pose_models
    >>> model = build_pose_model("w48_384x288")                 # random init
    >>> model = build_pose_model("w48_384x288", weights="coco")  # downloads + caches the weights
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

from posetrack.config import ConfigError, list_configs, load_yaml
from posetrack.keypoints import KeypointLayout
from posetrack.models.hrnet_spec import HRNetSpec, StageSpec

if TYPE_CHECKING:  # pragma: no cover
    from posetrack.models.hrnet import HRNet

__all__ = ["WeightsSpec", "PoseModelConfig", "load_model_config", "build_pose_model", "list_pose_models",
           "count_parameters", "count_gflops", "seeded_state_dict"]

POSE_MODELS = ("w32_256x192", "w32_384x288", "w48_256x192", "w48_384x288")


@dataclass(frozen=True)
class WeightsSpec:
    """Published weights for a model: where they are, how to check them, what they predict."""

    url: str
    sha256: str
    keypoints: str
    dataset: str = ""
    source: str = ""


@dataclass(frozen=True)
class PoseModelConfig:
    """One pose model variant (a file in ``configs/``).

    Attributes:
        input_size: crop (height, width) in pixels; heatmaps are a quarter of it.
        keypoints: layout name of the heatmap channels.
        mean, std: per-channel normalisation of RGB in [0, 1].
        weights: named published weights; ``default_weights`` names the one ``run`` uses.
        custom_layout: a keypoint layout that is not one of the named ones (a user's own, from
            ``posetrack train``); when set it is the model's layout and ``keypoints`` is its name.
    """

    name: str
    input_size: Tuple[int, int]
    stages: Tuple[StageSpec, ...]
    keypoints: str = "coco"
    num_joints: int = 17
    stem_channels: int = 64
    final_conv_kernel: int = 1
    mean: Tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: Tuple[float, float, float] = (0.229, 0.224, 0.225)
    default_weights: Optional[str] = None
    weights: Dict[str, WeightsSpec] = field(default_factory=dict)
    custom_layout: Optional[KeypointLayout] = None

    def __post_init__(self) -> None:
        h, w = self.input_size
        if h % 32 or w % 32:
            raise ConfigError(f"input_size {self.input_size} must be multiples of 32")
        if self.default_weights is not None and self.default_weights not in self.weights:
            raise ConfigError(f"default_weights {self.default_weights!r} is not among weights {sorted(self.weights)}")

    @property
    def heatmap_size(self) -> Tuple[int, int]:
        return self.input_size[0] // 4, self.input_size[1] // 4

    @property
    def layout(self) -> KeypointLayout:
        if self.custom_layout is not None:
            return self.custom_layout
        from posetrack.keypoints import get_layout

        return get_layout(self.keypoints)

    def hrnet_spec(self) -> HRNetSpec:
        return HRNetSpec(stages=self.stages, num_joints=self.num_joints, stem_channels=self.stem_channels,
                         final_conv_kernel=self.final_conv_kernel)


def load_model_config(name: str) -> PoseModelConfig:
    """Read ``configs/<name>.yaml`` (or a YAML path) into a :class:`PoseModelConfig`.

    Raises:
        ConfigError: an unknown name (the shipped pose models are listed, not the other configs), or a bad file.
    """
    return load_yaml(PoseModelConfig, name, kind="pose model", names=list_pose_models())


def list_pose_models() -> List[str]:
    """Names of the shipped pose model configs (published variants first)."""
    shipped = [n for n in list_configs() if n.startswith(("w", "hrnet_"))]
    return [n for n in POSE_MODELS if n in shipped] + [n for n in shipped if n not in POSE_MODELS]


def build_pose_model(name: str, *, weights: Optional[str] = None, keypoints: Optional[str] = None,
                     num_joints: Optional[int] = None, progress: Optional[Callable[[int, Optional[int]], None]] = None
                     ) -> "HRNet":
    """Build an HRNet pose model from a config, optionally with weights.

    Args:
        name: a config name (``w48_384x288``, ...) or a YAML path.
        weights: a name from the config's ``weights`` (``coco``, ``posetrack18``), a local
            file, or a URL. None: random initialisation (for training or tests).
        keypoints: override the keypoint layout (e.g. ``posetrack18`` for fine-tuned weights).
        num_joints: override the number of heatmap channels.
        progress: download progress callback ``(bytes_done, bytes_total)``.

    Returns:
        An :class:`~posetrack.models.hrnet.HRNet` in eval mode with a ``config`` attribute
        (:class:`PoseModelConfig`, overrides applied).
    """
    cfg = load_model_config(name)
    spec: Optional[WeightsSpec] = None
    changes: Dict[str, object] = {}
    if weights is not None and weights in cfg.weights:
        spec = cfg.weights[weights]
        keypoints = keypoints or spec.keypoints
    elif weights is not None and keypoints is None and num_joints is None:
        changes = _trained_layout(cfg, weights)
    if keypoints is not None:
        from posetrack.keypoints import get_layout

        layout = get_layout(keypoints)
        changes["keypoints"] = keypoints
        if num_joints is None:
            changes["num_joints"] = layout.num_keypoints
    if num_joints is not None:
        changes["num_joints"] = num_joints
    if changes:
        cfg = dataclasses.replace(cfg, **changes)
    if cfg.num_joints != cfg.layout.num_keypoints:
        raise ConfigError(f"{cfg.name}: {cfg.num_joints} joints but layout {cfg.keypoints!r} has "
                          f"{cfg.layout.num_keypoints} keypoints")
    from posetrack.models.hrnet import HRNet

    model = HRNet(cfg.hrnet_spec())
    model.config = cfg
    if weights is not None:
        from posetrack.models.checkpoint import load_checkpoint

        source = spec.url if spec is not None else weights
        load_checkpoint(model, source, sha256=spec.sha256 if spec is not None else None, progress=progress)
    return model.eval()


def _trained_layout(cfg: PoseModelConfig, weights: str) -> Dict[str, object]:
    """Config changes a ``posetrack train`` checkpoint asks for: its keypoint layout (a named one, or its
    own); {} for any other weights. A checkpoint trained for another input size or architecture is
    refused, naming the model it was trained as (its weights could load and still predict nonsense)."""
    from posetrack.io.download import is_url

    if is_url(weights):
        return {}
    from posetrack.models.checkpoint import read_training_meta

    meta = read_training_meta(weights)
    if meta is None:
        return {}
    trained = meta.get("model") or {}
    size = tuple(trained.get("input_size") or ())
    stages = trained.get("stages")
    ours = [[s.modules, list(s.blocks), list(s.channels), s.block] for s in cfg.stages]
    if size != tuple(cfg.input_size) or (stages is not None and [list(x) for x in stages] != ours):
        raise ConfigError(f"{weights} was trained as pose model {trained.get('name')!r} "
                          f"({'x'.join(map(str, size))} input); pose model {cfg.name!r} has another "
                          f"{'input size' if size != tuple(cfg.input_size) else 'architecture'}: use "
                          f"{trained.get('name')!r} (or its YAML)")
    layout = KeypointLayout.from_dict(meta.get("layout") or {})
    from posetrack.keypoints import LAYOUTS

    named = LAYOUTS.get(layout.name)
    if named is not None and named.names == layout.names:
        return {"keypoints": named.name, "num_joints": named.num_keypoints}
    return {"keypoints": layout.name, "num_joints": layout.num_keypoints, "custom_layout": layout}


def count_parameters(model) -> int:
    """Trainable parameters (BatchNorm running statistics excluded, as the paper counts)."""
    return sum(p.numel() for p in model.parameters())


def count_gflops(model, input_size: Tuple[int, int]) -> float:
    """Convolution multiply-accumulates of one forward pass / 2^30 (the HRNet paper's GFLOPs).

    Measured by running the model on a zero image with hooks on every ``Conv2d``. A model
    built on the ``meta`` device is measured without computing anything.
    """
    import torch
    from torch import nn

    device = next(model.parameters()).device
    macs = [0]

    def hook(mod: nn.Conv2d, inp, out) -> None:
        kh, kw = mod.kernel_size
        macs[0] += out.numel() // out.shape[0] * (mod.in_channels // mod.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, *input_size, device=device))
    finally:
        for h in handles:
            h.remove()
    return macs[0] / 2 ** 30


def seeded_state_dict(model, seed: int = 0, conv_gain: float = 0.4) -> Dict[str, "object"]:
    """Deterministic random weights for ``model`` in its own state-dict order (tests, benchmarks, export checks).

    The project's reference recipe (:func:`posetrack.models.random_weights.make_state_dict`) applied to the
    model's own keys and shapes; for the official key layout this gives the same tensors as
    the reference maker.

    Returns:
        a state dict for ``model.load_state_dict(..., strict=True)``.
    """
    from posetrack.models.random_weights import make_state_dict

    manifest = [(key, list(value.shape), str(value.dtype).replace("torch.", ""))
                for key, value in model.state_dict().items()]
    return make_state_dict(manifest, seed, conv_gain)
