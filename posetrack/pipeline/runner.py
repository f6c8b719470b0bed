"""Everything `posetrack run` does, as a library call: build the parts, stream, journal, resume.

Three layers, each usable on its own:

* :func:`load_models` loads the networks a run needs (pose estimator, person detector);
  an engine's worker loads them once and reuses them for many videos.
* :func:`stream` opens a source and yields ``(Frame, FrameResult)`` pairs lazily.
* :func:`run_video` streams one source into :class:`Outputs` (the tracks file, a
  render, PoseTrack exports), journaling every finished frame and the tracker's state
  so an interrupted run can be resumed exactly (:mod:`posetrack.tracksfile.journal`,
  :mod:`posetrack.tracksfile.resume`); outputs are never overwritten unless asked.

Example:
    >>> from posetrack.pipeline.runner import Outputs, RunOptions, run_video
    >>> summary = run_video("video.mp4", Outputs("tracks.json"), RunOptions(device="cuda", half=True))
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from posetrack.io.atomic import named_os_errors, write_atomic
from posetrack.errors import ConfigError, InputError, WeightsError
from posetrack.types import Detections, Frame, FrameResult, VideoInfo
from posetrack.tracksfile.codec import TrackFile, TracksHeader, write_tracks

__all__ = ["RunOptions", "Outputs", "Models", "RunSummary", "load_models", "stream", "run_video", "write_exports",
           "build_estimator", "run_inputs", "check_paths", "input_files"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, float, int], None]   # (frames done, frames total, fps, people in last frame)


@dataclass(frozen=True)
class RunOptions:
    """The pipeline choices of a run (models, tracker, frame range, device); defaults are the paper's setting.

    Where the results go is :class:`Outputs`; whether to resume is an argument of
    :func:`run_video`. ``detect_every`` runs the detector on every N-th frame of the run
    (FlowTrack's propagated boxes carry the people in between; see ``benchmarks/detect_every.py``
    for what it costs in MOTA and mAP). ``overlap`` computes flow and writes outputs on
    threads while poses are estimated; it never changes a result (False: one thread).
    """

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
    max_tracks: Optional[int] = None       # never more than this many identities (the tracker's max_tracks)
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
    detect_every: int = 1
    overlap: bool = True

    def __post_init__(self) -> None:
        """Check every field's type, range and choices (CLI options map onto these fields one to one).

        Raises:
            ConfigError: naming the field, the value and what it must be.
        """
        for name in _PATH_FIELDS:                 # paths may be given as pathlib.Path: kept as str
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if not (isinstance(value, str) and value) and not (value is None and name in _OPTIONAL_FIELDS):
                raise ConfigError(f"RunOptions.{name}: expected a non-empty string"
                                  + (" or None" if name in _OPTIONAL_FIELDS else "") + f", got {_short(value)}")
        for name in _BOOL_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ConfigError(f"RunOptions.{name}: expected True or False, got {_short(value)}")
        for name, (low, high) in _INT_FIELDS.items():
            value = getattr(self, name)
            if value is None and name in _OPTIONAL_FIELDS:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"RunOptions.{name}: expected an integer, got {_short(value)}")
            if not low <= value <= high:
                raise ConfigError(f"RunOptions.{name}: expected an integer from {low} to {high}, got {_short(value)}")
        if self.end is not None and self.end <= self.start:
            raise ConfigError(f"RunOptions.end: must be greater than start ({self.start}), got {self.end}")
        for name, choices in _choices().items():
            value = getattr(self, name)
            if value is None and name in _OPTIONAL_FIELDS:
                continue
            if value not in choices:
                raise ConfigError(f"RunOptions.{name}: expected one of {', '.join(choices)}, got {_short(value)}")
        if self.tracker_mode == "none" and self.refine:
            raise ConfigError("RunOptions.refine: refinement works on tracks, and tracker_mode is 'none' "
                              "(untracked poses): drop one of them")


def _short(value: Any) -> str:
    from posetrack.validation import short_repr

    return short_repr(value)


_PATH_FIELDS = ("pose_model", "pose_weights", "detector_weights", "boxes_file", "tracker_config")
_TEXT_FIELDS = ("pose_model", "pose_weights", "detector_name", "detector_weights", "boxes_file", "tracker_mode",
                "tracker_config", "device")
_OPTIONAL_FIELDS = ("pose_weights", "detector_name", "detector_weights", "boxes_file", "tracker_mode", "matching",
                    "flow_method", "end", "max_tracks")
_BOOL_FIELDS = ("refine", "half", "compile", "flip", "overlap")
_INT64_MAX = 2 ** 63 - 1
#: Crops or frames in one batch: 65536 crops of 384x288 are 86 GB of input; more is a mistake.
_MAX_BATCH = 65536
#: (lowest, highest) of the integer fields; strides reach the tracks file's 10 million frame limit
#: (posetrack.validation.MAX_FRAMES).
_INT_FIELDS = {"start": (0, _INT64_MAX), "end": (1, _INT64_MAX), "stride": (1, 10_000_000), "max_tracks": (1, _INT64_MAX),
               "detect_every": (1, 10_000_000), "batch_size": (1, _MAX_BATCH), "frame_batch": (1, _MAX_BATCH)}


def _choices() -> Dict[str, Tuple[str, ...]]:
    """The valid values of the fields chosen by name, from the strategy tables that use them."""
    from posetrack.models.backends import BACKENDS, PRECISIONS
    from posetrack.pose.heatmaps import DECODE_METHODS
    from posetrack.tracking.flow import FLOW_METHODS
    from posetrack.tracking.matching import MATCHERS

    return {"matching": tuple(MATCHERS), "flow_method": tuple(FLOW_METHODS), "precision": ("auto", *PRECISIONS),
            "backend": tuple(BACKENDS), "decode": tuple(DECODE_METHODS)}


@dataclass(frozen=True)
class Outputs:
    """Where one run writes its results.

    Attributes:
        tracks: the tracks file (JSON, schema in the README); its journal is ``tracks + ".journal"``.
        render: an annotated video (H.264 MP4) drawn while running, or None.
        posetrack2017: a PoseTrack 2017 (annolist) prediction file, or None.
        posetrack2018: a PoseTrack 2018 (COCO-style) prediction file, or None.
        coco: COCO keypoint results (JSON, image_id = frame index; posetrack.tracksfile.exports.export_coco), or None.
        csv: a long-format CSV, one row per person and frame (posetrack.tracksfile.exports.export_csv), or None.
    """

    tracks: Path
    render: Optional[Path] = None
    posetrack2017: Optional[Path] = None
    posetrack2018: Optional[Path] = None
    coco: Optional[Path] = None
    csv: Optional[Path] = None

    def paths(self) -> List[Path]:
        """Every output path that is set, the tracks file first."""
        return [getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None]

    def fields(self) -> Dict[str, Path]:
        """Every output that is set, by field name (``tracks``, ``render``, ...), the tracks file first."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, Path(value))


