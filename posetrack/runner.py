"""Everything `posetrack run` does, as a library call: build the parts, stream, journal, resume.

Example:
    >>> from posetrack.runner import RunOptions, run_video
    >>> summary = run_video("video.mp4", "tracks.json", RunOptions(device="cuda", half=True))
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

from .errors import ResumeError, WeightsError
from .structures import Detections, FrameResult, VideoInfo
from .tracks_io import TrackFile, TracksHeader, TracksWriter, read_journal, read_tracks

__all__ = ["RunOptions", "RunSummary", "run_video", "build_estimator"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, float, int], None]   # (frames done, frames total, fps, people in last frame)


@dataclass(frozen=True)
class RunOptions:
    """The choices of one run (the CLI's options); defaults are the paper's setting."""

    pose_model: str = "w48_384x288"
    pose_weights: Optional[str] = None
    detector_name: Optional[str] = None
    detector_weights: Optional[str] = None
    boxes_file: Optional[str] = None
    tracker_mode: Optional[str] = None     # a tracker preset of configs/tracker.yaml (None: its default) or "none"
    refine: bool = False                   # offline refinement of the finished file (the preset's refine settings)
    tracker_config: str = "tracker"
    matching: Optional[str] = None
    flow_method: Optional[str] = None
    start: int = 0
    end: Optional[int] = None
    stride: int = 1
    device: str = "auto"
    half: bool = False
    batch_size: int = 32
    frame_batch: int = 8
    flip: bool = True
    decode: str = "argmax"
    render_out: Optional[Path] = None
    export17: Optional[Path] = None
    export18: Optional[Path] = None
    resume: bool = False
    quiet: bool = False


@dataclass(frozen=True)
class RunSummary:
    """What a finished (or interrupted) run did."""

    frames: int
    tracks: int
    seconds: float
    times: object
    notes: Tuple[str, ...] = ()


def build_estimator(opts: RunOptions, device: str):
    """HRNet + weights + the official test pipeline."""
    from .models import build_pose_model, load_model_config
    from .pose import PoseEstimator

    cfg = load_model_config(opts.pose_model)
    weights = opts.pose_weights or cfg.default_weights
    if weights is None:
        raise WeightsError(f"pose model {cfg.name!r} has no published weights; give pose_weights (a file or URL)")
    model = build_pose_model(opts.pose_model, weights=weights)
    return PoseEstimator(model, flip_test=opts.flip, decode=opts.decode, device=device,
                         batch_size=opts.batch_size, half=opts.half)


def _box_source(opts: RunOptions, device: str, info: VideoInfo):
    """Detector, or precomputed boxes: a callable from frames to detections."""
    if opts.boxes_file:
        from .detect import load_boxes

        table = load_boxes(opts.boxes_file, num_frames=info.frames)
        return lambda frames: [table.get(f.index, Detections.empty()) for f in frames]
    from .config import load_yaml
    from .detect import DetectorConfig, build_detector

    cfg = load_yaml(DetectorConfig, "detector")
    if opts.detector_name:
        cfg = dataclasses.replace(cfg, name=opts.detector_name)
    detector = build_detector(cfg, weights_path=opts.detector_weights, device=device)
    return lambda frames: detector([f.image for f in frames])


def _tracking(opts: RunOptions, layout, device: str, info: VideoInfo):
    """Tracker and flow estimator (both None for --tracker none)."""
    if opts.tracker_mode == "none":
        return None, None, None
    from .flow import build_flow
    from .tracker import PoseTracker, load_tracking_config

    tcfg, fcfg = load_tracking_config(opts.tracker_config, preset=opts.tracker_mode)
    if opts.matching:
        tcfg = dataclasses.replace(tcfg, matching=opts.matching)
    if opts.flow_method:
        fcfg = dataclasses.replace(fcfg, method=opts.flow_method)
    if fcfg.method == "raft":
        fcfg = dataclasses.replace(fcfg, device=device)
    flow = None if fcfg.method == "none" else build_flow(fcfg)
    return PoseTracker(layout, tcfg, fps=info.fps, frame_size=(info.width, info.height)), flow, tcfg


def _settings(opts: RunOptions, estimator, tcfg, fcfg_name: Optional[str]) -> Dict:
    cfg = estimator.config
    return {
        "pose_model": cfg.name,
        "pose_weights": opts.pose_weights or cfg.default_weights,
        "flip_test": opts.flip,
        "decode": opts.decode,
        "detector": "boxes file: " + str(opts.boxes_file) if opts.boxes_file else (opts.detector_name or "default"),
        "tracker": None if tcfg is None else dataclasses.asdict(tcfg),
        "flow": fcfg_name,
        "start": opts.start, "end": opts.end, "stride": opts.stride,
    }


def _previous(out: Path, info: VideoInfo, resume: bool) -> Tuple[FrameResult, ...]:
    """Frames finished by an interrupted run of the same output (for --resume)."""
    from .tracks_io import journal_path

    if not resume:
        if journal_path(out).exists():
            log.warning("%s: an interrupted run left a journal; starting over (use --resume to continue it)", out)
        return ()
    done = read_journal(out)
    if done is None and out.exists():
        done = read_tracks(out)
        if done.complete:
            raise ResumeError(f"{out}: the run already finished; nothing to resume (remove --resume to run again)")
    if done is None:
        raise ResumeError(f"{out}: nothing to resume (no journal {out}.journal and no partial output)")
    v = done.header.video
    if (v.width, v.height, v.frames) != (info.width, info.height, info.frames):
        raise ResumeError(f"{out}: it was made from a different video ({v.width}x{v.height}, {v.frames} frames; "
                         f"this one is {info.width}x{info.height}, {info.frames} frames)")
    return done.frames


def run_video(source: Union[str, Path], out: Union[str, Path], opts: RunOptions = RunOptions(),
              progress: Optional[Progress] = None) -> RunSummary:
    """Detect, estimate and track poses in a video or image folder; write ``out``.

    Every finished frame is journaled (``out.journal``); on any exception, Ctrl-C
    included, ``out`` is written with status "partial" and the journal kept, so a later
    call with ``resume=True`` completes the same file without doing a frame twice.
    """
    from .pipeline import Pipeline, resolve_device
    from .video import open_source

    t_start = time.perf_counter()
    out = Path(out)
    device = resolve_device(opts.device)
    src = open_source(source, start=opts.start, end=opts.end, stride=opts.stride, batch_size=opts.frame_batch)
    try:
        info = src.info
        previous = _previous(out, info, opts.resume)
        done = {f.frame for f in previous}
        todo = [i for i in src.indices if i not in done]
        estimator = build_estimator(opts, device)
        tracker, flow, tcfg = _tracking(opts, estimator.layout, device, info)
        pipeline = Pipeline(estimator, _box_source(opts, device, info), tracker=tracker, flow=flow,
                            box_score=tcfg.box_score if tcfg else 0.5, nms_iou=tcfg.nms_iou if tcfg else 0.5)
        header = TracksHeader(video=info, layout=estimator.layout,
                              settings=_settings(opts, estimator, tcfg, None if flow is None else
                                                 (opts.flow_method or "dis")))
        seed_frame = _seed_frame(previous, todo)
        if seed_frame is not None:  # resume: restore the tracks, decode from the seed frame on
            pipeline.seed_tracks([f for f in previous if f.frame <= seed_frame])
            src.close()
            src = open_source(source, start=seed_frame, end=opts.end, stride=opts.stride,
                              batch_size=opts.frame_batch)
        renderer = _renderer(opts, info, estimator.layout)
        notes: List[str] = []
        total = len(todo)
        count, t_loop = 0, time.perf_counter()
        try:
            with TracksWriter(out, header, previous=previous) as writer:
                for frame, result in pipeline.run(_frames(src, pipeline, todo, seed_frame)):
                    writer.add(result)
                    if renderer is not None:
                        renderer.add(frame, result)
                    count += 1
                    if progress is not None:
                        progress(count, total, count / max(time.perf_counter() - t_loop, 1e-9), len(result))
                if src.truncated_at is not None:
                    notes.append(f"{source}: decoding failed at frame {src.truncated_at}; "
                                 f"the {count} frames before it were processed")
            tracks = writer.result
            if opts.refine and tcfg is not None and tracks.complete:
                from .retrack import refine_file
                from .tracks_io import write_tracks

                tracks = refine_file(tracks, tcfg)
                write_tracks(out, tracks)
        finally:
            if renderer is not None:
                renderer.close()
    finally:
        src.close()
    notes += _exports(opts, tracks, source)
    ids = {int(i) for f in tracks.frames if f.track_ids is not None for i in f.track_ids}
    return RunSummary(frames=len(tracks.frames), tracks=len(ids), seconds=time.perf_counter() - t_start,
                      times=pipeline.times, notes=tuple(notes))


def _seed_frame(previous, todo: List[int]) -> Optional[int]:
    """On resume: the last finished frame before the first one still to do (its image seeds the flow)."""
    if not previous or not todo:
        return None
    before = [f.frame for f in previous if f.frame < todo[0]]
    return max(before) if before else None


def _frames(src, pipeline, todo: List[int], seed_frame: Optional[int]):
    """Batches of the frames still to do; the seed frame's image goes to the pipeline as 'previous'."""
    wanted = set(todo)
    batch: list = []
    for frame in src:
        if frame.index == seed_frame:
            pipeline.seed_image(frame.image)
            continue
        if frame.index not in wanted:
            continue
        batch.append(frame)
        if len(batch) == src.batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _renderer(opts: RunOptions, info: VideoInfo, layout):
    if opts.render_out is None:
        return None
    from .render import Renderer

    return Renderer.to_file(opts.render_out, info, layout)


def _exports(opts: RunOptions, tracks: TrackFile, source) -> List[str]:
    """PoseTrack prediction files, one entry per frame of the source (matched by position)."""
    from .export import export_posetrack2017, export_posetrack2018

    notes = []
    src = Path(source)
    names = _image_names(src, tracks.header.video.frames)
    for path, fn in ((opts.export17, export_posetrack2017), (opts.export18, export_posetrack2018)):
        if path is None:
            continue
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(fn(tracks, names)))
        notes.append(f"wrote {path}")
    return notes


def _image_names(src: Path, frames: int) -> List[str]:
    if src.is_dir():
        from .video import list_images

        return [str(p) for p in list_images(src)]
    return [f"{src.stem}/{i:06d}.jpg" for i in range(frames)]
