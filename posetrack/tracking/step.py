"""One frame of tracking, the same for `posetrack run`, its foresight and `posetrack track`.

FlowTrack's order for frame k (Xiao et al. 2018, Sec. 3), with what we added::

    step = FrameStep(tracker, FrameInput(k, detections, flow, ...), propose=True)
        # a scene cut ends every track; the queue moves into frame k (flow / motion model);
        # the previous poses' boxes are proposed and unified with the detector's boxes
    recovered = estimate(image, step.recovered)      # the caller's pose network, on the proposals kept
    result = step.finish(detection_poses, recovered) # colour descriptors, then the tracker's update

`posetrack track` has no pose network: its saved poses are the detections, it proposes
nothing and calls ``step(tracker, frame_input, poses)``. The batched run
pipeline (:mod:`posetrack.pipeline.frames`) and its foresight
(:mod:`posetrack.pipeline.recovered`) split the two halves to batch the pose calls, but
every frame still goes through these two methods, so the three paths cannot drift apart.

Example:
    >>> from posetrack.tracking.step import FrameInput, step
    >>> result = step(tracker, FrameInput(frame=0, detections=boxes), poses)     # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from posetrack.tracking.appearance import describe
from posetrack.tracking.propagation import unify_boxes
from posetrack.types import Detections, FrameResult, Poses

__all__ = ["FrameInput", "FrameStep", "step"]


@dataclass(frozen=True)
class FrameInput:
    """What one frame brings to the tracker.

    Attributes:
        frame: the frame index.
        detections: the detector's boxes of the frame (D), after its score threshold.
        flow: (H, W, 2) float32 optical flow from the previous frame, or None.
        image: (H, W, 3) uint8 RGB of this frame (for colour descriptors), or None.
        previous: (H, W, 3) uint8 RGB of the previous frame (camera motion), or None.
        backward_flow: (H, W, 2) flow from this frame back to the previous one, or None.
        cut: a scene cut comes right before this frame (every track ends).
        detected_frame: the detector ran on this frame (False between ``detect_every`` frames:
            no pose is then marked as lacking a detector box).
    """

    frame: int
    detections: Detections
    flow: Optional[np.ndarray] = None
    image: Optional[np.ndarray] = None
    previous: Optional[np.ndarray] = None
    backward_flow: Optional[np.ndarray] = None
    cut: bool = False
    detected_frame: bool = True


class FrameStep:
    """The first half of a frame: cut, propagate, propose and unify boxes (see the module docstring).

    Args:
        tracker: the :class:`~posetrack.tracking.tracker.PoseTracker`.
        inp: the frame.
        propose: propose boxes from the previous poses (the run path); False for saved poses.
        nms_iou: a proposal overlapping a kept box by more than this is dropped.
        box_score: detections and proposals scoring below this are dropped.
        proposals: a function turning the tracker's proposals into the ones to unify (the
            run path rescoring them on frames the detector skipped), or None.

    Attributes:
        kept: (U,) int64 indices of the detections kept, ascending.
        recovered: the proposals kept, whose poses :meth:`finish` needs, in unify order.
    """

    def __init__(self, tracker, inp: FrameInput, propose: bool = False, nms_iou: float = 0.4,
                 box_score: float = 0.0, proposals: Optional[Callable[[Detections], Detections]] = None):
        self.tracker, self.inp = tracker, inp
        if inp.cut:
            tracker.cut(inp.frame)
        flow = None if inp.cut else inp.flow
        tracker.propagate(flow, inp.frame, inp.previous if flow is not None else None,
                          backward_flow=None if inp.cut else inp.backward_flow)
        offered = Detections.empty()
        if propose and flow is not None:
            offered = tracker.propose_boxes()
            if proposals is not None and len(offered):
                offered = proposals(offered)
        kept = unify_boxes(inp.detections, offered, iou=nms_iou, min_score=box_score)
        d = len(inp.detections)
        self.kept = np.sort(kept[kept < d])
        self.recovered = offered.select(kept[kept >= d] - d)

    def finish(self, detection_poses: Poses, recovered_poses: Optional[Poses] = None) -> FrameResult:
        """Track the frame's poses: those of the kept detections, then ``recovered_poses``.

        Args:
            detection_poses: the D poses estimated in :attr:`FrameInput.detections`, in order.
            recovered_poses: the poses of :attr:`recovered` (or of those the caller could
                estimate); None: none.
        """
        inp, tracker = self.inp, self.tracker
        k = detection_poses.num_keypoints
        mine = detection_poses.select(self.kept)
        extra = recovered_poses if recovered_poses is not None else Poses.empty(k)
        poses = Poses.concat([mine, extra], k)
        detected = None
        if inp.detected_frame:
            detected = np.r_[np.ones(len(mine), bool), np.zeros(len(extra), bool)]
        look = None
        if inp.image is not None and tracker.uses_appearance and len(poses):
            look = describe(inp.image, poses.keypoints, poses.keypoint_scores, tracker.layout,
                            tracker.config.joint_score, poses.boxes[:, 3] - poses.boxes[:, 1])
        result = tracker.update(inp.frame, poses, detected=detected, appearance=look)
        if inp.cut:
            from dataclasses import replace

            result = replace(result, cut=True)
        return result


def step(tracker, inp: FrameInput, poses: Poses) -> FrameResult:
    """A whole frame of saved ``poses`` (one per box of ``inp.detections``; no proposals):
    :class:`FrameStep` then :meth:`FrameStep.finish`."""
    return FrameStep(tracker, inp).finish(poses)
