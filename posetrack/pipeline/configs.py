"""The settings of a run: the shipped configs with a :class:`~posetrack.pipeline.runner.RunOptions`' overrides applied.

Every part that needs the detector, tracker or flow settings of a run (building the
models, checking which weight files the run needs) asks :func:`resolve_configs`, so the
overrides are applied in one place and two parts never disagree on, say, which detector
runs.

Example:
    >>> from posetrack.pipeline.runner import RunOptions
    >>> from posetrack.pipeline.configs import resolve_configs
    >>> configs = resolve_configs(RunOptions(matching="hungarian", flow_method="none"))
    >>> configs.tracker.matching, configs.flow
    ('hungarian', None)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:  # pragma: no cover
    from posetrack.pipeline.runner import RunOptions

__all__ = ["RunConfigs", "resolve_configs"]


@dataclass(frozen=True)
class RunConfigs:
    """The resolved settings of one run.

    Attributes:
        detector: the person detector's :class:`~posetrack.pose.detector.DetectorConfig`
            (``configs/detector.yaml``, ``detector_name`` and ``precision``/``half`` applied), or None when boxes come
            from ``boxes_file``.
        tracker: the :class:`~posetrack.tracking.tracker.TrackerConfig` (the ``tracker_mode`` preset of
            ``tracker_config``, ``matching`` applied), or None when ``tracker_mode`` is "none".
        flow: the :class:`~posetrack.tracking.flow.FlowConfig` (``flow_method`` applied, RAFT on the
            run's device), or None when there is no tracking or no flow.
    """

    detector: Optional[Any]
    tracker: Optional[Any]
    flow: Optional[Any]


def resolve_configs(opts: "RunOptions", device: str = "cpu") -> RunConfigs:
    """Load the detector and tracking configs and apply the overrides ``opts`` carries.

    Args:
        opts: the run's choices.
        device: the resolved torch device; RAFT flow runs there.

    Raises:
        ConfigError: a config file is missing or wrong, or an override is not a valid value.
    """
    detector = None
    if not opts.boxes_file:
        from posetrack.config import load_yaml
        from posetrack.pose.detector import DetectorConfig
        from posetrack.models.devices import effective_precision

        detector = load_yaml(DetectorConfig, "detector")
        if opts.detector_name:
            detector = dataclasses.replace(detector, name=opts.detector_name)
        precision = effective_precision(device, opts.half, opts.precision)
        if precision != "auto":
            detector = dataclasses.replace(detector, precision=precision)
    if opts.tracker_mode == "none":
        return RunConfigs(detector=detector, tracker=None, flow=None)
    from posetrack.tracking.tracker import load_tracking_config

    tracker, flow = load_tracking_config(opts.tracker_config, preset=opts.tracker_mode)
    if opts.matching:
        tracker = dataclasses.replace(tracker, matching=opts.matching)
    if opts.max_tracks is not None:
        tracker = dataclasses.replace(tracker, max_tracks=opts.max_tracks)
    if opts.flow_method:
        flow = dataclasses.replace(flow, method=opts.flow_method)
    if flow.method == "raft":
        flow = dataclasses.replace(flow, device=device)
    return RunConfigs(detector=detector, tracker=tracker, flow=None if flow.method == "none" else flow)
