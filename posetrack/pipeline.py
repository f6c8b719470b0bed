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
        raise RuntimeError(f"--device {device}: CUDA is not available on this machine (use --device cpu)")
    try:
        torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
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
        det_kps = self.estimator.estimate_many([f.image for f in frames], [d.boxes for d in dets])
        self.times.pose += time.perf_counter() - t
        for frame, d, kps in zip(frames, dets, det_kps):
            yield frame, self._frame(frame, d, kps)

    def _frame(self, frame: Frame, dets: Detections, det_kps: np.ndarray) -> FrameResult:
        flow = None
        if self.flow is not None and self._prev_image is not None and self.tracker is not None:
            t = time.perf_counter()
            flow = self.flow(self._prev_image, frame.image)
            self.times.flow += time.perf_counter() - t
        self._prev_image = frame.image
        poses = Poses.from_array(dets.boxes, dets.scores, det_kps)
        if self.tracker is None:
            self._count(poses)
            return FrameResult(frame=frame.index, poses=poses)
        t = time.perf_counter()
        self.tracker.propagate(flow)
        proposals = self.tracker.propose_boxes() if self.propagate_boxes and flow is not None else Detections.empty()
        self.times.track += time.perf_counter() - t
        if len(proposals):
            poses = self._add_recovered(frame, dets, det_kps, proposals)
        t = time.perf_counter()
        result = self.tracker.update(frame.index, poses)
        self.times.track += time.perf_counter() - t
        self._count(result.poses)
        return result

    def _add_recovered(self, frame: Frame, dets: Detections, det_kps: np.ndarray, proposals: Detections) -> Poses:
        """Unify detections with flow proposals by NMS; estimate poses for the kept proposals."""
        from .propagation import unify_boxes

        both = Detections(np.concatenate([dets.boxes, proposals.boxes]),
                          np.concatenate([dets.scores, proposals.scores]))
        unified = unify_boxes(dets, proposals, iou=self.nms_iou, min_score=self.box_score)
        # Which unified boxes are detections (poses known) and which are new proposals.
        kept = _row_index(both.boxes, unified.boxes)
        new = kept >= len(dets)
        kps = np.zeros((len(unified), det_kps.shape[1], 3), np.float32)
        kps[~new] = det_kps[kept[~new]]
        if new.any():
            t = time.perf_counter()
            kps[new] = self.estimator(frame.image, unified.boxes[new])
            self.times.pose += time.perf_counter() - t
        return Poses.from_array(unified.boxes, unified.scores, kps)

    def _count(self, poses: Poses) -> None:
        self.times.frames += 1
        self.times.people += len(poses)


def _above(d: Detections, thr: float) -> Detections:
    keep = d.scores >= thr
    return Detections(d.boxes[keep], d.scores[keep])


def _row_index(pool: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Index in ``pool`` of each row of ``rows`` (rows are exact copies of pool rows)."""
    if len(rows) == 0:
        return np.zeros((0,), np.int64)
    eq = (rows[:, None, :] == pool[None, :, :]).all(-1)
    if not eq.any(1).all():
        raise RuntimeError("unify_boxes returned a box that is neither a detection nor a proposal")
    return eq.argmax(1)