@dataclass(frozen=True)
class Models:
    """The networks of a run, loaded once and reusable across videos.

    Attributes:
        estimator: the :class:`~posetrack.pose.estimator.PoseEstimator` (HRNet + weights + test pipeline).
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
        times: per-stage seconds of this call (:class:`~posetrack.pipeline.frames.StageTimes`).
        notes: things the user should know (truncation, files written).
        resumed: of ``frames``, those finished by an earlier, interrupted run (kept from its
            journal); ``times`` and ``seconds`` cover only this call.
    """

    frames: int
    tracks: int
    seconds: float
    times: object
    notes: Tuple[str, ...] = ()
    resumed: int = 0


def build_estimator(opts: RunOptions, device: str):
    """HRNet + weights + the official test pipeline."""
    from posetrack.models.devices import effective_precision
    from posetrack.models.registry import build_pose_model, load_model_config
    from posetrack.pose.estimator import PoseEstimator

    cfg = load_model_config(opts.pose_model)
    weights = opts.pose_weights or cfg.default_weights
    if weights is None:
        raise WeightsError(f"pose model {cfg.name!r} has no published weights; give pose_weights (a file or URL)")
    model = build_pose_model(opts.pose_model, weights=weights)
    precision = effective_precision(device, opts.half, opts.precision)
    return PoseEstimator(model, flip_test=opts.flip, decode=opts.decode, device=device,
                         batch_size=opts.batch_size, precision=precision, crop="auto",
                         backend=opts.backend, compile=opts.compile, static_batch=opts.compile)


