"""The `run` pipeline: frames -> person boxes -> poses -> tracks, streamed frame by frame.

FlowTrack's order per frame k (Xiao et al. 2018, Sec. 3): flow F(k-1 -> k); the previous
poses' joints moved by the flow give box proposals; proposals and detections are unified
by NMS; HRNet runs on the unified boxes; poses are matched to tracks by flow-based OKS.

Poses at frame k depend on the poses at k-1 (through the proposals), yet most boxes come
from the detector. So each batch of frames is processed in a few steps:

1. the detector runs on the batch's detection frames (every ``detect_every``-th frame of
   the run; in between, FlowTrack's propagated boxes carry the people);
2. one pose call estimates every detector box of the batch, together with the first
   frame's recovered boxes (its proposals come from the previous batch, already tracked);
3. the later frames' recovered boxes are foreseen from the poses each frame is expected
   to hold and estimated in one call per round of foresight (:mod:`posetrack.pipeline.recovered`);
4. frame by frame the tracker proposes, unifies and matches; a recovered box takes the
   pose estimated for the identical box, and only a box no round foresaw gets a small call.

The result is that of a strictly sequential loop (each box's pose depends only on its
image and its box), only with fewer, larger pose calls. With ``overlap`` the optical flow
of the next batch is computed on a thread while this batch's poses are estimated
(OpenCV and torch release the GIL); frames are decoded ahead by the source's own thread.

Frame batches are aligned to absolute positions in the run's frame list (the caller
passes the position of the first frame), and everything carried from one batch to the
next is the tracker's state and the previous image, so a run resumed at a batch start
(:meth:`Pipeline.load_tracker_state`, :meth:`Pipeline.seed_image`) computes exactly what
the uninterrupted run did.
"""
from __future__ import annotations

import copy
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from posetrack.errors import ConfigError
from posetrack.pipeline.recovered import RecoveredPoses, carry_scores
from posetrack.tracking.config import TrackerConfig
from posetrack.tracking.step import FrameInput, FrameStep
from posetrack.types import Detections, Frame, FrameResult, Poses

__all__ = ["StageTimes", "Pipeline", "BatchStart", "Motion"]


@dataclass
class StageTimes:
    """Seconds spent per stage (accumulated while the pipeline runs), and pose-call counts.

    With overlapping stages (``Pipeline(overlap=True)``) the flow seconds are spent on a
    thread, partly hidden behind the pose seconds, so the stages add up to more than the
    wall time.
    """

    decode: float = 0.0
    detect: float = 0.0
    flow: float = 0.0
    pose: float = 0.0
    track: float = 0.0
    frames: int = 0
    people: int = 0
    pose_calls: int = 0
    pose_crops: int = 0

    def fps(self, stage: str) -> float:
        t = getattr(self, stage)
        return self.frames / t if t > 0 else float("inf")



BoxSource = Callable[[List[Frame]], List[Detections]]
# Called before each frame batch with (position of its first frame in the run, that frame's
# index, the tracker's state_dict() or None when untracked).
BatchStart = Callable[[int, int, Optional[Dict[str, Any]]], None]


