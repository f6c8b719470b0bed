"""Training and fine-tuning HRNet the way the paper did (Sun et al., CVPR 2019, Sec. 4), behind ``posetrack train``.

Stages, one module each: ``config`` (``configs/train/*.yaml`` -> :class:`TrainConfig`), ``layouts``
(named or user keypoint layouts), ``data`` (COCO / PoseTrack files and image folders), ``augment``
(the official crop draws: scale, rotation, flip, half body), ``targets`` (Gaussian heatmaps and
weights), ``loss`` (``JointsMSELoss``), ``dataset`` (seeded, resumable batches), ``schedule`` (Adam
and the official learning-rate steps), ``finetune`` (starting weights, frozen stages, new heads),
``batchnorm`` (per-GPU BatchNorm statistics), ``validation`` (COCO AP through ``PoseEstimator``),
``checkpoints``, ``history`` (CSV, TensorBoard, plot), ``trainer`` (the loop) and ``synthetic``
(stick-figure data sets for tests and demos).

Layer: imports ``models``, ``pose``, ``io`` and the core; only the command line imports it.

Example::

    from posetrack.training import load_train_config, train

    config = load_train_config("posetrack18_w32_256x192")          # or a YAML path
    summary = train(config, "data/PoseTrack", "runs/pt18", progress=print)
    print(summary.best_ap)                                          # COCO keypoint AP on val
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "TrainConfig": "posetrack.training.config",
    "load_train_config": "posetrack.training.config",
    "list_train_configs": "posetrack.training.config",
    "train": "posetrack.training.trainer",
    "TrainEvent": "posetrack.training.trainer",
    "TrainSummary": "posetrack.training.trainer",
    "make_stick_figures": "posetrack.training.synthetic",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