def _build_detector(opts: RunOptions, device: str):
    from posetrack.pose.detector import build_detector
    from posetrack.pipeline.configs import resolve_configs

    return build_detector(resolve_configs(opts, device).detector, weights_path=opts.detector_weights, device=device)


def load_models(opts: RunOptions = RunOptions(), *, download_progress=None) -> Models:
    """Load the pose estimator and (unless ``opts.boxes_file`` is set) the person detector.

    Every weights file the run needs is fetched first (:func:`posetrack.pipeline.weights.fetch_weights`),
    so missing files are reported together, before any model is built.

    Args:
        download_progress: ``progress(file_name, bytes_done, bytes_total_or_None)`` while downloading.

    Raises:
        DeviceError: ``opts.device`` is not available here.
        MissingWeightsError: weight files are missing and cannot be downloaded (all are listed).
        WeightsError: weights are corrupt or do not fit the model.
    """
    from posetrack.models.devices import resolve_device
    from posetrack.pipeline.weights import fetch_weights

    device = resolve_device(opts.device)
    fetch_weights(opts, progress=download_progress)
    estimator = build_estimator(opts, device)
    detector = None if opts.boxes_file else _build_detector(opts, device)
    return Models(estimator=estimator, detector=detector, device=device)


def _box_source(opts: RunOptions, models: Models, info: VideoInfo, frames_exact: bool = True):
    """Detector, or precomputed boxes: a callable from frames to detections.

    Boxes for frames past the video's length are an error when the length is exact; when it
    is only an estimate (a cut-off Matroska file's stated duration) they are logged and
    kept (the frames never come if the video is shorter).
    """
    if opts.boxes_file:
        from posetrack.pose.detector import load_boxes

        table = load_boxes(opts.boxes_file, num_frames=info.frames if frames_exact else None,
                           frame_size=(info.width, info.height))
        last = max(table, default=-1)
        if not frames_exact and info.frames is not None and last >= info.frames:
            log.warning("%s: boxes for frames up to %d, past the %d frames %s is estimated to hold",
                        opts.boxes_file, last, info.frames, info.path)
        return lambda frames: [table.get(f.index, Detections.empty()) for f in frames]
    detector = models.detector if models.detector is not None else _build_detector(opts, models.device)
    return lambda frames: detector([f.image for f in frames])


def _tracking(opts: RunOptions, layout, device: str, info: VideoInfo):
    """Tracker, flow estimator and their configs (all None for tracker_mode "none")."""
    if opts.tracker_mode == "none":
        return None, None, None, None
    from posetrack.tracking.flow import build_flow
    from posetrack.pipeline.configs import resolve_configs
    from posetrack.tracking.tracker import PoseTracker

    configs = resolve_configs(opts, device)
    flow = None if configs.flow is None else build_flow(configs.flow)
    tracker = PoseTracker(layout, configs.tracker, fps=info.fps, frame_size=(info.width, info.height))
    return tracker, flow, configs.tracker, configs.flow


def _settings(opts: RunOptions, estimator, tcfg, fcfg) -> Dict:
    cfg = estimator.config
    return {
        "pose_model": cfg.name,
        "pose_weights": opts.pose_weights or cfg.default_weights,
        "flip_test": opts.flip,
        "decode": opts.decode,
        "precision": estimator.precision,
        "half": opts.half if not opts.half or estimator.device.type == "cuda" else f"ignored on {estimator.device.type}",
        "backend": opts.backend,
        "detector": "boxes file: " + str(opts.boxes_file) if opts.boxes_file else (opts.detector_name or "default"),
        "tracker": None if tcfg is None else dataclasses.asdict(tcfg),
        "flow": None if fcfg is None else fcfg.method,
        "start": opts.start, "end": opts.end, "stride": opts.stride,
    }