class Pipeline:
    """Detect, estimate and track, one frame batch at a time.

    Args:
        estimator: a :class:`~posetrack.pose.estimator.PoseEstimator` (``estimate_batch`` and ``layout``).
        boxes: callable mapping a list of frames to their person detections (a
            detector, or precomputed boxes looked up by frame index).
        tracker: a :class:`~posetrack.tracking.tracker.PoseTracker`, or None for untracked poses.
        flow: an optical-flow estimator ``(prev_rgb, next_rgb) -> (H, W, 2)``, or None
            (no flow: no box proposals, pose-only similarity).
        box_score: detections below this score are dropped before pose estimation; None: the
            tracker's (:class:`~posetrack.tracking.config.TrackerConfig`'s default without a tracker).
        nms_iou: IoU above which a proposal and a detection are the same person; None: as ``box_score``.
        propagate_boxes: recover people the detector missed from flow-moved poses.
        detect_every: run the detector on every N-th frame of the run (positions 0, N,
            2N, ...); propagated boxes carry the people in between. Needs a tracker and flow.
        speculate: estimate recovered boxes ahead in batched calls (False: one call per
            frame that has any, the plain sequential loop; same results).
        overlap: compute the next batch's flow on a thread while this batch's poses are
            estimated (same results).

    Raises:
        ConfigError: ``detect_every`` below 1, or above 1 without a tracker and flow.
    """

    def __init__(self, estimator, boxes: BoxSource, tracker=None, flow=None, box_score: Optional[float] = None,
                 nms_iou: Optional[float] = None, propagate_boxes: bool = True, detect_every: int = 1,
                 speculate: bool = True, overlap: bool = True):
        if int(detect_every) < 1:
            raise ConfigError(f"detect_every must be at least 1, got {detect_every}", field="detect_every")
        if detect_every > 1 and (tracker is None or flow is None or not propagate_boxes):
            raise ConfigError(f"detect_every = {detect_every} needs tracking with optical flow: between detector "
                              "runs only the flow-propagated boxes carry the people", field="detect_every")
        self.estimator = estimator
        self.boxes = boxes
        self.tracker = tracker
        self.flow = flow
        config = getattr(tracker, "config", None)
        self.box_score = box_score if box_score is not None else getattr(config, "box_score", TrackerConfig.box_score)
        self.nms_iou = nms_iou if nms_iou is not None else getattr(config, "nms_iou", TrackerConfig.nms_iou)
        self.propagate_boxes = propagate_boxes and tracker is not None
        self.detect_every = int(detect_every)
        # Foresight follows the flow-motion proposals; other motion models would only waste crops.
        self.speculate = speculate and self.propagate_boxes and getattr(tracker.config, "motion", "flow") == "flow"
        self.overlap = overlap
        self.times = StageTimes()
        self._prev_image: Optional[np.ndarray] = None
        self._k = estimator.layout.num_keypoints
        cfg = getattr(tracker, "config", None)
        self._cuts = None
        if cfg is not None and cfg.cuts.enabled:
            from posetrack.tracking.cuts import CutDetector

            self._cuts = CutDetector(cfg.cuts)
        self._backward = bool(cfg is not None and flow is not None and cfg.flow_check
                              and cfg.flow_min_height is not None)

    # ---------------------------------------------------------------- resume

    def tracker_state(self) -> Optional[Dict[str, Any]]:
        """The tracker's state (JSON-ready, exact), or None when untracked."""
        return None if self.tracker is None else self.tracker.state_dict()

    def load_tracker_state(self, state: Optional[Dict[str, Any]]) -> None:
        """Continue from a state saved by :meth:`tracker_state` at a batch start (resume)."""
        if self.tracker is not None and state is not None:
            self.tracker.load_state_dict(state)

    def seed_image(self, image: np.ndarray) -> None:
        """The image of the frame before the next one, for the first flow field after a resume."""
        self._prev_image = image

    # ---------------------------------------------------------------- driving

    def run(self, batches: Iterator[List[Frame]], position: int = 0,
            on_batch: Optional[BatchStart] = None) -> Iterator[Tuple[Frame, FrameResult]]:
        """Yield every frame with its result, in order.

        Args:
            batches: lists of consecutive frames of the run.
            position: position in the run's frame list of the first frame (decides the
                detection frames; a resume passes the position it restarts at).
            on_batch: called before each batch is tracked, after the previous batch's frames
                were yielded (for a journal).
        """
        needs_flow = self.flow is not None and self.tracker is not None
        pool = ThreadPoolExecutor(1, thread_name_prefix="posetrack-flow") if self.overlap and needs_flow else None
        source = iter(batches)
        try:
            batch = self._next(source)
            if batch is None:
                return
            flows = self._flows_later(pool, self._prev_image, batch)
            while batch is not None:
                error = None
                try:
                    nxt = self._next(source)
                except Exception as e:  # raised after this batch's frames are out
                    nxt, error = None, e
                next_flows = self._flows_later(pool, batch[-1].image, nxt) if nxt else None
                previous, self._prev_image = self._prev_image, batch[-1].image
                yield from self._batch(batch, position, flows, on_batch, previous)
                if error is not None:
                    raise error
                position += len(batch)
                batch, flows = nxt, next_flows
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _next(self, source: Iterator[List[Frame]]) -> Optional[List[Frame]]:
        t = time.perf_counter()
        try:
            while True:
                batch = next(source)
                if batch:
                    return list(batch)
        except StopIteration:
            return None
        finally:
            self.times.decode += time.perf_counter() - t

    def _flows_later(self, pool, prev: Optional[np.ndarray], frames: List[Frame]) -> Callable[[], List["Motion"]]:
        """A callable returning each frame's :class:`Motion` (computed now on the pool, or when called)."""
        if self.tracker is None or (self.flow is None and self._cuts is None):
            return lambda: [Motion()] * len(frames)
        if pool is None:
            return lambda: self._flows(prev, frames)
        return pool.submit(self._flows, prev, frames).result

    def _flows(self, prev: Optional[np.ndarray], frames: List[Frame]) -> List["Motion"]:
        """Scene cut, flow and (for ``flow_check``) backward flow into each frame; no flow across a cut."""
        t = time.perf_counter()
        out = []
        for f in frames:
            cut = prev is not None and self._cuts is not None and self._cuts(prev, f.image)
            flow = backward = None
            if prev is not None and self.flow is not None and not cut:
                flow = self.flow(prev, f.image)
                backward = self.flow(f.image, prev) if self._backward else None
            out.append(Motion(flow, backward, cut))
            prev = f.image
        self.times.flow += time.perf_counter() - t
        return out

    # ---------------------------------------------------------------- one batch

    def _estimate(self, images: Sequence[np.ndarray], boxes: Sequence[Detections]) -> List[Poses]:
        """One pose call: the :class:`Poses` in each image's boxes (their box scores kept)."""
        t = time.perf_counter()
        out = self.estimator.estimate_batch(images, boxes)
        self.times.pose += time.perf_counter() - t
        self.times.pose_calls += 1
        self.times.pose_crops += int(sum(len(b) for b in boxes))
        return out

    def _detections(self, frames: List[Frame], detect: List[bool]) -> List[Detections]:
        t = time.perf_counter()
        chosen = [f for f, d in zip(frames, detect) if d]
        found = iter(self.boxes(chosen) if chosen else [])
        out = [_above(next(found), self.box_score) if d else Detections.empty() for d in detect]
        self.times.detect += time.perf_counter() - t
        return out

    def _batch(self, frames: List[Frame], position: int, flows_later, on_batch,
               previous: Optional[np.ndarray]) -> Iterator[Tuple[Frame, FrameResult]]:
        """Detect, estimate and track a batch; ``previous`` is the image before its first frame."""
        detect = [(position + i) % self.detect_every == 0 for i in range(len(frames))]
        dets = self._detections(frames, detect)
        if on_batch is not None:
            on_batch(position, frames[0].index, self.tracker_state())
        if self.tracker is None:
            for frame, poses in zip(frames, self._estimate([f.image for f in frames], dets)):
                self._count(poses)
                yield frame, FrameResult(frame=frame.index, poses=poses, time=frame.time)
            return
        motions = flows_later()
        t = time.perf_counter()
        images = [f.image for f in frames]
        befores = [previous] + images[:-1]        # where each frame's flow starts
        start = copy.deepcopy(self.tracker) if self.speculate and len(frames) > 1 else None
        first = self._frame_step(self.tracker, frames[0], dets[0], motions[0], befores[0], detect[0])
        self.times.track += time.perf_counter() - t
        boxes = list(dets)
        if self.speculate:   # the first frame's recovered boxes are known: estimate them with the detections
            boxes[0] = Detections.concat([dets[0], first.recovered])
        estimated = self._estimate(images, boxes)
        det_poses = [p.select(np.arange(len(d))) for d, p in zip(dets, estimated)]
        cache = RecoveredPoses(len(frames), self._k)
        if self.speculate:
            cache.add(0, estimated[0].select(np.arange(len(dets[0]), len(estimated[0]))))
            if start is not None:
                self._foresee(start, frames, befores, dets, det_poses, motions, detect, cache)
        for i, frame in enumerate(frames):
            yield frame, self._track(i, images, frame, dets[i], det_poses[i], motions[i], cache, detect[i],
                                     first if i == 0 else None, befores[i])

    def _frame_step(self, tracker, frame: Frame, dets: Detections, motion: "Motion", before: Optional[np.ndarray],
                    detected_frame: bool) -> FrameStep:
        """The tracker's per-frame step (:class:`~posetrack.tracking.step.FrameStep`) for ``frame``:
        cut, propagate, propose and unify. ``before`` is the image the flow starts from."""
        inp = FrameInput(frame.index, dets, motion.flow, frame.image, before if motion.flow is not None else None,
                         motion.backward, motion.cut, detected_frame)
        rescore = None if detected_frame else (lambda proposals: self._carry(tracker, proposals))
        return FrameStep(tracker, inp, propose=self.propagate_boxes, nms_iou=self.nms_iou, box_score=self.box_score,
                         proposals=rescore)

    @staticmethod
    def _carry(tracker, proposals: Detections) -> Detections:
        """On a frame the detector does not run on, proposals keep their source poses' box scores
        (:func:`posetrack.pipeline.recovered.carry_scores`)."""
        q = tracker.queue
        cfg = tracker.config
        return carry_scores(proposals, q.select(q.frames == q.frames.max()), cfg.joint_score, cfg.box_expand)

    def _foresee(self, start, frames: List[Frame], befores, dets: List[Detections], det_poses: List[Poses],
                 motions, detect: List[bool], cache: RecoveredPoses) -> None:
        """Estimate ahead the recovered boxes of frames 1.. of the batch, one call per round of foresight.

        Each round runs a copy of the tracker (``start``: as it was before the batch) through the
        batch on the poses known so far — the same per-frame step :meth:`_track` makes, so its
        proposals are the real ones wherever the poses before them are known — and collects
        the recovered boxes that have no pose yet; one call estimates them all. A frame whose
        boxes were unknown makes the frames after it uncertain until the next round.
        """
        n = len(frames)
        if n < 2 or all(m.flow is None for m in motions[1:]):
            return
        t = time.perf_counter()
        images = [f.image for f in frames]
        for _round in range(n - 1):
            sim = copy.deepcopy(start)
            wanted: Dict[int, Detections] = {}
            for i in range(n):
                st = self._frame_step(sim, frames[i], dets[i], motions[i], befores[i], detect[i])
                missing = cache.missing(i, st.recovered.boxes)
                if missing.any():
                    wanted[i] = st.recovered.select(missing)
                st.finish(det_poses[i], cache.poses(i, st.recovered.select(~missing)))
            if not wanted:
                break
            self.times.track += time.perf_counter() - t
            cache.estimate(self._estimate, images, wanted)
            t = time.perf_counter()
        self.times.track += time.perf_counter() - t

    def _track(self, i: int, images, frame: Frame, dets: Detections, det_poses: Poses, motion: "Motion",
               cache: RecoveredPoses, detected_frame: bool, first: Optional[FrameStep],
               before: Optional[np.ndarray]) -> FrameResult:
        t = time.perf_counter()
        st = first if first is not None else self._frame_step(self.tracker, frame, dets, motion, before, detected_frame)
        missing = cache.missing(i, st.recovered.boxes)
        if missing.any():   # a box no round foresaw: a small call of its own
            self.times.track += time.perf_counter() - t
            cache.estimate(self._estimate, images, {i: st.recovered.select(missing)})
            t = time.perf_counter()
        result = st.finish(det_poses, cache.poses(i, st.recovered))
        if frame.time is not None:
            result = dataclasses.replace(result, time=frame.time)
        self.times.track += time.perf_counter() - t
        self._count(result.poses)
        return result

    def _count(self, poses: Poses) -> None:
        self.times.frames += 1
        self.times.people += len(poses)


@dataclass(frozen=True)
class Motion:
    """What moves a frame's tracks: the optical flow into it (None: none, or across a cut), the
    backward flow out of it (``flow_check``), and whether a scene cut comes right before it."""

    flow: Optional[np.ndarray] = None
    backward: Optional[np.ndarray] = None
    cut: bool = False


def _above(d: Detections, thr: float) -> Detections:
    keep = d.scores >= thr
    return Detections(d.boxes[keep], d.scores[keep])
