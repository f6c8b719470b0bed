"""How long a run will take on a CPU, from measured per-frame and per-person costs, and what is faster.

A newcomer on a laptop starts ``posetrack run video.mp4`` with the defaults (HRNet-W48 384x288 with
the flip test, Faster R-CNN ResNet-50 FPN v2) and waits hours without knowing it. :func:`cpu_estimate`
says so before the run starts, with the faster settings.

The costs are CPU seconds of one thread, measured by ``python benchmarks/cpu_speed.py --threads 1
--people 4 --repeats 3`` (README, "Installing on a CPU-only machine"; a 2-core Xeon, torch 2.14.1,
±20%): the pose network per person with the full test pipeline, the detector per 1280x720 frame
(torchvision resizes every frame to 800 px on its short side, so the cost hardly depends on the
video's size). More cores divide the time by at most their number.

Example:
    >>> from posetrack.pipeline.cpu_estimate import cpu_estimate
    >>> e = cpu_estimate("w48_384x288", True, "fasterrcnn_resnet50_fpn_v2", 1, frames=750, cores=2)
    >>> round(e.seconds_per_frame, 2), e.slow
    (9.9, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

__all__ = ["CpuEstimate", "cpu_estimate", "POSE_SECONDS", "DETECTOR_SECONDS", "FASTER", "format_duration"]

#: Pose model -> (seconds per person without, with the flip test), one CPU thread.
POSE_SECONDS: Dict[str, Tuple[float, float]] = {
    "w32_256x192": (0.20, 0.50),
    "w32_384x288": (0.49, 0.93),
    "w48_256x192": (0.38, 0.72),
    "w48_384x288": (0.68, 1.50),
}
#: Detector -> seconds per frame, one CPU thread.
DETECTOR_SECONDS: Dict[str, float] = {
    "fasterrcnn_resnet50_fpn_v2": 8.4,
    "fasterrcnn_mobilenet_v3_large_fpn": 0.94,
}
#: The settings the estimate suggests, and what they are.
FASTER = {"pose_model": "w32_256x192", "flip": False, "detector_name": "fasterrcnn_mobilenet_v3_large_fpn",
          "detect_every": 4}
#: One person's frame costs more than this (one thread): worth telling before the run.
SLOW_SECONDS = 2.0


@dataclass(frozen=True)
class CpuEstimate:
    """A run's expected CPU time with one person in view.

    Attributes:
        seconds_per_frame: one thread, one person (detector share included).
        seconds_per_person: what each further person adds per frame (one thread).
        frames: frames the run will compute, or None when unknown (a live source).
        cores: CPU threads the run may use.
        faster_seconds_per_frame: the same with :data:`FASTER`'s settings.
        slow: the frame cost is above :data:`SLOW_SECONDS`, so the estimate is worth showing.
    """

    seconds_per_frame: float
    seconds_per_person: float
    frames: Optional[int]
    cores: int
    faster_seconds_per_frame: float
    slow: bool

    def total(self) -> Optional[Tuple[float, float]]:
        """(best, worst) seconds for the whole run with one person: all cores busy, or one."""
        if self.frames is None:
            return None
        one = self.frames * self.seconds_per_frame
        return one / max(self.cores, 1), one


def _frame_seconds(pose_model: str, flip: bool, detector: Optional[str], detect_every: int) -> Optional[Tuple[float, float]]:
    pose = POSE_SECONDS.get(pose_model)
    detect = 0.0 if detector is None else DETECTOR_SECONDS.get(detector)
    if pose is None or detect is None:
        return None
    person = pose[1] if flip else pose[0]
    return detect / detect_every + person, person


def cpu_estimate(pose_model: str, flip: bool, detector: Optional[str], detect_every: int = 1, *,
                 frames: Optional[int] = None, cores: int = 1) -> Optional[CpuEstimate]:
    """The expected CPU cost of a run, or None for a model or detector that was not measured.

    Args:
        pose_model: the pose model's name (``w48_384x288``, ...).
        flip: the flip test.
        detector: the torchvision detector's name, or None with a boxes file (no detector).
        detect_every: the detector runs on every N-th frame.
        frames: frames the run computes (after start, end and stride), None when unknown.
        cores: CPU threads torch may use.
    """
    cost = _frame_seconds(pose_model, flip, detector, detect_every)
    if cost is None:
        return None
    fast = _frame_seconds(FASTER["pose_model"], FASTER["flip"], FASTER["detector_name"], FASTER["detect_every"])
    return CpuEstimate(cost[0], cost[1], frames, cores, fast[0], cost[0] > SLOW_SECONDS)


def format_duration(seconds: float) -> str:
    """3725 -> '1 h 02 min'; 125 -> '2 min 05 s'; 8 -> '8 s'."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds // 60 % 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
