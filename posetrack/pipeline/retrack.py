"""Re-track saved poses: a tracks file (or another tool's poses) in, the same poses with new track ids out.

The input's track ids are ignored. With the video's frames, optical flow between
consecutive saved frames moves the queued poses (FlowTrack); without them the tracker
compares poses where they were seen, or where its motion model predicts them. Box
proposals need new pose estimates, so online tracking never adds people; offline
refinement (when the preset enables it) may fill short gaps with interpolated people,
marked as such, and drops tracks too short or too weak to be people.

:func:`retrack_file` is what ``posetrack track`` does: a tracks file, or another tool's poses
(:func:`posetrack.tracksfile.foreign.read_poses_file`), in; a re-tracked file (and optional
exports: PoseTrack, MOTChallenge, COCO dataset, SLEAP/NWB) out, never over an existing file
unless forced.

Example:
    >>> from posetrack.tracksfile.codec import read_tracks, write_tracks
    >>> from posetrack.tracking.tracker import load_tracking_config
    >>> from posetrack.pipeline.retrack import retrack, retrack_file
    >>> config, flow = load_tracking_config()                                 # the default preset
    >>> tracks = retrack(read_tracks("poses.json"), config)                    # doctest: +SKIP
    >>> write_tracks("tracks.json", tracks)                                    # doctest: +SKIP
    >>> tracks, notes = retrack_file("poses.json", "tracks.json", video="video.mp4",
    ...                              overrides={"matching": "hungarian"})      # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import numpy as np

from posetrack.errors import InputError
from posetrack.io.guard import check_writes
from posetrack.io.video import open_source
from posetrack.pipeline.configs import tracking_configs
from posetrack.pipeline.outputs import Outputs, check_exports, write_exports
from posetrack.tracking.flow import FlowConfig, FlowEstimator, build_flow
from posetrack.tracking.refine import refine
from posetrack.tracking.tracker import PoseTracker, TrackerConfig
from posetrack.tracksfile.codec import TrackFile, write_tracks
from posetrack.tracksfile.foreign import read_poses_file
from posetrack.types import DEFAULT_FPS, Frame, FrameResult

__all__ = ["retrack", "refine_file", "retrack_file"]

PathLike = Union[str, os.PathLike]

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

    Args:
        track_file: saved poses (track ids, if any, are ignored).
        config: tracker settings.
        video_frames: the video's frames (:class:`Frame` with ``index`` and RGB ``image``),
            ascending; used for optical flow when ``config.motion`` is "flow".
        flow: how to compute the flow (default: :class:`FlowConfig`, DIS).
        progress: called with each frame's result as it is tracked.
        flow_estimator: a ready estimator ``(prev_rgb, next_rgb) -> (H, W, 2)`` to use
            instead of building one from ``flow`` (e.g. one that caches fields).

    Returns:
        A new :class:`TrackFile`: the header with the tracker and flow settings added
        under ``settings``, and the tracked poses of every frame, at its input ``time``, with their ids (poses
        below ``config.box_score``, without a joint above ``config.joint_score``, or unable
        to start a track are left out, as in a tracked run); refined by
        :func:`refine_file` when ``config.refine.enabled``.
    """
    flow = flow or FlowConfig()
    use_flow = video_frames is not None and config.motion == "flow"
    if video_frames is not None and not use_flow:
        log.info("motion is %r: the video's frames are not needed and are not read", config.motion)
    estimator = (flow_estimator or build_flow(flow)) if use_flow else None
    images = _images(track_file, video_frames) if use_flow else None
    video = track_file.header.video
    size = (video.width, video.height) if video.width > 0 and video.height > 0 else None
    tracker = PoseTracker(track_file.layout, config, fps=video.fps, frame_size=size)
    results, previous, dropped = [], None, 0
    for saved in track_file.frames:
        field, start = None, None
        if images is not None:
            image = next(images)
            field = estimator(previous, image) if previous is not None else None
            start, previous = previous, image
        result = replace(tracker.update(saved.frame, saved.poses, field, image=start), time=saved.time)
        dropped += len(saved) - len(result)
        results.append(result)
        if progress is not None:
            progress(result)
    if dropped:
        log.info("%d poses were left out (below box_score %.2f, no joint above joint_score %.2f, or "
                 "unable to start a track)", dropped, config.box_score, config.joint_score)
    settings = {**track_file.header.settings, "tracker": dataclasses.asdict(config),
                "flow": dataclasses.asdict(flow) if use_flow else None}
    tracked = TrackFile(header=replace(track_file.header, settings=settings), frames=tuple(results),
                        complete=track_file.complete)
    return refine_file(tracked, config) if config.refine.enabled else tracked


