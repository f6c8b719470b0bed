"""The `run` pipeline: frames -> person boxes -> poses -> tracks, streamed frame by frame.

FlowTrack's order per frame k (Xiao et al. 2018, Sec. 3): flow F(k-1 -> k); the previous
poses' joints moved by the flow give box proposals; proposals and detections are unified
by NMS; HRNet runs on the unified boxes; poses are matched to tracks by flow-based OKS.

Poses at frame k depend on the poses at k-1 (through the proposals), yet most boxes come
from the detector. So each batch of frames is processed in two steps: (1) poses for all
detector boxes of all frames in one batched forward pass, (2) frame by frame, the
proposals that survive NMS (people the detector missed) get their poses in a small extra
pass. The result is the same as a strictly sequential loop, only faster.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .errors import ConfigError, DeviceError
from .structures import Detections, Frame, FrameResult, Poses

__all__ = ["StageTimes", "Pipeline", "resolve_device"]


@dataclass
class StageTimes:
    """Seconds spent per stage (accumulated while the pipeline runs)."""

    decode: float = 0.0
    detect: float = 0.0
    flow: float = 0.0
    pose: float = 0.0
    track: float = 0.0
    frames: int = 0
    people: int = 0

    def fps(self, stage: str) -> float:
        t = getattr(self, stage)
        return self.frames / t if t > 0 else float("inf")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; anything else is checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device {device!r}: CUDA is not available on this machine (use cpu)")
    try:
        torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    return device


BoxSource = Callable[[List[Frame]], List[Detections]]


class Pipeline:
    """Detect, estimate and track, one frame batch at a time.

    Args:
        estimator: a :class:`~posetrack.pose.PoseEstimator`.
        boxes: callable mapping a list of frames to their person detections (a
            detector, or precomputed boxes looked up by frame index).
        tracker: a :class:`~posetrack.tracker.PoseTracker`, or None for untracked poses.
        flow: an optical-flow estimator ``(prev_rgb, next_rgb) -> (H, W, 2)``, or None
            (no flow: no box proposals, pose-only similarity).
        box_score: detections below this score are dropped before pose estimation.
        nms_iou: IoU above which a proposal and a detection are the same person.
        propagate_boxes: recover people the detector missed from flow-moved poses.
    """

    def __init__(self, estimator, boxes: BoxSource, tracker=None, flow=None, box_score: float = 0.5,
                 nms_iou: float = 0.5, propagate_boxes: bool = True):
        self.estimator = estimator
        self.boxes = boxes
        self.tracker = tracker
        self.flow = flow
        self.box_score = box_score
        self.nms_iou = nms_iou
        self.propagate_boxes = propagate_boxes and tracker is not None
        self.times = StageTimes()
        self._prev_image: Optional[np.ndarray] = None

    def seed_tracks(self, results: Sequence[FrameResult]) -> None:
        """Continue after finished frames (resume): restore the tracker's live tracks and ids."""
        if self.tracker is not None and results:
            self.tracker.seed(results)

    def seed_image(self, image: np.ndarray) -> None:
        """The image of the frame before the next one, for the first flow field after a resume."""
        self._prev_image = image

    def run(self, batches: Iterator[List[Frame]]) -> Iterator[Tuple[Frame, FrameResult]]:
        """Yield every frame with its result, in order."""
        t0 = time.perf_counter()
        for batch in batches:
            self.times.decode += time.perf_counter() - t0
            yield from self._batch(batch)
            t0 = time.perf_counter()

    def _batch(self, frames: List[Frame]) -> Iterator[Tuple[Frame, FrameResult]]:
        t = time.perf_counter()
        dets = [_above(d, self.box_score) for d in self.boxes(frames)]
        self.times.detect += time.perf_counter() - t
        t = time.perf_counter()
        det_poses = self.estimator.estimate_batch([f.image for f in frames], dets)
        self.times.pose += time.perf_counter() - t
        for frame, d, poses in zip(frames, dets, det_poses):
            yield frame, self._frame(frame, d, poses)

    def _frame(self, frame: Frame, dets: Detections, det_poses: Poses) -> FrameResult:
        flow, previous = None, self._prev_image
        if self.flow is not None and previous is not None and self.tracker is not None:
            t = time.perf_counter()
            flow = self.flow(previous, frame.image)
            self.times.flow += time.perf_counter() - t
        self._prev_image = frame.image
        if self.tracker is None:
            self._count(det_poses)
            return FrameResult(frame=frame.index, poses=det_poses)
        t = time.perf_counter()
        self.tracker.propagate(flow, frame.index, previous if flow is not None else None)
        proposals = self.tracker.propose_boxes((frame.width, frame.height)) \
            if self.propagate_boxes and flow is not None else Detections.empty()
        self.times.track += time.perf_counter() - t
        poses, detected = self._add_recovered(frame, dets, det_poses, proposals) if len(proposals) \
            else (det_poses, None)
        t = time.perf_counter()
        result = self.tracker.update(frame.index, poses, detected=detected)
        self.times.track += time.perf_counter() - t
        self._count(result.poses)
        return result

    def _add_recovered(self, frame: Frame, dets: Detections, det_poses: Poses,
                       proposals: Detections) -> Tuple[Poses, np.ndarray]:
        """Unify detections with flow proposals by NMS; estimate poses for the kept proposals.

        Returns the poses of the unified boxes in :func:`unify_boxes` order: the kept
        detections' poses (already estimated), then the kept proposals' new poses; and
        (N,) bool, True for the poses a detector box supports.
        """
        from .propagation import unify_boxes

        kept = unify_boxes(dets, proposals, iou=self.nms_iou, min_score=self.box_score)
        from_det = kept[kept < len(dets)]
        recovered = proposals.select(kept[kept >= len(dets)] - len(dets))
        new_poses = Poses.empty(det_poses.num_keypoints)
        if len(recovered):
            t = time.perf_counter()
            new_poses = self.estimator.estimate(frame.image, recovered)
            self.times.pose += time.perf_counter() - t
        detected = np.r_[np.ones(len(from_det), bool), np.zeros(len(new_poses), bool)]
        return Poses.concat([det_poses.select(from_det), new_poses], det_poses.num_keypoints), detected

    def _count(self, poses: Poses) -> None:
        self.times.frames += 1
        self.times.people += len(poses)


def _above(d: Detections, thr: float) -> Detections:
    keep = d.scores >= thr
    return Detections(d.boxes[keep], d.scores[keep])