# RunOptions that do not change a single number of the results: a resume may differ in them.
_NOT_NUMERIC = ("device", "overlap")


def _run_record(opts: RunOptions, device: str) -> Dict:
    """Every run option that changes the results (the journal's ``run``; a resume must match it)."""
    record = {k: v for k, v in dataclasses.asdict(opts).items() if k not in _NOT_NUMERIC}
    record["device_type"] = device.split(":")[0]
    return record


def input_files(opts: RunOptions) -> Dict[str, Dict[str, Any]]:
    """The identity of every input file whose contents change a run's results (the journal head's ``inputs``).

    Setting name -> :func:`posetrack.tracksfile.resume.file_identity` (absolute path, bytes, SHA-256):
    ``boxes_file``; the weights files of :func:`posetrack.pipeline.weights.required_weights`
    (``pose_weights``, ``detector_weights``, ``flow.raft_weights``: the local file given or
    the downloaded copy); ``tracker_config`` (the YAML file the tracker settings come
    from, the shipped one included) unless the run is untracked. Call after
    :func:`load_models` (the weights are here then).

    Raises:
        OSError: a file cannot be read.
        ConfigError: see :func:`posetrack.pipeline.weights.required_weights`.
    """
    from posetrack.config import config_path
    from posetrack.tracksfile.resume import file_identity
    from posetrack.pipeline.weights import required_weights

    files: Dict[str, Dict[str, Any]] = {}
    if opts.boxes_file:
        files["boxes_file"] = file_identity(opts.boxes_file)
    for wf in required_weights(opts):
        if wf.local_path is not None:
            files[wf.setting] = file_identity(wf.local_path)
    if opts.tracker_mode != "none":
        files["tracker_config"] = file_identity(config_path(opts.tracker_config))
    return files