def refine_file(tracks: TrackFile, config: TrackerConfig) -> TrackFile:
    """Offline refinement of a tracked file with ``config.refine``'s settings (:mod:`posetrack.tracking.refine`).

    Runs whether or not ``config.refine.enabled`` is set (the caller decides); the header's
    settings record the refinement settings and what was done under ``"refined"``.
    """
    video = tracks.header.video
    fps = video.fps if video.fps and video.fps > 0 else DEFAULT_FPS
    frames, report = refine(tracks.frames, replace(config.refine, enabled=True), fps, config.joint_score)
    log.info("refined: %s", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.items()))
    settings = {**tracks.header.settings, "refined": {**dataclasses.asdict(config.refine), "enabled": True, **report}}
    return TrackFile(header=replace(tracks.header, settings=settings), frames=tuple(frames), complete=tracks.complete)


def retrack_file(poses: PathLike, out: PathLike, *, video: Optional[PathLike] = None, config: str = "tracker",
                 preset: Optional[str] = None, overrides: Optional[Mapping[str, Any]] = None,
                 flow_method: Optional[str] = None, posetrack2017: Optional[PathLike] = None,
                 posetrack2018: Optional[PathLike] = None, force: bool = False,
                 progress: Optional[Callable[[int, int], None]] = None, input_format: Optional[str] = None,
                 mot: Optional[PathLike] = None, coco_dataset: Optional[PathLike] = None,
                 sleap: Optional[PathLike] = None, posetrack21: Optional[PathLike] = None,
                 posetrack21_gt: Optional[PathLike] = None) -> Tuple[TrackFile, List[str]]:
    """Re-track saved poses and write the result: what ``posetrack track`` does.

    Args:
        poses: a tracks file, or another tool's poses (file or folder; :mod:`posetrack.io.formats`);
            track ids in it are ignored.
        out: the tracks file to write.
        video: the poses' video or folder of frames, for optical flow; None: no flow (poses
            move with the tracker's motion model). Another tool's poses need it: their frame
            size, rate and count come from it.
        config, preset, overrides, flow_method: the tracker settings
            (:func:`posetrack.pipeline.configs.tracking_configs`; ``overrides`` such as
            ``{"matching": "hungarian", "refine.enabled": False}``).
        posetrack2017, posetrack2018: also write PoseTrack prediction files here.
        input_format: the format of ``poses`` (:data:`posetrack.io.formats.INPUT_FORMATS`); None: from its content.
        mot, coco_dataset, sleap: also write MOTChallenge text, a COCO keypoints dataset, a SLEAP
            ``.slp`` / NWB ``.nwb`` file here (:class:`~posetrack.pipeline.outputs.Outputs`).
        posetrack21: also write a PoseTrack21 prediction file here; its images are copied from
            the GT file ``posetrack21_gt`` when given (else PoseTrack's id rule, from the video's name).
        force: overwrite existing outputs.
        progress: called as ``progress(frames done, frames total)`` after every frame.

    Returns:
        The tracks written, and one note per export written.

    Raises:
        OutputExistsError: an output exists and ``force`` is not set.
        PathConflictError: an output is an input (the poses, the video, the tracker config) or another output.
        ConfigError: an unknown preset, setting or value.
        FormatError, SourceError, InputError: the poses file or the video cannot be read, or do not fit
            (another tool's poses without a video: ``field`` is ``video``); the PoseTrack21 GT file
            is read before any tracking.
    """
    outputs = Outputs(tracks=out, posetrack2017=posetrack2017, posetrack2018=posetrack2018, mot=mot,
                      coco_dataset=coco_dataset, sleap=sleap, posetrack21=posetrack21, posetrack21_gt=posetrack21_gt)
    check_writes(outputs.fields(), {"poses": poses, "video": video, "tracker_config": config, **outputs.inputs()},
                 force=force)
    check_exports(outputs)
    tracker, flow = tracking_configs(config, preset, overrides, flow_method)
    track_file = read_poses_file(poses, input_format, video=video)
    total = len(track_file.frames)
    done = iter(range(1, total + 1))
    report = None if progress is None else (lambda result: progress(next(done), total))
    if video is not None and tracker.motion == "flow":
        with open_source(video) as source:
            tracks = retrack(track_file, tracker, source, flow, report)
    else:
        if tracker.motion == "flow":
            log.info("no video: no optical flow; poses move with the tracker's motion model")
        tracks = retrack(track_file, tracker, None, flow, report)
    write_tracks(out, tracks)
    return tracks, write_exports(outputs, tracks, video if video is not None else tracks.header.video.path)
