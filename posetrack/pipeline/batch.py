"""Many videos as jobs: collision-free output names, what is left to do, one video's run, its record.

An engine (:mod:`posetrack.pipeline.engines`) decides *where* each job runs; this module decides
*what* a job is and *how* one runs, so every engine produces the same files:

* :func:`output_names` names every source so that no two outputs collide;
* :func:`plan_jobs` turns sources into :class:`Job` records (tracks file, journal, render,
  exports, boxes file per source);
* :func:`job_state` says whether a job is finished, partial (resume it) or new;
* :func:`run_job` runs one job in the calling process with loaded models, resuming from
  its journal when a previous attempt left one, and returns a :class:`VideoResult`; a
  video that fails for its own reasons (unreadable, corrupt, wrong boxes) becomes a
  "failed" record instead of an exception, so the other videos go on.

Engines report what happens through one callback receiving :class:`VideoStarted`,
:class:`FramesDone` and :class:`VideoFinished` events.

Example:
    >>> from posetrack.pipeline.batch import plan_jobs
    >>> jobs = plan_jobs(["a/clip.mp4", "b/clip.mp4"], "out")          # doctest: +SKIP
    >>> [j.name for j in jobs]                                            # doctest: +SKIP
    ['a__clip', 'b__clip']
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from urllib.parse import urlsplit

from posetrack.errors import InputError, PosetrackError
from posetrack.io.guard import check_distinct
from posetrack.io.source_list import is_url
from posetrack.pipeline.loading import Models
from posetrack.pipeline.options import RunOptions
from posetrack.pipeline.outputs import Outputs
from posetrack.pipeline.runner import run_video
from posetrack.tracksfile.codec import read_tracks, tracks_status
from posetrack.tracksfile.journal import journal_path

__all__ = ["Job", "VideoResult", "BatchResult", "VideoStarted", "FramesDone", "VideoFinished", "Event",
           "source_stem", "default_tracks_path", "output_names", "plan_jobs", "job_state", "run_job",
           "skipped_result", "interrupted_result", "models_options", "check_jobs", "STATUSES", "split_done", "in_order"]

log = logging.getLogger(__name__)

PathLike = Union[str, Path]

# What a video's record can say, in the order the summary lists them.
STATUSES = ("done", "resumed", "skipped", "failed", "interrupted", "not run")

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class Job:
    """One source and everything it writes.

    Attributes:
        index: position in the batch (the order sources were given).
        name: the collision-free output name (:func:`output_names`).
        source: the video file, image folder or URL, exactly as given (it is recorded
            in the tracks file, so a job's file equals a single-video run's).
        outputs: tracks file (journal beside it), render and exports.
        boxes_file: this source's precomputed boxes, or None (the detector runs).
    """

    index: int
    name: str
    source: str
    outputs: Outputs
    boxes_file: Optional[str] = None


@dataclass(frozen=True)
class VideoResult:
    """What happened to one video: the summary table's row.

    Attributes:
        index, name, source: the job's.
        status: one of :data:`STATUSES`.
        frames: frames in the tracks file (0 when none was written).
        people: person poses in the tracks file, all frames together.
        tracks: distinct track ids in the tracks file.
        frames_run: frames processed by this run (a resumed video counts only the new ones).
        seconds: wall time spent on it by this run.
        error: why it failed or stopped (one line), else None.
        notes: things the user should know (truncated decoding, files written).
        attempts: how many times a worker started it in this run (more than 1 after a
            worker died and the job was retried).
        worker: the worker that finished it ("" when none ran it).
    """

    index: int
    name: str
    source: str
    status: str
    frames: int = 0
    people: int = 0
    tracks: int = 0
    frames_run: int = 0
    seconds: float = 0.0
    error: Optional[str] = None
    notes: Tuple[str, ...] = ()
    attempts: int = 0
    worker: str = ""

    @property
    def fps(self) -> Optional[float]:
        """Frames per second of this run's work on the video (None when it did none)."""
        return self.frames_run / self.seconds if self.frames_run and self.seconds > 0 else None

    @property
    def ok(self) -> bool:
        return self.status in ("done", "resumed", "skipped")


