"""Everything `posetrack run` does, as a library call: build the parts, stream, journal, resume.

Three layers, each usable on its own:

* :func:`load_models` loads the networks a run needs (pose estimator, person detector);
  an engine's worker loads them once and reuses them for many videos.
* :func:`stream` opens a source and yields ``(Frame, FrameResult)`` pairs lazily.
* :func:`run_video` streams one source into :class:`Outputs` (the tracks file, a
  render, PoseTrack exports), journaling every finished frame so an interrupted run
  can be resumed.

Example:
    >>> from posetrack.runner import Outputs, RunOptions, run_video
    >>> summary = run_video("video.mp4", Outputs("tracks.json"), RunOptions(device="cuda", half=True))
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from .errors import ResumeError, WeightsError
from .structures import Detections, Frame, FrameResult, VideoInfo
from .tracks_io import TrackFile, TracksHeader, TracksWriter, read_journal, read_tracks

__all__ = ["RunOptions", "Outputs", "Models", "RunSummary", "load_models", "stream", "run_video",
           "build_estimator"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, float, int], None]   # (frames done, frames total, fps, people in last frame)


@dataclass(frozen=True)
class RunOptions:
    """The pipeline choices of a run (models, tracker, frame range, device); defaults are the paper's setting.

    Where the results go is :class:`Outputs`; whether to resume is an argument of
    :func:`run_video`.
    """

    pose_model: str = "w48_384x288"
    pose_weights: Optional[str] = None
    detector_name: Optional[str] = None
    detector_weights: Optional[str] = None
    boxes_file: Optional[str] = None
    tracker_mode: str = "flowtrack"
    tracker_config: str = "tracker"
    matching: Optional[str] = None
    flow_method: Optional[str] = None
    start: int = 0
    end: Optional[int] = None
    stride: int = 1
    device: str = "auto"
    half: bool = False
    precision: str = "auto"
    backend: str = "torch"
    compile: bool = False
    batch_size: int = 32
    frame_batch: int = 8
    flip: bool = True
    decode: str = "argmax"


@dataclass(frozen=True)
class Outputs:
    """Where one run writes its results.

    Attributes:
        tracks: the tracks file (JSON, schema in the README); its journal is ``tracks + ".journal"``.
        render: an annotated video (H.264 MP4) drawn while running, or None.
        posetrack2017: a PoseTrack 2017 (annolist) prediction file, or None.
        posetrack2018: a PoseTrack 2018 (COCO-style) prediction file, or None.
        coco: COCO keypoint results (JSON, image_id = frame index; posetrack.export.export_coco), or None.
        csv: a long-format CSV, one row per person and frame (posetrack.export.export_csv), or None.
    """

    tracks: Path
    render: Optional[Path] = None
    posetrack2017: Optional[Path] = None
    posetrack2018: Optional[Path] = None
    coco: Optional[Path] = None
    csv: Optional[Path] = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, Path(value))


@dataclass(frozen=True)
class Models:
    """The networks of a run, loaded once and reusable across videos.

    Attributes:
        estimator: the :class:`~posetrack.pose.PoseEstimator` (HRNet + weights + test pipeline).
        detector: the person detector, or None when boxes come from a boxes file.
        device: the torch device both run on ("cpu", "cuda:0", ...).
    """

    estimator: Any
    detector: Any
    device: str


@dataclass(frozen=True)
class RunSummary:
    """What a finished (or interrupted) run did.

    Attributes:
        frames: frames in the tracks file (a resumed run counts the earlier ones too).
        tracks: distinct track ids in the file.
        seconds: wall time of this call.
        times: per-stage seconds of this call (:class:`~posetrack.pipeline.StageTimes`).
        notes: things the user should know (truncation, files written).
    """

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
                         batch_size=opts.batch_size, half=opts.half, precision=opts.precision, crop="auto",
                         backend=opts.backend, compile=opts.compile, static_batch=opts.compile)


def _build_detector(opts: RunOptions, device: str):
    from .detect import build_detector
    from .run_config import resolve_configs

    return build_detector(resolve_configs(opts, device).detector, weights_path=opts.detector_weights, device=device)


def load_models(opts: RunOptions = RunOptions(), *, download_progress=None) -> Models:
    """Load the pose estimator and (unless ``opts.boxes_file`` is set) the person detector.

    Every weights file the run needs is fetched first (:func:`posetrack.weights.fetch_weights`),
    so missing files are reported together, before any model is built.

    Args:
        download_progress: ``progress(file_name, bytes_done, bytes_total_or_None)`` while downloading.

    Raises:
        DeviceError: ``opts.device`` is not available here.
        MissingWeightsError: weight files are missing and cannot be downloaded (all are listed).
        WeightsError: weights are corrupt or do not fit the model.
    """
    from .pipeline import resolve_device
    from .weights import fetch_weights

    device = resolve_device(opts.device)
    fetch_weights(opts, progress=download_progress)
    estimator = build_estimator(opts, device)
    detector = None if opts.boxes_file else _build_detector(opts, device)
    return Models(estimator=estimator, detector=detector, device=device)


def _box_source(opts: RunOptions, models: Models, info: VideoInfo):
    """Detector, or precomputed boxes: a callable from frames to detections."""
    if opts.boxes_file:
        from .detect import load_boxes

        table = load_boxes(opts.boxes_file, num_frames=info.frames)
        return lambda frames: [table.get(f.index, Detections.empty()) for f in frames]
    detector = models.detector if models.detector is not None else _build_detector(opts, models.device)
    return lambda frames: detector([f.image for f in frames])


def _tracking(opts: RunOptions, layout, device: str):
    """Tracker and flow estimator (both None when tracker_mode is "none")."""
    if opts.tracker_mode == "none":
        return None, None, None
    from .flow import build_flow
    from .run_config import resolve_configs
    from .tracker import PoseTracker

    configs = resolve_configs(opts, device)
    flow = None if configs.flow is None else build_flow(configs.flow)
    return PoseTracker(layout, configs.tracker), flow, configs.tracker


def _settings(opts: RunOptions, estimator, tcfg, fcfg_name: Optional[str]) -> Dict:
    cfg = estimator.config
    return {
        "pose_model": cfg.name,
        "pose_weights": opts.pose_weights or cfg.default_weights,
        "flip_test": opts.flip,
        "decode": opts.decode,
        "precision": estimator.precision,
        "backend": opts.backend,
        "detector": "boxes file: " + str(opts.boxes_file) if opts.boxes_file else (opts.detector_name or "default"),
        "tracker": None if tcfg is None else dataclasses.asdict(tcfg),
        "flow": fcfg_name,
        "start": opts.start, "end": opts.end, "stride": opts.stride,
    }


def _previous(out: Path, info: VideoInfo, resume: bool) -> Tuple[FrameResult, ...]:
    """Frames finished by an interrupted run of the same output (for ``resume``)."""
    from .tracks_io import journal_path

    if not resume:
        if journal_path(out).exists():
            log.warning("%s: an interrupted run left a journal; starting over (resume=True continues it)", out)
        return ()
    done = read_journal(out)
    if done is None and out.exists():
        done = read_tracks(out)
        if done.complete:
            raise ResumeError(f"{out}: the run already finished; nothing to resume (resume=False runs it again)")
    if done is None:
        raise ResumeError(f"{out}: nothing to resume (no journal {out}.journal and no partial output)")
    v = done.header.video
    if (v.width, v.height, v.frames) != (info.width, info.height, info.frames):
        raise ResumeError(f"{out}: it was made from a different video ({v.width}x{v.height}, {v.frames} frames; "
                         f"this one is {info.width}x{info.height}, {info.frames} frames)")
    return done.frames


def _pipeline(opts: RunOptions, models: Models, info: VideoInfo):
    """The per-video parts: tracker, flow and the pipeline that drives them."""
    from .pipeline import Pipeline

    tracker, flow, tcfg = _tracking(opts, models.estimator.layout, models.device)
    pipeline = Pipeline(models.estimator, _box_source(opts, models, info), tracker=tracker, flow=flow,
                        box_score=tcfg.box_score if tcfg else 0.5, nms_iou=tcfg.nms_iou if tcfg else 0.5)
    header = TracksHeader(video=info, layout=models.estimator.layout,
                          settings=_settings(opts, models.estimator, tcfg,
                                             None if flow is None else (opts.flow_method or "dis")))
    return pipeline, header


def stream(source: Union[str, Path], opts: RunOptions = RunOptions(), models: Optional[Models] = None
           ) -> Iterator[Tuple[Frame, FrameResult]]:
    """Detect, estimate and track poses in a video or image folder, yielding each frame as it is done.

    Nothing is written. The source is opened when iteration starts and closed when it
    ends (or when the generator is closed).

    Args:
        source: a video file or a folder of images.
        opts: pipeline choices.
        models: loaded networks to reuse (:func:`load_models`); loaded here when None.

    Yields:
        ``(frame, result)``: the decoded :class:`~posetrack.structures.Frame` (RGB) and its
        :class:`~posetrack.structures.FrameResult`, in frame order.
    """
    from .video import open_source

    models = models or load_models(opts)
    with open_source(source, start=opts.start, end=opts.end, stride=opts.stride,
                     batch_size=opts.frame_batch) as src:
        pipeline, _ = _pipeline(opts, models, src.info)
        yield from pipeline.run(src.iter_batches())


def run_video(source: Union[str, Path], outputs: Union[Outputs, str, Path], opts: RunOptions = RunOptions(), *,
              models: Optional[Models] = None, resume: bool = False,
              progress: Optional[Progress] = None) -> RunSummary:
    """Detect, estimate and track poses in a video or image folder; write ``outputs``.

    Every finished frame is journaled (``outputs.tracks + ".journal"``); on any
    exception, Ctrl-C included, the tracks file is written with status "partial" and
    the journal kept, so a later call with ``resume=True`` completes the same file
    without doing a frame twice.

    Args:
        source: a video file or a folder of images.
        outputs: where to write (a path means :class:`Outputs` with just the tracks file).
        opts: pipeline choices.
        models: loaded networks to reuse (:func:`load_models`); loaded here when None.
        resume: continue an interrupted run of the same outputs.
        progress: called after every frame with (frames done, frames total, fps, people).

    Raises:
        ResumeError: ``resume`` with nothing to resume, or an output made from another video.
        SourceError, WeightsError, DeviceError, FormatError: see :func:`load_models` and
            :func:`posetrack.video.open_source`.
    """
    from .video import check_resumable, open_source

    t_start = time.perf_counter()
    outputs = outputs if isinstance(outputs, Outputs) else Outputs(Path(outputs))
    out = outputs.tracks
    if resume:
        check_resumable(source)
    src = open_source(source, start=opts.start, end=opts.end, stride=opts.stride, batch_size=opts.frame_batch)
    try:
        info = src.info
        previous = _previous(out, info, resume)
        done = {f.frame for f in previous}
        todo = None if src.indices is None else [i for i in src.indices if i not in done]  # None: live, open-ended
        models = models or load_models(opts)
        pipeline, header = _pipeline(opts, models, info)
        seed_frame = _seed_frame(previous, todo)
        if seed_frame is not None:  # resume: restore the tracks, decode from the seed frame on
            pipeline.seed_tracks([f for f in previous if f.frame <= seed_frame])
            src.close()
            src = open_source(source, start=seed_frame, end=opts.end, stride=opts.stride,
                              batch_size=opts.frame_batch)
        renderer = _renderer(outputs, info, models.estimator.layout, opts.stride)
        notes: List[str] = []
        total = None if todo is None else len(todo)
        count, t_loop = 0, time.perf_counter()
        try:
            with TracksWriter(out, header, previous=previous) as writer:
                for frame, result in pipeline.run(_frames(src, pipeline, todo, seed_frame)):
                    writer.add(result)
                    if info.frames is None:  # a live source: the frames so far are its length
                        writer.set_video(dataclasses.replace(info, frames=frame.index + 1))
                    if renderer is not None:
                        renderer.add(frame, result)
                    count += 1
                    if progress is not None:
                        progress(count, total, count / max(time.perf_counter() - t_loop, 1e-9), len(result))
                if src.truncated_at is not None:
                    notes.append(f"{source}: decoding failed at frame {src.truncated_at}; "
                                 f"the {count} frames before it were processed")
            tracks = writer.result
        finally:
            if renderer is not None:
                renderer.close()
    finally:
        src.close()
    notes += _exports(outputs, tracks, source)
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
    """Batches of the frames still to do; the seed frame's image goes to the pipeline as 'previous'.

    When the source fails part-way (a damaged image), the frames decoded before the failure
    are processed first, then the error is raised.
    """
    wanted = None if todo is None else set(todo)
    batch: list = []
    try:
        for frame in src:
            if frame.index == seed_frame:
                pipeline.seed_image(frame.image)
                continue
            if wanted is not None and frame.index not in wanted:
                continue
            batch.append(frame)
            if len(batch) == src.batch_size:
                yield batch
                batch = []
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _renderer(outputs: Outputs, info: VideoInfo, layout, stride: int = 1):
    if outputs.render is None:
        return None
    from .render import Renderer

    return Renderer.to_file(outputs.render, info, layout, stride=stride)


def _exports(outputs: Outputs, tracks: TrackFile, source) -> List[str]:
    """PoseTrack prediction files (one entry per frame of the source, matched by position), COCO results, CSV."""
    from .export import export_coco, export_csv, export_posetrack2017, export_posetrack2018

    notes = []
    for path, fn in ((outputs.posetrack2017, export_posetrack2017), (outputs.posetrack2018, export_posetrack2018)):
        if path is None:
            continue
        names = _image_names(Path(str(source)), tracks.header.video.frames or len(tracks.frames))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(fn(tracks, names), allow_nan=False))
        notes.append(f"wrote {path}")
    if outputs.coco is not None:
        outputs.coco.parent.mkdir(parents=True, exist_ok=True)
        outputs.coco.write_text(json.dumps(export_coco(tracks), allow_nan=False))
        notes.append(f"wrote {outputs.coco}")
    if outputs.csv is not None:
        export_csv(tracks, outputs.csv)
        notes.append(f"wrote {outputs.csv}")
    return notes


def _image_names(src: Path, frames: int) -> List[str]:
    if src.is_dir():
        from .video import list_images

        return [str(p) for p in list_images(src)]
    return [f"{src.stem}/{i:06d}.jpg" for i in range(frames)]