def _pipeline(opts: RunOptions, models: Models, info: VideoInfo, *, frames_exact: bool = True,
              journaled: bool = True):
    """The per-video parts: the pipeline (tracker, flow), the tracks header and the journal head.

    ``frames_exact``: ``info.frames`` is the source's true length (boxes past it are an
    error) rather than an estimate. ``journaled``: build the journal head (else None; it
    hashes the input files).
    """
    from posetrack.tracksfile.journal import journal_head
    from posetrack.pipeline.frames import Pipeline

    tracker, flow, tcfg, fcfg = _tracking(opts, models.estimator.layout, models.device, info)
    pipeline = Pipeline(models.estimator, _box_source(opts, models, info, frames_exact), tracker=tracker, flow=flow,
                        box_score=tcfg.box_score if tcfg else 0.5, nms_iou=tcfg.nms_iou if tcfg else 0.5,
                        detect_every=opts.detect_every, overlap=opts.overlap)
    settings = _settings(opts, models.estimator, tcfg, fcfg)
    header = TracksHeader(video=info, layout=models.estimator.layout, settings=settings)
    head = None
    if journaled:
        from posetrack.tracksfile.resume import source_identity

        head = journal_head(info, models.estimator.layout.name, settings, _run_record(opts, models.device),
                            input_files(opts), source_identity(info.path) if not info.live else None)
    return pipeline, header, head


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
        ``(frame, result)``: the decoded :class:`~posetrack.types.Frame` (RGB) and its
        :class:`~posetrack.types.FrameResult`, in frame order.
    """
    from posetrack.io.video import open_source

    models = models or load_models(opts)
    with open_source(source, start=opts.start, end=opts.end, stride=opts.stride,
                     batch_size=opts.frame_batch) as src:
        pipeline, _, _ = _pipeline(opts, models, src.info, frames_exact=src.frames_exact, journaled=False)
        yield from pipeline.run(src.iter_batches())


def run_video(source: Union[str, Path], outputs: Union[Outputs, str, Path], opts: RunOptions = RunOptions(), *,
              models: Optional[Models] = None, resume: bool = False, force: bool = False,
              progress: Optional[Progress] = None) -> RunSummary:
    """Detect, estimate and track poses in a video or image folder; write ``outputs``.

    Every finished frame is journaled (``outputs.tracks + ".journal"``, see
    :mod:`posetrack.tracksfile.journal`), with the tracker's state at every frame batch. On any
    exception, Ctrl-C included, the tracks file is written with status "partial" and the
    journal kept; after a hard kill the journal alone holds every finished frame. A later
    call with ``resume=True`` writes the same file an uninterrupted run would have, bit for
    bit, without redoing the finished frames (the frame batch they share with the first
    unfinished one is recomputed, not rewritten), and renders the whole video again if
    ``outputs.render`` is set. A video that stops decoding part-way ends with status
    "partial", its header counting the frames that decode.

    Args:
        source: a video file or a folder of images.
        outputs: where to write (a path means :class:`Outputs` with just the tracks file).
        opts: pipeline choices.
        models: loaded networks to reuse (:func:`load_models`); loaded here when None.
        resume: continue an interrupted run of the same outputs (same source and options).
        force: overwrite existing outputs (and discard an interrupted run's journal).
        progress: called after every frame with (frames done, frames total, fps, people);
            a resumed run counts the frames done before it.

    Raises:
        OutputExistsError: an output exists and neither ``resume`` nor ``force`` is set.
        PathConflictError: an output is an input (source, boxes file, weights, a config) or
            inside the source folder, or two outputs share a path (no flag overrides this).
        ResumeError: ``resume`` with nothing to resume, or outputs made from another video
            or with other options.
        OSError: an output cannot be written (``filename`` names it).
        SourceError, WeightsError, DeviceError, FormatError: see :func:`load_models` and
            :func:`posetrack.io.video.open_source`.
    """
    from posetrack.tracksfile.resume import ResumePlan, check_head, check_outputs, plan_resume
    from posetrack.io.video import check_resumable, is_live, open_source

    if resume and force:
        raise InputError("resume and force exclude each other: resume keeps the finished frames, force discards them")
    if resume:
        check_resumable(source)
    t_start = time.perf_counter()
    outputs = outputs if isinstance(outputs, Outputs) else Outputs(Path(outputs))
    check_paths(source, outputs, opts, live=is_live(source))
    src = open_source(source, start=opts.start, end=opts.end, stride=opts.stride, batch_size=opts.frame_batch)
    try:
        info, indices = src.info, (None if src.indices is None else list(src.indices))
        live = src if indices is None else None     # a camera or stream is read once, from this opening
        if live is None:
            src.close()
        check_outputs(outputs.fields(), resume=resume, force=force)
        _prepare_outputs(outputs)
        plan = plan_resume(outputs.tracks, info, indices, opts.frame_batch) if resume else ResumePlan()
        models = models or load_models(opts)
        pipeline, header, head = _pipeline(opts, models, info, frames_exact=src.frames_exact)
        if resume:
            check_head(plan, head)
        run = _Run(source, outputs, opts, indices, plan, pipeline, header, progress, live=live)
        tracks, notes = run.execute(head if not resume else None)
    finally:
        src.close()
    notes += write_exports(outputs, tracks, source)
    ids = {int(i) for f in tracks.frames if f.track_ids is not None for i in f.track_ids}
    return RunSummary(frames=len(tracks.frames), tracks=len(ids), seconds=time.perf_counter() - t_start,
                      times=pipeline.times, notes=tuple(notes), resumed=len(plan.done))


def run_inputs(source: Union[str, Path, None], opts: RunOptions) -> Dict[str, Optional[str]]:
    """The files a run reads, by setting: the source, the boxes file, weights files, YAML configs.

    Names (``posetrack18``, ``tracker``), URLs and cameras are included as given;
    :func:`posetrack.io.guard.check_distinct` skips whatever does not exist as a path.
    """
    return {"source": None if source is None else str(source), "boxes_file": opts.boxes_file,
            "pose_weights": opts.pose_weights, "detector_weights": opts.detector_weights,
            "pose_model": opts.pose_model, "tracker_config": opts.tracker_config}


def check_paths(source: Union[str, Path, None], outputs: Outputs, opts: RunOptions, *, live: bool = False) -> None:
    """Refuse outputs that would overwrite an input of the run or each other (before any work).

    The tracks file's journal counts as an output too.

    Raises:
        PathConflictError: names the path and both settings (:func:`posetrack.io.guard.check_distinct`).
    """
    from posetrack.io.guard import check_distinct
    from posetrack.tracksfile.journal import journal_path

    fields = outputs.fields()
    fields["tracks journal"] = journal_path(outputs.tracks)
    check_distinct(fields, run_inputs(None if live else source, opts))


def _prepare_outputs(outputs: Outputs) -> None:
    """Fail before any work when an output's folder cannot be created or written; clear stale ``.tmp`` files.

    A run killed while writing a file leaves its ``<name>.tmp`` (nothing can remove it then);
    the next run of the same outputs removes it.
    """
    import contextlib
    import errno
    import os

    from posetrack.io.atomic import tmp_path
    from posetrack.tracksfile.journal import journal_path

    for f in dataclasses.fields(outputs):
        path = getattr(outputs, f.name)
        if path is None:
            continue
        parent = Path(path).parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise type(e)(e.errno, e.strerror, str(path)) from e
        if not os.access(parent, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, f"cannot write into the folder {parent}", str(path))
        for stale in [tmp_path(path)] + ([tmp_path(journal_path(path))] if f.name == "tracks" else []):
            with contextlib.suppress(OSError):
                stale.unlink()


class _Run:
    """One call of :func:`run_video` after the checks: journal, pipeline, render, final file."""

    def __init__(self, source, outputs: Outputs, opts: RunOptions, indices: Optional[List[int]], plan, pipeline,
                 header: TracksHeader, progress: Optional[Progress], live=None):
        self.source, self.outputs, self.opts, self.indices = source, outputs, opts, indices
        self.plan, self.pipeline, self.header, self.progress = plan, pipeline, header, progress
        self.live = live           # the opened FrameSource of a camera or stream (indices is None then)
        self.results: Dict[int, FrameResult] = dict(plan.done)
        self.mismatches: List[int] = []
        self.truncated_at: Optional[int] = None

    def execute(self, fresh_head: Optional[Dict]) -> Tuple[TrackFile, List[str]]:
        """Run to the end; returns the tracks written and notes. Fresh runs pass the journal head."""
        from posetrack.io.background import OrderedWorker
        from posetrack.tracksfile.journal import Journal

        out = self.outputs.tracks
        journal = Journal.create(out, fresh_head) if fresh_head is not None else Journal.reopen(out)
        writer = OrderedWorker("posetrack-writer", threaded=self.opts.overlap)
        renderer = None
        try:
            renderer = _renderer(self.outputs, self.header.video, self.header.layout, self.opts.stride)
            self._loop(journal, writer, renderer)
            writer.close()
        except BaseException:
            writer.close(raise_error=False)
            _close_quietly(renderer)
            self._keep_partial(journal)
            raise
        try:
            if renderer is not None:
                with named_os_errors(self.outputs.render):
                    renderer.close()
        except BaseException:
            self._keep_partial(journal)
            raise
        return self._finish(journal)

    def _loop(self, journal, writer, renderer) -> None:
        plan, pipeline = self.plan, self.pipeline
        total = None if self.indices is None else len(self.indices)
        if total is not None and plan.restart >= total and renderer is None:
            return                       # every frame is done: only the file is left to write
        pipeline.load_tracker_state(plan.tracker)
        done_before, count, t0 = len(plan.done), 0, time.perf_counter()

        def on_batch(position: int, frame: int, state) -> None:
            if position in plan.states:
                self._compare_state(plan.states[position], state, position)
            else:
                writer.submit(journal.state, position, frame, state)

        decode_from = 0 if renderer is not None else max(plan.restart - 1, 0)
        src = self._open_from(decode_from)
        try:
            batches = self._batches(src, decode_from, writer, renderer)
            for frame, result in pipeline.run(batches, position=plan.restart, on_batch=on_batch):
                if result.frame in plan.done:
                    self._compare_frame(plan.done[result.frame], result)
                    result = plan.done[result.frame]
                else:
                    writer.submit(self._journal_frame, journal, result)
                    count += 1
                if renderer is not None:
                    writer.submit(_render, renderer, frame, result, self.outputs.render)
                if self.progress is not None:
                    done = done_before + count
                    self.progress(done if total is None else min(done, total), total,
                                  count / max(time.perf_counter() - t0, 1e-9), len(result))
            self.truncated_at = src.truncated_at
        finally:
            src.close()

    def _journal_frame(self, journal, result: FrameResult) -> None:
        """On the writer thread: journal a finished frame; only journaled frames reach the tracks file."""
        journal.frame(result)
        self.results[result.frame] = result

    def _open_from(self, position: int):
        """The source again, decoding the run's frame list from ``position`` on."""
        from posetrack.io.video import open_source

        if self.live is not None:          # read once: never reopened
            return self.live
        opts = self.opts
        src = open_source(self.source, start=self.indices[position], end=opts.end, stride=opts.stride,
                          batch_size=opts.frame_batch)
        if src.indices != self.indices[position:]:
            src.close()
            raise RuntimeError(f"reopening at frame {self.indices[position]} gave frames {src.indices[:3]}..., "
                               f"expected {self.indices[position:position + 3]}...")
        return src

    def _batches(self, src, position: int, writer, renderer) -> Iterator[List[Frame]]:
        """Batches of the frames to compute, aligned to the run's batch positions.

        Frames before the restart are only rendered (from the journal), the one just
        before it seeds the first flow field.
        """
        restart, batch_size = self.plan.restart, self.opts.frame_batch
        batch: List[Frame] = []
        try:
            for frame in src:
                if position < restart:
                    if position == restart - 1:
                        self.pipeline.seed_image(frame.image)
                    if renderer is not None:
                        writer.submit(_render, renderer, frame, self.plan.done.get(frame.index), self.outputs.render)
                else:
                    batch.append(frame)
                    if len(batch) == batch_size:
                        yield batch
                        batch = []
                position += 1
        except Exception:
            if batch:       # the source failed part-way (a damaged image): finish the frames before it
                yield batch
            raise
        if batch:
            yield batch

    def _compare_frame(self, journaled: FrameResult, again: FrameResult) -> None:
        """A finished frame recomputed to rebuild its batch should come out the same (it is not rewritten)."""
        from posetrack.tracksfile.journal import frame_to_exact_dict

        if frame_to_exact_dict(journaled) != frame_to_exact_dict(again):
            self.mismatches.append(journaled.frame)
            log.warning("%s: frame %d came out differently when its batch was recomputed (a non-deterministic "
                        "device?); the journaled result is kept", self.outputs.tracks, journaled.frame)

    def _compare_state(self, journaled: Dict, state, position: int) -> None:
        if json.dumps(journaled.get("tracker"), sort_keys=True) != json.dumps(state, sort_keys=True):
            log.warning("%s: the tracker's state at position %d differs from the journaled one",
                        self.outputs.tracks, position)

    def _tracks(self, complete: bool) -> TrackFile:
        header = self.header
        if self.truncated_at is not None:
            header = dataclasses.replace(header, video=dataclasses.replace(header.video, frames=self.truncated_at))
        elif header.video.frames is None:   # a live source: the frames read are its length
            seen = 1 + max(self.results, default=-1)
            header = dataclasses.replace(header, video=dataclasses.replace(header.video, frames=seen))
        frames = tuple(self.results[k] for k in sorted(self.results))
        return TrackFile(header=header, frames=frames, complete=complete)

    def _keep_partial(self, journal) -> None:
        """After an error: a partial tracks file with every finished frame, the journal kept for a resume."""
        try:
            if not self.results:            # nothing finished: leave nothing behind
                journal.remove()
                return
            journal.close()
            write_tracks(self.outputs.tracks, self._tracks(complete=False))
        except Exception as e:      # the first error is the one to report
            log.warning("%s: could not write the partial output (%s); the journal %s keeps the finished frames",
                        self.outputs.tracks, e, journal.path)

    def _finish(self, journal) -> Tuple[TrackFile, List[str]]:
        complete = self.truncated_at is None
        tracks = self._tracks(complete)
        tracker = self.pipeline.tracker
        if complete and self.opts.refine and tracker is not None:   # before the one final write
            from posetrack.pipeline.retrack import refine_file

            tracks = refine_file(tracks, tracker.config)
        try:
            write_tracks(self.outputs.tracks, tracks)
        except BaseException:
            journal.close()
            raise
        notes: List[str] = []
        if complete:
            journal.remove()
        else:
            journal.close()
            notes.append(f"{self.source}: decoding failed at frame {self.truncated_at}; the tracks file holds the "
                         f"{len(tracks.frames)} frames before it (status partial)")
        if self.mismatches:
            notes.append(f"{len(self.mismatches)} recomputed frames differed from the journal (first: frame "
                         f"{self.mismatches[0]}); the journaled results were kept")
        return tracks, notes


def _render(renderer, frame: Frame, result: Optional[FrameResult], path: Path) -> None:
    with named_os_errors(path):
        renderer.add(frame, result)


def _close_quietly(renderer) -> None:
    if renderer is not None:
        try:
            renderer.close()
        except Exception as e:
            log.warning("could not finish the render (%s)", e)


def _renderer(outputs: Outputs, info: VideoInfo, layout, stride: int = 1):
    if outputs.render is None:
        return None
    from posetrack.rendering.render import Renderer

    return Renderer.to_file(outputs.render, info, layout, stride=stride)


def write_exports(outputs: Outputs, tracks: TrackFile, source: Union[str, Path]) -> List[str]:
    """Write the exports ``outputs`` asks for (every path but ``tracks`` and ``render``), atomically.

    PoseTrack prediction files have one entry per frame of ``source``, matched by position:
    a folder's image paths, or ``<video stem>/<frame:06d>.jpg`` for a video (the names
    PoseTrack's own image folders use). COCO results and the CSV come from the tracks alone.

    Returns:
        One note per file written ("wrote PATH"), for the caller to show.

    Raises:
        OSError: a file cannot be written (naming its path).
    """
    from posetrack.tracksfile.exports import csv_lines, export_coco, export_posetrack2017, export_posetrack2018

    notes = []
    for path in (outputs.posetrack2017, outputs.posetrack2018, outputs.coco, outputs.csv):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    for path, fn in ((outputs.posetrack2017, export_posetrack2017), (outputs.posetrack2018, export_posetrack2018)):
        if path is None:
            continue
        names = _image_names(Path(str(source)), tracks.header.video.frames or len(tracks.frames))
        write_atomic(path, [json.dumps(fn(tracks, names), allow_nan=False)])
        notes.append(f"wrote {path}")
    if outputs.coco is not None:
        write_atomic(outputs.coco, [json.dumps(export_coco(tracks), allow_nan=False)])
        notes.append(f"wrote {outputs.coco}")
    if outputs.csv is not None:
        write_atomic(outputs.csv, csv_lines(tracks))
        notes.append(f"wrote {outputs.csv}")
    return notes


def _image_names(src: Path, frames: int) -> List[str]:
    if src.is_dir():
        from posetrack.io.video import list_images

        return [str(p) for p in list_images(src)]
    return [f"{src.stem}/{i:06d}.jpg" for i in range(frames)]