@dataclass(frozen=True)
class BatchResult:
    """Every video's record, in job order, and whether the run was interrupted (Ctrl-C)."""

    videos: Tuple[VideoResult, ...]
    engine: str
    seconds: float
    interrupted: bool = False

    @property
    def failed(self) -> Tuple[VideoResult, ...]:
        return tuple(v for v in self.videos if v.status == "failed")

    @property
    def frames_run(self) -> int:
        return sum(v.frames_run for v in self.videos)


@dataclass(frozen=True)
class VideoStarted:
    """A worker began (or, after a worker died, began again) a job."""

    index: int
    name: str
    worker: str
    attempt: int


@dataclass(frozen=True)
class FramesDone:
    """Progress inside one video: ``done`` of ``total`` frames this attempt, at ``fps``; ``pid`` runs it."""

    index: int
    name: str
    worker: str
    done: int
    total: int
    fps: float
    pid: Optional[int] = None


@dataclass(frozen=True)
class VideoFinished:
    """A job's final record (also sent for skipped videos, before any worker starts)."""

    result: VideoResult


Event = Union[VideoStarted, FramesDone, VideoFinished]
Listener = Callable[[Event], None]


# ---------------------------------------------------------------- naming

def _parts(source: str) -> Tuple[Tuple[str, ...], str, str]:
    """(parent folder names, stem, suffix) of a source; URLs use their path."""
    if is_url(source):
        u = urlsplit(source)
        p = PurePosixPath(u.netloc + "/" + u.path.strip("/")) if u.path.strip("/") else PurePosixPath(u.netloc)
        return tuple(p.parts[:-1]), p.stem or p.name, p.suffix
    p = Path(os.path.abspath(source))         # not resolve(): a symlink keeps its own name
    parents = tuple(x for x in p.parts[:-1] if x not in ("/", p.anchor))
    if p.is_dir():
        return parents, p.name, ""
    return parents, p.stem, p.suffix


def source_stem(source: PathLike) -> str:
    """The whole stem of a source: ``match.part1.avi`` -> ``match.part1``; a folder's own name."""
    return _clean(_parts(str(source))[1])


def _clean(name: str) -> str:
    return _UNSAFE.sub("_", name) or "source"


def default_tracks_path(source: PathLike) -> Path:
    """A single run's default tracks file: beside the source, named by its whole stem.

    ``videos/match.part1.avi`` -> ``videos/match.part1.tracks.json``; ``frames/`` ->
    ``frames.tracks.json`` beside the folder.
    """
    p = Path(str(source).rstrip("/\\") or str(source))
    return p.with_name(source_stem(p) + ".tracks.json")


