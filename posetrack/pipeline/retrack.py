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
from typing import Any, Callable, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from posetrack.errors import InputError
from posetrack.io.guard import check_writes
from posetrack.io.video import open_source
from posetrack.pipeline.configs import tracking_configs
from posetrack.pipeline.outputs import Outputs, check_exports, write_exports
from posetrack.tracking.appearance import Appearance, describe
from posetrack.tracking.cuts import CutDetector
from posetrack.tracking.flow import FlowConfig, FlowEstimator, build_flow
from posetrack.tracking.refine import refine
from posetrack.tracking.step import FrameInput, step
from posetrack.tracking.tracker import PoseTracker, TrackerConfig
from posetrack.tracksfile.codec import TrackFile, write_tracks
from posetrack.tracksfile.foreign import read_poses_file
from posetrack.types import DEFAULT_FPS, Detections, Frame, FrameResult

__all__ = ["retrack", "refine_file", "retrack_file", "describe_people", "refine_wants_appearance"]

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
        under ``settings``, and the tracked poses of every frame, at its input ``time``, with their ids
        (poses below ``config.box_score``, without a joint above ``config.joint_score``, merged as
        duplicates or unable to start a track are left out, as in a tracked run); refined by
        :func:`refine_file` when ``config.refine.enabled``.
    """
    flow = flow or FlowConfig()
    video = track_file.header.video
    size = (video.width, video.height) if video.width > 0 and video.height > 0 else None
    tracker = PoseTracker(track_file.layout, config, fps=video.fps, frame_size=size)
    use_flow = video_frames is not None and config.motion == "flow"
    wants_looks = refine_wants_appearance(config)
    results, looks, dropped = [], [], 0
    for saved, inp in _frame_inputs(track_file, config, tracker, video_frames, flow, flow_estimator):
        result = replace(step(tracker, inp, saved.poses), time=saved.time)
        dropped += len(saved) - len(result)
        results.append(result)
        if inp.image is not None and wants_looks:
            looks.append(_describe(inp.image, result, track_file, config.joint_score))
        if progress is not None:
            progress(result)
    if dropped:
        log.info("%d poses were left out (below box_score %.2f, no joint above joint_score %.2f, merged as "
                 "duplicates or unable to start a track)", dropped, config.box_score, config.joint_score)
    settings = {**track_file.header.settings, "tracker": dataclasses.asdict(config),
                "flow": dataclasses.asdict(flow) if use_flow else None, "cuts": [r.frame for r in results if r.cut]}
    tracked = TrackFile(header=replace(track_file.header, settings=settings), frames=tuple(results),
                        complete=track_file.complete)
    if not config.refine.enabled:
        return tracked
    return refine_file(tracked, config, appearance=looks if len(looks) == len(results) else None)


def _frame_inputs(track_file: TrackFile, config: TrackerConfig, tracker: PoseTracker,
                  video_frames: Optional[Iterable[Frame]], flow: FlowConfig,
                  flow_estimator: Optional[FlowEstimator]) -> Iterator[Tuple[FrameResult, FrameInput]]:
    """Each saved frame with what the tracker's step needs of it: its detector boxes (the saved
    poses' boxes), and, when a cue needs the video, the image, the flow from the previous image
    (both ways with ``flow_check``) and whether a scene cut comes before it. Without the video
    the file's own ``cut`` marks are the cuts."""
    use_flow = video_frames is not None and config.motion == "flow"
    read = video_frames is not None and (use_flow or config.cuts.enabled or tracker.uses_appearance
                                         or refine_wants_appearance(config))
    if video_frames is not None and not read:
        log.info("motion is %r and no cue needs the frames: the video's frames are not read", config.motion)
    estimator = (flow_estimator or build_flow(flow)) if use_flow else None
    backward = config.flow_check and config.flow_min_height is not None and use_flow
    cuts = CutDetector(config.cuts) if read and config.cuts.enabled else None
    images = _images(track_file, video_frames) if read else None
    previous = None
    for saved in track_file.frames:
        image = next(images) if images is not None else None
        cut = saved.cut if images is None else (previous is not None and cuts is not None and cuts(previous, image))
        field = estimator(previous, image) if estimator is not None and previous is not None and not cut else None
        back = estimator(image, previous) if backward and field is not None else None
        yield saved, FrameInput(saved.frame, Detections(saved.poses.boxes, saved.poses.box_scores), field, image,
                                previous, back, cut=bool(cut))
        previous = image


def _describe(image: np.ndarray, result: FrameResult, tracks: TrackFile, joint_score: float) -> Appearance:
    p = result.poses
    return describe(image, p.keypoints, p.keypoint_scores, tracks.layout, joint_score, p.boxes[:, 3] - p.boxes[:, 1])


def describe_people(tracks: TrackFile, video_frames: Iterable[Frame], joint_score: float) -> List[Appearance]:
    """The colour descriptors of every frame's people in ``tracks``, from the video's frames.

    What refinement's appearance rules (re-identification after long gaps) need when the
    tracker's own descriptors were not kept: ``posetrack run`` computes them again at the end
    from the source, so a resumed run has them for every frame too.

    Args:
        tracks: the tracked file (its frames in ascending order).
        video_frames: the source's decoded frames, ascending; frames not in ``tracks`` are skipped.
        joint_score: the tracker's joint threshold.

    Returns:
        One :class:`~posetrack.tracking.appearance.Appearance` per frame of ``tracks``, in order.

    Raises:
        InputError: the frames ran out before every tracked frame was seen (the video
            changed since the run, or is shorter than the file says).
    """
    return [_describe(image, result, tracks, joint_score)
            for image, result in zip(_images(tracks, video_frames), tracks.frames)]


def refine_wants_appearance(config: TrackerConfig) -> bool:
    """Whether refinement with ``config`` uses colour descriptors (its appearance rules are on)."""
    r = config.refine
    return r.enabled and (r.stitch_appearance is not None or r.reentry_appearance is not None
                          or r.relink_margin is not None)


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
    _warn_unused_refine(config, tracker)
    track_file = read_poses_file(poses, input_format, video=video)
    total = len(track_file.frames)
    done = iter(range(1, total + 1))
    report = None if progress is None else (lambda result: progress(next(done), total))
    if video is not None:               # retrack reads the frames only if a cue needs them (flow, cuts, colours)
        with open_source(video) as source:
            tracks = retrack(track_file, tracker, source, flow, report)
    else:
        log.info("no video: no optical flow, scene cuts or colours; poses move with the tracker's motion model, "
                 "and refinement re-identifies nobody who leaves and comes back")
        tracks = retrack(track_file, tracker, None, flow, report)
    write_tracks(out, tracks)
    return tracks, write_exports(outputs, tracks, video if video is not None else tracks.header.video.path)


def _warn_unused_refine(config: str, tracker: TrackerConfig) -> None:
    """Log a warning when a user's config changes refinement settings that will not run (refinement off)."""
    from posetrack.errors import ConfigError
    from posetrack.tracking.config import load_tracking_config

    if tracker.refine.enabled or config == "tracker":
        return
    try:
        shipped = load_tracking_config("tracker", preset=tracker.preset)[0].refine
    except ConfigError:                                  # the user's own preset: nothing to compare with
        return
    changed = sorted(f.name for f in dataclasses.fields(shipped)
                     if getattr(shipped, f.name) != getattr(tracker.refine, f.name))
    if changed:
        log.warning("%s sets refine.%s, but refinement is off in preset %r: those settings do nothing "
                    "(--refine turns refinement on)", config, ", refine.".join(changed), tracker.preset)
