"""Re-track saved poses: a tracks file in, the same poses with FlowTrack ids out.

The input's track ids are ignored. With the video's frames, optical flow between
consecutive saved frames moves the queued poses (FlowTrack); without them the tracker
compares poses where they were seen (or where a Kalman filter predicts them, with
``motion="kalman"``). Box proposals need new pose estimates, so re-tracking never adds
people — it only links the saved ones.

Example:
    >>> from posetrack.tracks_io import read_tracks, write_tracks
    >>> from posetrack.tracker import TrackerConfig
    >>> from posetrack.retrack import retrack
    >>> tracks = retrack(read_tracks("poses.json"), TrackerConfig())          # doctest: +SKIP
    >>> write_tracks("tracks.json", tracks)                                    # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import replace
from typing import Callable, Iterable, Iterator, Optional

import numpy as np

from .errors import InputError
from .flow import FlowConfig, build_flow
from .structures import Frame, FrameResult
from .tracker import PoseTracker, TrackerConfig
from .tracks_io import TrackFile

__all__ = ["retrack"]

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
            progress: Optional[Callable[[FrameResult], None]] = None) -> TrackFile:
    """Assign new track ids to the poses of a tracks file.

    Args:
        track_file: saved poses (track ids, if any, are ignored).
        config: tracker settings.
        video_frames: the video's frames (:class:`Frame` with ``index`` and RGB ``image``),
            ascending; used for optical flow when ``config.motion`` is "flow".
        flow: how to compute the flow (default: :class:`FlowConfig`, DIS).
        progress: called with each frame's result as it is tracked.

    Returns:
        A new :class:`TrackFile`: the header with the tracker and flow settings added
        under ``settings``, and the trackable poses of every frame with their ids
        (poses below ``config.box_score`` or without a joint above ``config.joint_score``
        are left out, as in a tracked run).
    """
    flow = flow or FlowConfig()
    use_flow = video_frames is not None and config.motion == "flow"
    if video_frames is not None and not use_flow:
        log.info("motion is %r: the video's frames are not needed and are not read", config.motion)
    estimator = build_flow(flow) if use_flow else None
    images = _images(track_file, video_frames) if use_flow else None
    tracker = PoseTracker(track_file.layout, config)
    results, previous, dropped = [], None, 0
    for saved in track_file.frames:
        field = None
        if images is not None:
            image = next(images)
            field = estimator(previous, image) if previous is not None else None
            previous = image
        result = tracker.update(saved.frame, saved.poses, field)
        dropped += len(saved) - len(result)
        results.append(result)
        if progress is not None:
            progress(result)
    if dropped:
        log.info("%d poses below box_score %.2f or without a joint above joint_score %.2f were left out",
                 dropped, config.box_score, config.joint_score)
    settings = {**track_file.header.settings, "tracker": dataclasses.asdict(config),
                "flow": dataclasses.asdict(flow) if use_flow else None}
    header = replace(track_file.header, settings=settings)
    return TrackFile(header=header, frames=tuple(results), complete=track_file.complete)
