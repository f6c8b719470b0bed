"""Training configuration: ``configs/train/*.yaml`` -> a frozen :class:`TrainConfig`.

Every shipped value carries its source (the official HRNet experiment file and line, the
official code, or mmpose's PoseTrack fine-tuning config) in the YAML beside it. Unknown keys fail
with a "did you mean" (:func:`posetrack.config.from_dict`).

Example:
    >>> from posetrack.training.config import load_train_config
    >>> cfg = load_train_config("coco_w32_256x192")
    >>> cfg.optimizer.lr, cfg.optimizer.milestones, cfg.targets.sigma
    (0.001, (170, 200), 2.0)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from posetrack.config import from_dict, yaml_load
from posetrack.errors import ConfigError
from posetrack.models.backends import PRECISIONS as BACKEND_PRECISIONS
from posetrack.training.augment import AugmentSettings

__all__ = ["DataSettings", "TargetSettings", "OptimizerSettings", "ValidationSettings", "TrainConfig",
           "load_train_config", "list_train_configs", "config_to_dict"]

#: What :func:`posetrack.models.backends.resolve_precision` takes: auto (fp16 on CUDA, fp32 elsewhere) or one.
PRECISIONS = ("auto", *BACKEND_PRECISIONS)


@dataclass(frozen=True)
class DataSettings:
    """Where the data is and how it is read (:mod:`posetrack.training.data`).

    Attributes:
        format: ``coco``, ``posetrack18`` or ``posetrack21`` (the folder layout and keypoint slots).
        train, val: split names (``train2017``; ``train``), or JSON files / folders of JSON files.
        keypoints: the layout of the files' keypoint slots (a name or a layout YAML); None: the
            format's own (``coco`` for COCO, ``posetrack18`` for PoseTrack).
        detections: a COCO detection-results file for validation; None validates in the
            ground-truth boxes (official ``USE_GT_BBOX`` true during training).
        workers: data-loading processes (0: in the training process).
    """

    format: str = "coco"
    train: str = "train2017"
    val: Optional[str] = "val2017"
    keypoints: Optional[str] = None
    detections: Optional[str] = None
    workers: int = 4

    def __post_init__(self) -> None:
        from posetrack.training.data import FORMATS

        if self.format not in FORMATS:
            raise ConfigError(f"data.format: {self.format!r} is not one of {', '.join(FORMATS)}")
        if self.workers < 0:
            raise ConfigError("data.workers must be >= 0", field="data.workers")

    @property
    def layout_name(self) -> str:
        return self.keypoints or ("coco" if self.format == "coco" else "posetrack18")


@dataclass(frozen=True)
class TargetSettings:
    """Heatmap targets (:func:`posetrack.training.targets.generate_targets`).

    Attributes:
        sigma: Gaussian std in heatmap pixels.
        use_target_weight: weight the loss per keypoint (0 for unlabelled keypoints).
    """

    sigma: float = 2.0
    use_target_weight: bool = True

    def __post_init__(self) -> None:
        if self.sigma <= 0:
            raise ConfigError("targets.sigma must be > 0")


@dataclass(frozen=True)
class OptimizerSettings:
    """Adam and its learning-rate steps (:mod:`posetrack.training.schedule`).

    Attributes:
        lr: base learning rate.
        milestones: epochs of the official ``MultiStepLR`` milestones; because the official loop
            steps the scheduler at the *start* of each epoch, the rate drops one epoch earlier
            (epochs 0-168 at 1e-3 for milestone 170).
        gamma: the factor at each milestone.
        epochs: number of epochs.
        batch_size: samples per optimiser step, all processes together.
        batchnorm_batch: samples per BatchNorm statistic (the official 4-GPU DataParallel run
            normalised each GPU's 32 samples on their own; its running statistics came from the first
            GPU's); None: the whole per-process batch.
        weight_decay: weight decay (official Adam: 0, because ``WD`` only reaches SGD).
        warmup_steps, warmup_ratio: mmpose's linear warm-up (0 steps: none, as officially).
        name: ``adam`` (the paper's) or ``sgd`` (the official code's other branch: momentum, nesterov).
        momentum, nesterov: SGD's (official ``MOMENTUM`` 0.9, ``NESTEROV`` false).
    """

    lr: float = 1e-3
    milestones: Tuple[int, ...] = (170, 200)
    gamma: float = 0.1
    epochs: int = 210
    batch_size: int = 128
    batchnorm_batch: Optional[int] = 32
    weight_decay: float = 0.0
    warmup_steps: int = 0
    warmup_ratio: float = 0.001
    name: str = "adam"
    momentum: float = 0.9
    nesterov: bool = False

    def __post_init__(self) -> None:
        if self.name not in ("adam", "sgd"):
            raise ConfigError(f"optimizer.name: {self.name!r} is not adam or sgd")
        bad = [n for n, ok in (("lr", self.lr > 0), ("epochs", self.epochs >= 1), ("batch_size", self.batch_size >= 1))
               if not ok]
        if bad:
            raise ConfigError("optimizer: lr must be > 0, epochs and batch_size >= 1",
                              fields=tuple(f"optimizer.{n}" for n in bad))
        if self.batchnorm_batch is not None and self.batchnorm_batch < 1:
            raise ConfigError("optimizer.batchnorm_batch must be >= 1 (or null)")
        if list(self.milestones) != sorted(self.milestones):
            raise ConfigError("optimizer.milestones must be in increasing order")


@dataclass(frozen=True)
class ValidationSettings:
    """Validation during training (:mod:`posetrack.training.validation`), official test settings.

    Attributes:
        every: validate after every N epochs (and after the last one); 0: never.
        batch_size: person crops per forward pass.
        flip_test: average with the mirrored crop (``FLIP_TEST``; the heatmap shift always applies).
        image_threshold: detection score threshold (``IMAGE_THRE``).
        in_vis_threshold: keypoint scores above it make the rescoring mean (``IN_VIS_THRE``).
        oks_threshold: OKS-NMS threshold (``OKS_THRE``).
        max_images: validate on the first N images with people only (quick checks); None: all.
    """

    every: int = 1
    batch_size: int = 32
    flip_test: bool = True
    image_threshold: float = 0.0
    in_vis_threshold: float = 0.2
    oks_threshold: float = 0.9
    max_images: Optional[int] = None


@dataclass(frozen=True)
class TrainConfig:
    """One training recipe.

    Attributes:
        model: a pose model config (``w32_256x192``, ...; ``posetrack models``) or its YAML.
        weights: starting weights: None for the official from-scratch initialisation (seeded by
            ``seed``), ``seeded`` / ``seeded:N`` for the project's seeded random weights in the official
            layout, a name from the model config (``coco``), a ``.pth`` / mmpose / ``posetrack train``
            checkpoint, or a URL.
        head_init: for a new keypoint layout: new keypoint -> keypoint of the weights' layout whose
            final-layer filter it starts from (keypoints with the same name are copied anyway; the
            others start as the official init, N(0, 0.001), bias 0).
        freeze_stages: freeze the stem and the first N of HRNet's 4 stages (0: train everything).
        seed: seeds data order, crops and seeded weights.
        precision: ``auto`` (fp16 autocast on CUDA, fp32 elsewhere), ``fp32``, ``fp16``, ``bf16``.
        channels_last: NHWC memory layout (tensor cores); None: on for CUDA.
        checkpoint_every: also save the resume checkpoint every N steps (0: at epoch ends only).
        log_every: steps between CSV rows of the training loss.
    """

    model: str
    data: DataSettings = field(default_factory=DataSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    targets: TargetSettings = field(default_factory=TargetSettings)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    weights: Optional[str] = None
    head_init: Dict[str, str] = field(default_factory=dict)
    freeze_stages: int = 0
    seed: int = 0
    precision: str = "auto"
    channels_last: Optional[bool] = None
    checkpoint_every: int = 0
    log_every: int = 50

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision: {self.precision!r} is not one of {', '.join(PRECISIONS)}",
                              field="precision")
        if not 0 <= self.freeze_stages <= 4:
            raise ConfigError("freeze_stages must be 0..4", field="freeze_stages")
        seed = self.weights.split(":", 1)[1] if self.weights and self.weights.startswith("seeded:") else "0"
        if not seed.lstrip("-").isdigit():
            raise ConfigError(f"weights: {self.weights!r}: write seeded:N with an integer seed N", field="weights")
        if self.checkpoint_every < 0 or self.log_every < 1:
            raise ConfigError("checkpoint_every must be >= 0 and log_every >= 1")

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with top-level fields, or ``section.field`` keys, changed (command-line overrides)."""
        top: Dict[str, Any] = {}
        nested: Dict[str, Dict[str, Any]] = {}
        for key, value in changes.items():
            section, _, name = key.partition(".")
            if name:
                nested.setdefault(section, {})[name] = value
            else:
                top[key] = value
        for section, values in nested.items():
            top[section] = dataclasses.replace(getattr(self, section), **values)
        return dataclasses.replace(self, **top)


def _shipped() -> Any:
    return resources.files("posetrack.configs").joinpath("train")


def list_train_configs() -> List[str]:
    """Names of the shipped training configs (``configs/train/*.yaml``)."""
    return sorted(p.name[:-5] for p in _shipped().iterdir() if p.name.endswith(".yaml"))


def load_train_config(name: str) -> TrainConfig:
    """Read a shipped training config by name, or a YAML file, into a :class:`TrainConfig`.

    Raises:
        ConfigError: an unknown name (the shipped ones are listed), a missing file, bad YAML,
            unknown keys (with a "did you mean") or invalid values; the message names file and key.
    """
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") or path.is_file()):
        shipped = _shipped().joinpath(f"{name}.yaml")
        if not shipped.is_file():
            import difflib

            close = difflib.get_close_matches(name, list_train_configs(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"no training config named {name!r}{hint}; shipped: "
                              f"{', '.join(list_train_configs())} (or give a YAML file's path)", field="config")
        path = Path(str(shipped))
    elif not path.is_file():
        raise ConfigError(f"{name}: no such file", field="config")
    import yaml

    try:
        data = yaml_load(path.read_bytes()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return from_dict(TrainConfig, data, where=f"{path.name}:")


def config_to_dict(cfg: TrainConfig) -> Dict[str, Any]:
    """Plain data (lists for tuples), as stored in checkpoints and loadable by :func:`from_dict`."""
    def plain(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(dataclasses.asdict(cfg))
