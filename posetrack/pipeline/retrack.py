"""Re-track saved poses: a tracks file in, the same poses with new track ids out.

The input's track ids are ignored. With the video's frames, optical flow between
consecutive saved frames moves the queued poses (FlowTrack); without them the tracker
compares poses where they were seen, or where its motion model predicts them. Box
proposals need new pose estimates, so online tracking never adds people; offline
refinement (when the preset enables it) may fill short gaps with interpolated people,
marked as such, and drops tracks too short or too weak to be people.

Example:
    >>> from posetrack.tracksfile.codec import read_tracks, write_tracks
    >>> from posetrack.tracking.tracker import load_tracking_config
    >>> from posetrack.pipeline.retrack import retrack
    >>> config, flow = load_tracking_config()                                 # the default preset
    >>> tracks = retrack(read_tracks("poses.json"), config)                    # doctest: +SKIP
    >>> write_tracks("tracks.json", tracks)                                    # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import replace
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from posetrack.errors import InputError
from posetrack.tracking.appearance import Appearance, describe
from posetrack.tracking.cuts import CutDetector
from posetrack.tracking.flow import FlowConfig, FlowEstimator, build_flow
from posetrack.tracking.refine import refine
from posetrack.tracking.step import FrameInput, step
from posetrack.tracking.tracker import DEFAULT_FPS, PoseTracker, TrackerConfig
from posetrack.tracksfile.codec import TrackFile
from posetrack.types import Detections, Frame, FrameResult

__all__ = ["retrack", "refine_file"]

log = logging.getLogger(__name__)


def _images(track_file: TrackFile, video_frames: Iterable[Frame]) -> Iterator[np.ndarray]:
    """The RGB image of each saved frame, in order; frames not in the file are skipped."""
    video = track_file.header.video
    frames = iter(video_frames)
    seen = -1
    for wanted in (f.frame for f in track_file.frames):
        for frame in frames:
            seen = frame.index
            if frame.index == wanted:
                if (frame.width, frame.height) != (video.width, video.height):
                    raise InputError(f"frame {wanted}: the video is {frame.width}x{frame.height} but the poses "
                                     f"were saved for {video.width}x{video.height} ({video.path})")
                yield frame.image
                break
            if frame.index > wanted:
                raise InputError(f"frame {wanted}: the video has no such frame (the next one is {frame.index})")
        else:
            raise InputError(f"frame {wanted}: the video ended before it (last frame read: {seen})")


def retrack(track_file: TrackFile, config: TrackerConfig, video_frames: Optional[Iterable[Frame]] = None,
            flow: Optional[FlowConfig] = None,
            progress: Optional[Callable[[FrameResult], None]] = None,
            flow_estimator: Optional[FlowEstimator] = None) -> TrackFile:
    """Assign new track ids to the poses of a tracks file.

    Each saved frame goes through the tracker's one per-frame step
    (:func:`posetrack.tracking.step.step`, as `posetrack run` does): scene cuts, motion,
    duplicate merging, association, re-identification.

    Args:
        track_file: saved poses (track ids, if any, are ignored).
        config: tracker settings.
        video_frames: the video's frames (:class:`Frame` with ``index`` and RGB ``image``),
            ascending; used for optical flow when ``config.motion`` is "flow", for scene
            cuts (``config.cuts``) and for colour descriptors (appearance). Without them the
            file's own ``cut`` marks, if any, are scene cuts.
        flow: how to compute the flow (default: :class:`FlowConfig`, DIS).
        progress: called with each frame's result as it is tracked.
        flow_estimator: a ready estimator ``(prev_rgb, next_rgb) -> (H, W, 2)`` to use
            instead of building one from ``flow`` (e.g. one that caches fields).

    Returns:
        A new :class:`TrackFile`: the header with the tracker and flow settings added
        under ``settings``, and the tracked poses of every frame with their ids (poses
        below ``config.box_score``, without a joint above ``config.joint_score``, merged as
        duplicates or unable to start a track are left out, as in a tracked run); refined by
        :func:`refine_file` when ``config.refine.enabled``.
    """
    flow = flow or FlowConfig()
    video = track_file.header.video
    size = (video.width, video.height) if video.width > 0 and video.height > 0 else None
    tracker = PoseTracker(track_file.layout, config, fps=video.fps, frame_size=size)
    use_flow = video_frames is not None and config.motion == "flow"
    read = video_frames is not None and (use_flow or config.cuts.enabled or tracker.uses_appearance
                                         or _refine_wants_appearance(config))
    if video_frames is not None and not read:
        log.info("motion is %r and no cue needs the frames: the video's frames are not read", config.motion)
    estimator = (flow_estimator or build_flow(flow)) if use_flow else None
    backward = config.flow_check and config.flow_min_height is not None and use_flow
    cuts = CutDetector(config.cuts) if read and config.cuts.enabled else None
    images = _images(track_file, video_frames) if read else None
    results, looks, previous, dropped = [], [], None, 0
    for saved in track_file.frames:
        image = next(images) if images is not None else None
        cut = saved.cut if images is None else (previous is not None and cuts is not None and cuts(previous, image))
        field = estimator(previous, image) if estimator is not None and previous is not None and not cut else None
        back = estimator(image, previous) if backward and field is not None else None
        inp = FrameInput(saved.frame, Detections(saved.poses.boxes, saved.poses.box_scores), field, image, previous,
                         back, cut=bool(cut))
        result = step(tracker, inp, saved.poses)
        result = replace(result, time=saved.time)
        dropped += len(saved) - len(result)
        results.append(result)
        if image is not None and _refine_wants_appearance(config):
            looks.append(describe(image, result.poses.keypoints, result.poses.keypoint_scores, track_file.layout,
                                  config.joint_score, result.poses.boxes[:, 3] - result.poses.boxes[:, 1]))
        previous = image
        if progress is not None:
            progress(result)
    if dropped:
        log.info("%d poses were left out (below box_score %.2f, no joint above joint_score %.2f, merged as "
                 "duplicates or unable to start a track)", dropped, config.box_score, config.joint_score)
    settings = {**track_file.header.settings, "tracker": dataclasses.asdict(config),
                "flow": dataclasses.asdict(flow) if use_flow else None}
    tracked = TrackFile(header=replace(track_file.header, settings=settings), frames=tuple(results),
                        complete=track_file.complete)
    if not config.refine.enabled:
        return tracked
    return refine_file(tracked, config, appearance=looks if len(looks) == len(results) else None)


def _refine_wants_appearance(config: TrackerConfig) -> bool:
    r = config.refine
    return r.enabled and (r.stitch_appearance is not None or r.reentry_appearance is not None)


def refine_file(tracks: TrackFile, config: TrackerConfig,
                appearance: Optional[Sequence[Appearance]] = None) -> TrackFile:
    """Offline refinement of a tracked file with ``config.refine``'s settings (:mod:`posetrack.tracking.refine`).

    Runs whether or not ``config.refine.enabled`` is set (the caller decides); the header's
    settings record the refinement settings and what was done under ``"refined"``.

    Args:
        tracks: the tracked file.
        config: the tracker settings (``refine`` and ``joint_score`` are used).
        appearance: colour descriptors of every frame's people (one per frame, in order), for
            the appearance rules of stitching; None: no appearance evidence (an exit and an
            entry are then never stitched).
    """
    video = tracks.header.video
    fps = video.fps if video.fps and video.fps > 0 else DEFAULT_FPS
    size = (video.width, video.height) if video.width > 0 and video.height > 0 else None
    frames, report = refine(tracks.frames, replace(config.refine, enabled=True), fps, config.joint_score,
                            appearance=appearance, frame_size=size)
    log.info("refined: %s", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.items()))
    settings = {**tracks.header.settings, "refined": {**dataclasses.asdict(config.refine), "enabled": True, **report}}
    return TrackFile(header=replace(tracks.header, settings=settings), frames=tuple(frames), complete=tracks.complete)
