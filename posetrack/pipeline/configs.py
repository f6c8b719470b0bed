"""The settings of a run: the shipped configs with a :class:`~posetrack.pipeline.options.RunOptions`' overrides applied.

Every part that needs the detector, tracker or flow settings of a run (building the
models, checking which weight files the run needs, re-tracking a file) asks this module,
so overrides are applied in one place and two parts never disagree on, say, which
detector runs. Tracker settings are overridden only through
:func:`posetrack.tracking.config.apply_overrides` (:func:`tracking_configs`).

Example:
    >>> from posetrack.pipeline.options import RunOptions
    >>> from posetrack.pipeline.configs import resolve_configs
    >>> configs = resolve_configs(RunOptions(matching="hungarian", flow_method="none"))
    >>> configs.tracker.matching, configs.flow
    ('hungarian', None)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple

from posetrack.config import load_yaml
from posetrack.pipeline.options import ModelOptions, RunOptions, RuntimeOptions, TrackingOptions
from posetrack.tracking.config import TrackerConfig, apply_overrides, load_tracking_config
from posetrack.tracking.flow import FlowConfig

__all__ = ["RunConfigs", "resolve_configs", "detector_config", "tracking_configs", "run_tracking"]


@dataclass(frozen=True)
class RunConfigs:
    """The resolved settings of one run.

    Attributes:
        detector: the person detector's :class:`~posetrack.pose.detector.DetectorConfig`
            (``configs/detector.yaml``, ``detector_name`` and ``precision`` applied), or None when boxes come
            from ``boxes_file``.
        tracker: the :class:`~posetrack.tracking.config.TrackerConfig` (the ``tracker_mode`` preset of
            ``tracker_config``, ``matching`` applied), or None when ``tracker_mode`` is "none".
        flow: the :class:`~posetrack.tracking.flow.FlowConfig` (``flow_method`` applied, RAFT on the
            run's device), or None when there is no tracking or no flow.
    """

    detector: Optional[Any]
    tracker: Optional[TrackerConfig]
    flow: Optional[FlowConfig]


def detector_config(models: ModelOptions, runtime: RuntimeOptions, device: str = "cpu"):
    """The person detector's config (``configs/detector.yaml``, name and precision chosen); None for a boxes file.

    Raises:
        ConfigError: the config file or the detector name is wrong.
    """
    if models.boxes_file:
        return None
    from posetrack.pose.detector import DetectorConfig   # reason: imports torch

    detector = load_yaml(DetectorConfig, "detector")
    if models.detector_name:
        detector = dataclasses.replace(detector, name=models.detector_name)
    precision = runtime.precision_on(device)
    if precision != "auto":
        detector = dataclasses.replace(detector, precision=precision)
    return detector


def tracking_configs(config: str = "tracker", preset: Optional[str] = None,
                     overrides: Optional[Mapping[str, Any]] = None, flow_method: Optional[str] = None,
                     device: str = "cpu") -> Tuple[TrackerConfig, FlowConfig]:
    """A tracker preset with overrides, and the flow settings: the one way tracker settings are chosen.

    Args:
        config: a tracker config name or YAML path (:func:`~posetrack.tracking.config.load_tracking_config`).
        preset: a preset of ``config``; None: its default.
        overrides: :class:`~posetrack.tracking.config.TrackerConfig` settings to replace, dotted for
            nested ones (``{"matching": "hungarian", "refine.enabled": False}``).
        flow_method: replaces the flow's method; None: the config's.
        device: the torch device RAFT runs on.

    Raises:
        ConfigError: an unknown config, preset, setting or value.
    """
    tracker, flow = load_tracking_config(config, preset=preset)
    if overrides:
        tracker = apply_overrides(tracker, overrides)
    if flow_method:
        flow = dataclasses.replace(flow, method=flow_method)
    if flow.method == "raft":
        flow = dataclasses.replace(flow, device=device)
    return tracker, flow


def run_tracking(tracking: TrackingOptions, device: str = "cpu"
                 ) -> Tuple[Optional[TrackerConfig], Optional[FlowConfig]]:
    """A run's tracker and flow settings (None, None untracked; flow None without flow).

    Raises:
        ConfigError: see :func:`tracking_configs`.
    """
    if not tracking.tracked:
        return None, None
    overrides = {k: v for k, v in (("matching", tracking.matching), ("max_tracks", tracking.max_tracks)) if v}
    tracker, flow = tracking_configs(tracking.tracker_config, tracking.tracker_mode, overrides, tracking.flow_method,
                                     device)
    return tracker, None if flow.method == "none" else flow


def resolve_configs(opts: RunOptions, device: str = "cpu") -> RunConfigs:
    """Load the detector and tracking configs and apply the overrides ``opts`` carries.

    Args:
        opts: the run's choices.
        device: the resolved torch device; RAFT flow runs there.

    Raises:
        ConfigError: a config file is missing or wrong, or an override is not a valid value.
    """
    detector = detector_config(opts.models, opts.runtime, device)
    tracker, flow = run_tracking(opts.tracking, device)
    return RunConfigs(detector=detector, tracker=tracker, flow=flow)
