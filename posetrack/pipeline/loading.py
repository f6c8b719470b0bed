"""The networks of a run: the pose estimator and the person detector, loaded once and reusable.

An engine's worker loads them once and runs many videos with them; :func:`load_models`
fetches every weights file first (:func:`posetrack.pipeline.weights.fetch_weights`), so
missing files are reported together, before any model is built.

Example:
    >>> from posetrack.pipeline.loading import load_models
    >>> from posetrack.pipeline.options import RunOptions
    >>> models = load_models(RunOptions(device="cpu", boxes_file="dets.json"))   # doctest: +SKIP
    >>> models.detector is None                                                   # doctest: +SKIP
    True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from posetrack.errors import WeightsError
from posetrack.models import registry
from posetrack.models.devices import resolve_device
from posetrack.pipeline.configs import detector_config
from posetrack.pipeline.options import RunOptions
from posetrack.pipeline.weights import DownloadProgress, fetch_weights
from posetrack.pose.estimator import PoseEstimator

__all__ = ["Models", "load_models", "build_estimator", "build_detector"]


@dataclass(frozen=True)
class Models:
    """The networks of a run, loaded once and reusable across videos.

    Attributes:
        estimator: the :class:`~posetrack.pose.estimator.PoseEstimator` (HRNet + weights + test pipeline).
        detector: the person detector, or None when boxes come from a boxes file.
        device: the torch device both run on ("cpu", "cuda:0", ...).
    """

    estimator: PoseEstimator
    detector: Any
    device: str


def build_estimator(opts: RunOptions, device: str) -> PoseEstimator:
    """HRNet + weights + the official test pipeline, as ``opts.models`` and ``opts.runtime`` say.

    Raises:
        WeightsError: the model has no published weights and ``pose_weights`` is not given, or they do not fit.
        ConfigError: an unknown model config.
    """
    models, runtime = opts.models, opts.runtime
    cfg = registry.load_model_config(models.pose_model)
    weights = models.pose_weights or cfg.default_weights
    if weights is None:
        raise WeightsError(f"pose model {cfg.name!r} has no published weights; give pose_weights (a file or URL)",
                           field="pose_weights")
    model = registry.build_pose_model(models.pose_model, weights=weights)
    return PoseEstimator(model, flip_test=models.flip, decode=models.decode, device=device,
                         batch_size=runtime.batch_size, precision=runtime.precision_on(device), crop="auto",
                         backend=runtime.backend, compile=runtime.compile, static_batch=runtime.compile)


def build_detector(opts: RunOptions, device: str):
    """The person detector of a run (``configs/detector.yaml`` with ``opts``' choices), on ``device``."""
    from posetrack.pose.detector import build_detector as build   # reason: imports torch

    cfg = detector_config(opts.models, opts.runtime, device)
    return build(cfg, weights_path=opts.models.detector_weights, device=device)


def load_models(opts: RunOptions = RunOptions(), *, download_progress: Optional[DownloadProgress] = None) -> Models:
    """Load the pose estimator and (unless ``opts.boxes_file`` is set) the person detector.

    Args:
        opts: the run's choices.
        download_progress: ``progress(file_name, bytes_done, bytes_total_or_None)`` while downloading.

    Raises:
        DeviceError: ``opts.device`` is not available here.
        MissingWeightsError: weight files are missing and cannot be downloaded (all are listed).
        WeightsError: weights are corrupt or do not fit the model.
    """
    device = resolve_device(opts.runtime.device)
    fetch_weights(opts, progress=download_progress)
    estimator = build_estimator(opts, device)
    detector = None if opts.models.boxes_file else build_detector(opts, device)
    return Models(estimator=estimator, detector=detector, device=device)
