"""Everything `posetrack run` does, as a library call: build the per-video parts, stream, or run and journal.

Three layers, each usable on its own:

* :func:`~posetrack.pipeline.loading.load_models` loads the networks a run needs (pose
  estimator, person detector); an engine's worker loads them once and reuses them for many videos.
* :func:`stream` opens a source and yields ``(Frame, FrameResult)`` pairs lazily.
* :func:`run_video` streams one source into :class:`~posetrack.pipeline.outputs.Outputs`
  (the tracks file, a render, PoseTrack exports), journaling every finished frame and the
  tracker's state so an interrupted run can be resumed exactly
  (:mod:`posetrack.pipeline.journaled`, :mod:`posetrack.tracksfile.resume`); outputs are
  never overwritten unless asked.

The run's choices are :class:`~posetrack.pipeline.options.RunOptions`; this module also
offers the names callers used before the split (``RunOptions``, ``Outputs``, ``Models``,
``load_models``, ``write_exports``, ...).

Example:
    >>> from posetrack.pipeline.runner import Outputs, RunOptions, run_video
    >>> summary = run_video("video.mp4", Outputs("tracks.json"), RunOptions(device="cuda", half=True))
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple, Union

from posetrack.errors import InputError
from posetrack.io.lock import output_lock
from posetrack.io.video import check_resumable, is_live, open_source
from posetrack.pipeline.configs import run_tracking
from posetrack.pipeline.frames import Pipeline, StageTimes
from posetrack.pipeline.journaled import JournaledRun, Progress
from posetrack.pipeline.loading import Models, build_detector, build_estimator, load_models
from posetrack.pipeline.options import ResumeIdentity, RunOptions
from posetrack.pipeline.outputs import (Outputs, check_exports, check_paths, input_files, prepare_outputs,
                                        run_inputs, write_exports)
from posetrack.tracking.flow import build_flow
from posetrack.tracking.tracker import PoseTracker
from posetrack.tracksfile.codec import TracksHeader
from posetrack.tracksfile.foreign import image_file_names
from posetrack.tracksfile.journal import journal_head
from posetrack.pipeline.checked_journal import plan_resume
from posetrack.tracksfile.resume import ResumePlan, check_head, check_outputs, source_identity
from posetrack.types import Detections, Frame, FrameResult, VideoInfo

__all__ = ["RunOptions", "Outputs", "Models", "RunSummary", "load_models", "stream", "run_video", "write_exports",
           "build_estimator", "run_inputs", "check_paths", "input_files"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    """What a finished (or interrupted) run did.

    Attributes:
        frames: frames in the tracks file (a resumed run counts the earlier ones too).
        tracks: distinct track ids in the file.
        poses: people in the file, over all its frames (untracked ones too: ``tracker_mode="none"``).
        seconds: wall time of this call.
        times: per-stage seconds of this call (:class:`~posetrack.pipeline.frames.StageTimes`).
        notes: things the user should know (truncation, files written).
        resumed: of ``frames``, those finished by an earlier, interrupted run (kept from its
            journal); ``times`` and ``seconds`` cover only this call.
    """

    frames: int
    tracks: int
    seconds: float
    times: StageTimes
    notes: Tuple[str, ...] = ()
    resumed: int = 0
    poses: int = 0


def _box_source(opts: RunOptions, models: Models, info: VideoInfo, frames_exact: bool = True):
    """Detector, or precomputed boxes: a callable from frames to detections.

    Boxes for frames past the video's length are an error when the length is exact; when it
    is only an estimate (a cut-off Matroska file's stated duration) they are logged and
    kept (the frames never come if the video is shorter).
    """
    boxes_file = opts.models.boxes_file
    if boxes_file:
        from posetrack.pose.detector import load_boxes   # reason: imports torch

        table = load_boxes(boxes_file, num_frames=info.frames if frames_exact else None,
                           frame_size=(info.width, info.height), input_format=opts.models.boxes_format,
                           image_names=image_file_names(info.path))
        last = max(table, default=-1)
        if not frames_exact and info.frames is not None and last >= info.frames:
            log.warning("%s: boxes for frames up to %d, past the %d frames %s is estimated to hold",
                        boxes_file, last, info.frames, info.path)
        return lambda frames: [table.get(f.index, Detections.empty()) for f in frames]
    detector = models.detector if models.detector is not None else build_detector(opts, models.device)
    return lambda frames: detector([f.image for f in frames])


def _settings(opts: RunOptions, estimator, tcfg, fcfg) -> Dict[str, Any]:
    """The tracks file's ``settings``: what made the poses."""
    cfg, models, frames = estimator.config, opts.models, opts.frames
    return {
        "pose_model": cfg.name,
        "pose_weights": models.pose_weights or cfg.default_weights,
        "flip_test": models.flip,
        "decode": models.decode,
        "precision": estimator.precision,
        "half": opts.runtime.half_record(estimator.device.type),
        "backend": opts.runtime.backend,
        "detector": "boxes file: " + str(models.boxes_file) if models.boxes_file else (models.detector_name
                                                                                      or "default"),
        "tracker": None if tcfg is None else dataclasses.asdict(tcfg),
        "flow": None if fcfg is None else fcfg.method,
        "start": frames.start, "end": frames.end, "stride": frames.stride,
    }


def _pipeline(opts: RunOptions, models: Models, info: VideoInfo, *, frames_exact: bool = True,
              journaled: bool = True) -> Tuple[Pipeline, TracksHeader, Optional[Dict[str, Any]]]:
    """The per-video parts: the pipeline (tracker, flow), the tracks header and the journal head.

    ``frames_exact``: ``info.frames`` is the source's true length (boxes past it are an
    error) rather than an estimate. ``journaled``: build the journal head (else None; it
    hashes the input files).
    """
    tcfg, fcfg = run_tracking(opts.tracking, models.device)
    tracker = None if tcfg is None else PoseTracker(models.estimator.layout, tcfg, fps=info.fps,
                                                    frame_size=(info.width, info.height))
    pipeline = Pipeline(models.estimator, _box_source(opts, models, info, frames_exact), tracker=tracker,
                        flow=None if fcfg is None else build_flow(fcfg),
                        detect_every=opts.tracking.detect_every, overlap=opts.runtime.overlap)
    settings = _settings(opts, models.estimator, tcfg, fcfg)
    header = TracksHeader(video=info, layout=models.estimator.layout, settings=settings)
    head = None
    if journaled:
        head = journal_head(info, models.estimator.layout.name, settings,
                            ResumeIdentity.of(opts, models.device).to_dict(), input_files(opts),
                            source_identity(info.path) if not info.live else None)
    return pipeline, header, head


def _open(source: Union[str, Path], opts: RunOptions):
    """The source, opened on the run's frame range and frame batch."""
    frames = opts.frames
    return open_source(source, start=frames.start, end=frames.end, stride=frames.stride,
                       batch_size=opts.runtime.frame_batch)


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
    models = models or load_models(opts)
    with _open(source, opts) as src:
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
        InputError: another run is writing the same tracks file now (:func:`posetrack.io.lock.output_lock`).
        PathConflictError: an output is an input (source, boxes file, weights, a config) or
            inside the source folder, or two outputs share a path (no flag overrides this).
        ResumeError: ``resume`` with nothing to resume, or outputs made from another video
            or with other options.
        OSError: an output cannot be written (``filename`` names it).
        SourceError, WeightsError, DeviceError, FormatError: see :func:`load_models` and
            :func:`posetrack.io.video.open_source`; a bad ``outputs.posetrack21_gt`` fails before
            any work (:func:`~posetrack.pipeline.outputs.check_exports`).
    """
    if resume and force:
        raise InputError("resume and force exclude each other: resume keeps the finished frames, force discards them",
                         field="resume", fields=("force",))
    if resume:
        check_resumable(source)
    t_start = time.perf_counter()
    outputs = outputs if isinstance(outputs, Outputs) else Outputs(Path(outputs))
    check_paths(source, outputs, opts, live=is_live(source))
    check_exports(outputs)
    with output_lock(outputs.tracks):     # one run per output: a second is refused, not interleaved
        src = _open(source, opts)
        try:
            run, head = _prepare(src, source, outputs, opts, models, resume, force, progress)
            tracks, notes = run.execute(None if resume else head)
        finally:
            src.close()
        notes += write_exports(outputs, tracks, source)
    ids = {int(i) for f in tracks.frames if f.track_ids is not None for i in f.track_ids}
    return RunSummary(frames=len(tracks.frames), tracks=len(ids), seconds=time.perf_counter() - t_start,
                      times=run.pipeline.times, notes=tuple(notes), resumed=len(run.plan.done),
                      poses=sum(len(f.poses) for f in tracks.frames))


def _prepare(src, source, outputs: Outputs, opts: RunOptions, models: Optional[Models], resume: bool, force: bool,
             progress: Optional[Progress]) -> Tuple[JournaledRun, Dict[str, Any]]:
    """Check the outputs and what a resume keeps, build the pipeline: the run ready to execute, and its journal head.

    A camera or stream (``src.indices`` None) stays open: it is read once, from this
    opening; a file or folder is closed here and reopened from the restart position.
    """
    info, indices = src.info, (None if src.indices is None else list(src.indices))
    live = src if indices is None else None
    if live is None:
        src.close()
    check_outputs(outputs.fields(), resume=resume, force=force)
    prepare_outputs(outputs)
    plan = plan_resume(outputs.tracks, info, indices, opts.runtime.frame_batch) if resume else ResumePlan()
    if models is None and opts.models.boxes_file:      # a bad boxes file is named before the weights load
        _box_source(opts, None, info, frames_exact=src.frames_exact)
    models = models or load_models(opts)
    pipeline, header, head = _pipeline(opts, models, info, frames_exact=src.frames_exact)
    if resume:
        check_head(plan, head)
    return JournaledRun(source, outputs, opts, indices, plan, pipeline, header, progress, live=live), head
