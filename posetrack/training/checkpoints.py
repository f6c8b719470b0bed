"""What ``posetrack train`` writes into its output folder, and how a run resumes from it.

Files (the official code's names):

* ``checkpoint.pth`` - the resume state, rewritten at every epoch end (and every
  ``checkpoint_every`` steps): ``state_dict`` (the model, official key layout), ``optimizer``,
  ``scaler``, ``epoch``, ``step`` (optimiser steps done in that epoch), ``global_step``, ``best_ap``
  and ``meta``;
* ``model_best.pth`` - the weights with the best validation AP so far;
* ``final_state.pth`` - the weights after the last epoch.

Every file is ``{"state_dict": ..., "meta": ...}`` (``checkpoint.pth`` has more entries), which
``posetrack run --pose-weights FILE`` and :func:`posetrack.models.checkpoint.load_checkpoint` load as
they are; ``meta`` (``format: posetrack-train``) records the keypoint layout, the model config,
the training config, the data's hash, the epoch and the validation metrics, and
:func:`posetrack.models.registry.build_pose_model` takes the layout from it. Files are written
beside and renamed into place, so a kill never leaves a torn checkpoint.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

import torch
from torch import nn

from posetrack.io.atomic import named_os_errors, tmp_path
from posetrack.keypoints import KeypointLayout
from posetrack.models.checkpoint import TRAINING_META_FORMAT
from posetrack.models.registry import PoseModelConfig
from posetrack.training.config import TrainConfig, config_to_dict

__all__ = ["RESUME", "BEST", "FINAL", "META_VERSION", "build_meta", "save_checkpoint", "load_resume"]

RESUME, BEST, FINAL = "checkpoint.pth", "model_best.pth", "final_state.pth"
META_VERSION = 1


def build_meta(model_cfg: PoseModelConfig, layout: KeypointLayout, config: TrainConfig, data_hash: str,
               **extra: Any) -> Dict[str, Any]:
    """The ``meta`` record of a checkpoint (plain data: loadable with ``weights_only``)."""
    import posetrack

    model = {"name": model_cfg.name, "input_size": list(model_cfg.input_size),
             "stages": [[s.modules, list(s.blocks), list(s.channels), s.block] for s in model_cfg.stages],
             "num_joints": layout.num_keypoints, "stem_channels": model_cfg.stem_channels,
             "final_conv_kernel": model_cfg.final_conv_kernel, "mean": list(model_cfg.mean),
             "std": list(model_cfg.std)}
    return {"format": TRAINING_META_FORMAT, "version": META_VERSION, "posetrack": posetrack.__version__,
            "torch": str(torch.__version__), "model": model, "layout": layout.to_dict(),
            "train_config": config_to_dict(config), "data_hash": data_hash, **extra}


def _plain_state(model: nn.Module) -> Dict[str, torch.Tensor]:
    """The model's tensors under the official key names, on the CPU (a DDP wrapper is looked through)."""
    model = getattr(model, "module", model)
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def save_checkpoint(path: Path, model: nn.Module, meta: Dict[str, Any], **extra: Any) -> None:
    """Write ``{"state_dict", "meta", **extra}`` to ``path`` atomically (written beside, then renamed)."""
    path = Path(path)
    tmp = tmp_path(path)
    with named_os_errors(path):
        try:
            torch.save({"state_dict": _plain_state(model), "meta": meta, **extra}, tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()


def load_resume(path: Path) -> Dict[str, Any]:
    """The resume state saved by :func:`save_checkpoint` in ``checkpoint.pth`` (tensors on the CPU).

    Raises:
        CheckpointError: unreadable, unsafe or not a ``posetrack train`` checkpoint.
    """
    from posetrack.models.checkpoint import CheckpointError, _load_pickle

    state = _load_pickle(Path(path))
    meta = state.get("meta") if isinstance(state, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != TRAINING_META_FORMAT or "optimizer" not in state:
        raise CheckpointError(f"{path}: not a posetrack train resume checkpoint")
    return state