def _candidate(parts: Tuple[Tuple[str, ...], str, str], level: int) -> str:
    """Level 0: stem; 1: stem + suffix; 2: parent__stem; 3: parent__stem + suffix; 4: two parents; ..."""
    parents, stem, suffix = parts
    depth = min(level // 2, len(parents))
    prefix = list(parents[len(parents) - depth:]) if depth else []
    return _clean("__".join(prefix + [stem]) + (suffix if level % 2 else ""))


def output_names(sources: Sequence[str]) -> List[str]:
    """A collision-free output name per source, decided over the whole list.

    Every source gets its whole stem (``match.part1.avi`` -> ``match.part1``; a folder
    its name). Only sources whose names collide (compared case-insensitively, as on
    macOS and Windows file systems) get more, one step at a time, until they differ:
    first their suffix (``clip.mp4``, ``clip.avi``), then their parent folder
    (``a__clip``, ``b__clip``), then the parent with the suffix, then two parents, and
    so on. If the full paths cannot tell two names apart, later ones get ``-2``,
    ``-3``, ... in list order. The rule depends only on the list, so the same command
    names its outputs the same way every time.

    Args:
        sources: sources as given (paths or URLs), in batch order.

    Returns:
        One name per source, safe as a file name, unique ignoring case.
    """
    every = [_parts(s) for s in sources]
    parts = list(dict.fromkeys(every))        # the same path twice cannot be told apart: numbered below
    levels = [0] * len(parts)
    top = [2 * len(p[0]) + 1 for p in parts]
    while True:
        groups: Dict[str, List[int]] = defaultdict(list)
        for i, p in enumerate(parts):
            groups[_candidate(p, levels[i]).casefold()].append(i)
        clashes = [g for g in groups.values() if len(g) > 1 and any(levels[i] < top[i] for i in g)]
        if not clashes:
            break
        for group in clashes:
            for i in group:
                levels[i] = _next_level(parts[i], levels[i], top[i])
    name = {p: _candidate(p, lv) for p, lv in zip(parts, levels)}
    return _numbered([name[p] for p in every])


def _next_level(parts, level: int, top: int) -> int:
    """The next level that changes the name (a source without suffix skips the suffix steps)."""
    current = _candidate(parts, level)
    while level < top:
        level += 1
        if _candidate(parts, level) != current:
            break
    return level


def _numbered(names: List[str]) -> List[str]:
    seen: Dict[str, int] = {}
    taken = {n.casefold() for n in names}
    out = []
    for n in names:
        key = n.casefold()
        if key not in seen:
            seen[key] = 1
            out.append(n)
            continue
        k = seen[key] + 1
        while f"{n}-{k}".casefold() in taken:
            k += 1
        seen[key] = k
        taken.add(f"{n}-{k}".casefold())
        out.append(f"{n}-{k}")
    return out


# ---------------------------------------------------------------- planning

def plan_jobs(sources: Sequence[str], out_dir: PathLike, *, names: Optional[Sequence[str]] = None,
              render_dir: Optional[PathLike] = None, posetrack2017_dir: Optional[PathLike] = None,
              posetrack2018_dir: Optional[PathLike] = None, coco_dir: Optional[PathLike] = None,
              csv_dir: Optional[PathLike] = None, boxes_dir: Optional[PathLike] = None,
              render_trails: int = 0, posetrack21_dir: Optional[PathLike] = None,
              posetrack21_gt_dir: Optional[PathLike] = None) -> List[Job]:
    """One :class:`Job` per source, every output named ``<name>.<kind>`` in its folder.

    Tracks files are ``out_dir/<name>.tracks.json`` (journal ``<name>.tracks.json.journal``),
    renders ``render_dir/<name>.mp4``, PoseTrack exports ``<dir>/<name>.json`` (the file
    name ``posetrack eval`` pairs with the GT file of the same sequence), COCO results
    ``coco_dir/<name>.json``, CSVs ``csv_dir/<name>.csv``; boxes files are read from
    ``boxes_dir/<name>.json``, the PoseTrack21 GT files whose images the PoseTrack21 exports
    copy from ``posetrack21_gt_dir/<name>.json``.

    Args:
        sources: sources as given, in batch order.
        out_dir: the folder for tracks files and journals.
        names: output names to use instead of :func:`output_names` (must be unique).
        render_dir, posetrack2017_dir, posetrack2018_dir, coco_dir, csv_dir, posetrack21_dir: folders
            for the optional outputs.
        boxes_dir: a folder of COCO detection-results files, one per source.
        render_trails: motion trails drawn in the renders (:class:`~posetrack.pipeline.outputs.Outputs`).
        posetrack21_gt_dir: a folder of PoseTrack21 GT files, one per source (with ``posetrack21_dir``).

    Raises:
        InputError: names that are not unique, or boxes or GT files missing from ``boxes_dir`` or
            ``posetrack21_gt_dir`` (every missing one is named).
    """
    names = list(names) if names is not None else output_names(sources)
    if len({n.casefold() for n in names}) != len(names) or len(names) != len(sources):
        raise InputError(f"output names must be unique, one per source; got {names}")
    out_dir = Path(out_dir)

    def where(folder, name, suffix):
        return None if folder is None else Path(folder) / f"{name}{suffix}"

    jobs = [Job(index=i, name=n, source=str(s),
                outputs=Outputs(out_dir / f"{n}.tracks.json", render=where(render_dir, n, ".mp4"),
                                posetrack2017=where(posetrack2017_dir, n, ".json"),
                                posetrack2018=where(posetrack2018_dir, n, ".json"),
                                coco=where(coco_dir, n, ".json"), csv=where(csv_dir, n, ".csv"),
                                render_trails=render_trails, posetrack21=where(posetrack21_dir, n, ".json"),
                                posetrack21_gt=where(posetrack21_gt_dir, n, ".json")),
                boxes_file=None if boxes_dir is None else str(Path(boxes_dir) / f"{n}.json"))
            for i, (s, n) in enumerate(zip(sources, names))]
    _check_present(boxes_dir, [j.boxes_file for j in jobs], "boxes", "boxes_dir")
    _check_present(posetrack21_gt_dir, [j.outputs.posetrack21_gt for j in jobs], "PoseTrack21 GT", "posetrack21_gt_dir")
    check_jobs(jobs)
    return jobs


def _check_present(folder: Optional[PathLike], files: Sequence[Optional[PathLike]], what: str, field: str) -> None:
    """Every per-source input file of ``folder`` exists; the error names each missing one (up to 5)."""
    missing = [str(f) for f in files if f is not None and not Path(f).is_file()]
    if missing:
        raise InputError(f"{folder}: no {what} file for {len(missing)} of {len(files)} sources "
                         f"(expected <name>.json per source): " + ", ".join(missing[:5])
                         + (", ..." if len(missing) > 5 else ""), field=field)


def check_jobs(jobs: Sequence[Job], inputs: Mapping[str, Optional[PathLike]] = {}) -> None:
    """Refuse a batch whose outputs would overwrite one of its inputs or each other, before any video runs.

    Every output of every job (tracks files and their journals, renders, exports) is
    compared with every other and with every source, boxes file and PoseTrack21 GT file of the batch, and with
    ``inputs`` (files all jobs read: weights, configs; see :func:`posetrack.pipeline.outputs.run_inputs`).
    A batch overwrites its own finished outputs when asked (a rerun resumes them), so
    this is the check that keeps it off everything else.

    Raises:
        PathConflictError: names the path and both settings (:func:`posetrack.io.guard.check_distinct`).
    """
    outputs = [(field, path) for job in jobs for field, path in job.outputs.fields().items()]
    outputs += [("tracks journal", journal_path(job.outputs.tracks)) for job in jobs]
    sources = [("source", job.source) for job in jobs] + [("boxes_file", job.boxes_file) for job in jobs]
    sources += [(field, path) for job in jobs for field, path in job.outputs.inputs().items()]
    check_distinct(outputs, sources + list(inputs.items()))


def job_state(job: Job) -> str:
    """"done" (every output written, tracks complete), "partial" (resume it) or "new".

    A journal, or a tracks file with status "partial", means an earlier attempt was
    interrupted or killed: :func:`run_job` resumes it. A complete tracks file whose
    other requested outputs (render, exports) are missing counts as "new": the video
    is run again to write them.
    """
    tracks = job.outputs.tracks
    if journal_path(tracks).exists():
        return "partial"
    status = tracks_status(tracks) if tracks.exists() else None
    if status == "partial":
        return "partial"
    others = job.outputs.paths()[1:]
    if status == "complete" and all(p.exists() for p in others):
        return "done"
    return "new"


def models_options(opts: RunOptions, jobs: Sequence[Job]) -> RunOptions:
    """The options a worker loads its models with: no detector when every job has a boxes file."""
    if jobs and all(j.boxes_file for j in jobs):
        return dataclasses.replace(opts, boxes_file=jobs[0].boxes_file)
    return opts


# ---------------------------------------------------------------- running one job

def _counts(path: Path) -> Tuple[int, int, int]:
    """(frames, person poses, distinct track ids) of a tracks file (0s when unreadable)."""
    try:
        frames = read_tracks(path).frames
    except (OSError, PosetrackError):
        return 0, 0, 0
    ids = {int(t) for f in frames if f.track_ids is not None for t in f.track_ids}
    return len(frames), sum(len(f) for f in frames), len(ids)


def skipped_result(job: Job) -> VideoResult:
    """The record of a job finished by an earlier run."""
    frames, people, tracks = _counts(job.outputs.tracks)
    return VideoResult(job.index, job.name, job.source, "skipped", frames=frames, people=people, tracks=tracks)


STOPPED = "stopped by Ctrl-C; its journal keeps the finished frames (run the same command again to finish it)"


def interrupted_result(job: Job, worker: str = "", attempt: int = 1) -> VideoResult:
    """The record of a job stopped by Ctrl-C, with the frames its partial output holds."""
    frames, people, tracks = _counts(job.outputs.tracks)
    return VideoResult(job.index, job.name, job.source, "interrupted", frames=frames, people=people, tracks=tracks,
                       error=STOPPED, attempts=attempt, worker=worker)


def run_job(job: Job, opts: RunOptions, models: Optional[Models] = None, *, worker: str = "", attempt: int = 1,
            progress: Optional[Callable[[int, int, float], None]] = None, force: bool = False) -> VideoResult:
    """Run one job here, resuming from its journal when an earlier attempt left one.

    Args:
        job: the source and its outputs.
        opts: pipeline choices shared by the batch (the job's boxes file replaces
            ``opts.boxes_file``).
        models: loaded networks to reuse (:func:`posetrack.pipeline.loading.load_models`).
        worker, attempt: recorded in the result.
        progress: called after every frame with (frames done, frames to do, fps).
        force: run from scratch even when the outputs are finished or partial.

    Returns:
        The video's record: "done", "resumed", "skipped" (finished by an earlier run) or
        "failed" with the error's message. KeyboardInterrupt is not caught (the partial
        output and journal are kept by :func:`posetrack.pipeline.runner.run_video`).
    """
    state = "new" if force else job_state(job)
    if state == "done":
        return dataclasses.replace(skipped_result(job), worker=worker, attempts=attempt)
    if job.boxes_file is not None:
        opts = dataclasses.replace(opts, boxes_file=job.boxes_file)
    t0 = time.perf_counter()
    record = dict(index=job.index, name=job.name, source=job.source, worker=worker, attempts=attempt)
    callback = None if progress is None else (lambda done, total, fps, people: progress(done, total, fps))
    try:
        # "new" may overwrite: a finished video whose render or exports are missing runs again.
        summary = run_video(job.source, job.outputs, opts, models=models, resume=state == "partial",
                            force=state == "new", progress=callback)
    except (PosetrackError, OSError) as e:
        return VideoResult(**record, status="failed", error=_one_line(e), seconds=time.perf_counter() - t0)
    except Exception as e:  # a decoder or library failing on this file must not stop the other videos
        log.debug("%s failed", job.source, exc_info=True)
        return VideoResult(**record, status="failed", seconds=time.perf_counter() - t0,
                           error=f"internal error, a bug in posetrack: {type(e).__name__}: {_one_line(e)}")
    frames, people, tracks = _counts(job.outputs.tracks)
    return VideoResult(**record, status="resumed" if state == "partial" else "done", frames=frames, people=people,
                       tracks=tracks, frames_run=summary.times.frames, seconds=summary.seconds,
                       notes=tuple(summary.notes))


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    text = str(e) or type(e).__name__
    return " ".join(text.split())


# ---------------------------------------------------------------- what every engine shares

def split_done(jobs: Sequence[Job], force: bool, on_event: Optional[Listener]
               ) -> Tuple[Dict[int, VideoResult], List[Job]]:
    """Records of jobs an earlier run finished (reported at once) and the jobs left to run."""
    done: Dict[int, VideoResult] = {}
    todo: List[Job] = []
    for job in jobs:
        if not force and job_state(job) == "done":
            done[job.index] = skipped_result(job)
            if on_event is not None:
                on_event(VideoFinished(done[job.index]))
        else:
            todo.append(job)
    return done, todo


def in_order(jobs: Sequence[Job], results: Dict[int, VideoResult]) -> Tuple[VideoResult, ...]:
    """Every job's record in job order; a job without one is "not run"."""
    return tuple(results.get(j.index) or VideoResult(j.index, j.name, j.source, "not run") for j in jobs)
