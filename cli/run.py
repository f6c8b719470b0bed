"""`posetrack run`: video in, tracked poses out; many videos in, one tracks file each."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Tuple

import click

from . import _posetrack21 as pt21
from ._batch import engine_options
from ._common import CONTEXT, OutputFile, pipeline_options, run_options, stderr_console
from ._errors import UserError
from ._progress import FrameProgress, fetch_weights

log = logging.getLogger("posetrack")

EPILOG = """\b
Examples:
  posetrack run video.mp4 --out tracks.json
  posetrack run video.mp4 --out tracks.json --render annotated.mp4
  posetrack run frames/ --pose-weights posetrack18 --export-posetrack2017 pred/seq.json
  posetrack run video.mp4 --boxes dets.json --tracker none --device cuda --half
  posetrack run video.mp4 --out tracks.json --resume      # after an interrupted run
  posetrack run video.mp4 --out tracks.json --force       # overwrite an earlier run's outputs
  posetrack run video.mp4 --detect-every 2                # detector on every 2nd frame
  posetrack run duet.mp4 --max-tracks 2                   # two dancers: never more than two ids
  posetrack run video.mp4 --export-coco results.json --export-csv people.csv
  posetrack run 000342_mpii_test/ --export-posetrack21 pred/000342_mpii_test.json --gt gt/000342_mpii_test.json
  posetrack run video.mp4 --export-mot mot.txt --export-coco-dataset cvat.json --export-sleap clip.slp
  posetrack run video.mp4 --boxes det.txt                  # MOTChallenge boxes (format told from content)
  posetrack run 0 --out webcam.tracks.json --render webcam.mp4 --end 300   # camera 0, 300 frames
  posetrack run rtsp://camera.local/stream --out cam.tracks.json          # Ctrl-C to stop

\b
Many videos (one tracks file per source in --out-dir; run the same command again to
finish an interrupted batch):
  posetrack run clips/*.mp4 --out-dir tracks/
  posetrack run videos.txt --out-dir tracks/ --workers 2          # a list file, 2 processes
  posetrack run PoseTrack/images/val --out-dir out/ --export-posetrack2018 pred/
  posetrack run clips/ --out-dir out/ --engine ray --address auto  # a running Ray cluster
"""

_PER_SOURCE = "; with --out-dir, a folder of <name>"


def frame_range_options(command):
    """--start, --end, --stride: the library's frame range (its defaults and bounds)."""
    from posetrack.pipeline.options import INT_RANGES, FrameRange

    d = FrameRange()
    options = [
        click.option("--start", type=click.IntRange(min=INT_RANGES["start"][0]), default=d.start, show_default=True,
                     help="First frame (0-based)."),
        click.option("--end", type=click.IntRange(min=INT_RANGES["end"][0]), default=d.end,
                     help="Stop before this frame."),
        click.option("--stride", type=click.IntRange(*INT_RANGES["stride"]), default=d.stride, show_default=True,
                     help="Process every N-th frame."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("run", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@pipeline_options
@click.option("-o", "--out", type=OutputFile(), default=None,
              help="Tracks file to write (JSON), one source only.  [default: SOURCE's whole stem + .tracks.json]")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="One tracks file per source here, <name>.tracks.json; names never collide (README).")
@frame_range_options
@click.option("--render", "render_out", type=click.Path(path_type=Path), default=None,
              help="Also write an annotated H.264 MP4 while running (no second decode)" + _PER_SOURCE + ".mp4.")
@click.option("--trails", "render_trails", type=click.IntRange(min=0), default=0, metavar="N",
              help="With --render: draw where each person walked over the last N frames, as `render --trails`.")
@click.option("--export-posetrack2017", "export17", type=click.Path(path_type=Path), default=None,
              help="Also write a PoseTrack 2017 (annolist) prediction file" + _PER_SOURCE + ".json.")
@click.option("--export-posetrack2018", "export18", type=click.Path(path_type=Path), default=None,
              help="Also write a PoseTrack 2018 (COCO-style) prediction file" + _PER_SOURCE + ".json.")
@click.option("--export-coco", "export_coco", type=click.Path(path_type=Path), default=None,
              help="Also write COCO keypoint results (JSON list; image_id = 0-based frame index)" + _PER_SOURCE
                   + ".json.")
@click.option("--export-csv", "export_csv", type=click.Path(path_type=Path), default=None,
              help="Also write a CSV with one row per person and frame (box, score, x/y/score per joint)"
                   + _PER_SOURCE + ".csv.")
@click.option("--export-mot", "export_mot", type=OutputFile(), default=None,
              help="Also write MOTChallenge text (frame,id,x,y,w,h,conf,-1,-1,-1; frames from 1), one source only.")
@click.option("--export-coco-dataset", "export_coco_dataset", type=OutputFile(),
              default=None, help="Also write a COCO keypoints dataset with track_id attributes (CVAT imports the "
                                 "tracks), one source only.")
@click.option("--export-sleap", "export_sleap", type=OutputFile(), default=None,
              help="Also write a SLEAP .slp or NWB .nwb file (needs posetrack[sleap]), one source only.")
@pt21.posetrack21_options
@click.option("--boxes-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="With --out-dir: precomputed boxes, one COCO detection-results file <name>.json per source.")
@engine_options
@click.option("--max-tracks", type=click.IntRange(min=1), default=None, metavar="N",
              help="Never more than N identities (you know how many people are in the scene): a newcomer then "
                   "takes the id of the free identity it looks most like.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run (same options): finished frames are kept, the result is the file an "
                   "uninterrupted run writes (not for cameras and streams; with --out-dir a rerun always resumes).")
@click.option("--force", is_flag=True, help="Overwrite existing outputs (and an interrupted run's journal).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(sources: Tuple[str, ...], out: Optional[Path], out_dir: Optional[Path], render_out: Optional[Path],
        export17: Optional[Path], export18: Optional[Path], export_coco: Optional[Path], export_csv: Optional[Path],
        export_mot: Optional[Path], export_coco_dataset: Optional[Path], export_sleap: Optional[Path],
        boxes_dir: Optional[Path], engine: str, workers: Optional[int], gpus_per_worker: Optional[float],
        cpus_per_worker: Optional[int], address: Optional[str], threads: Optional[int], resume: bool, force: bool,
        quiet: bool,
        **opts) -> None:
    """Detect people, estimate their keypoints with HRNet and track them (FlowTrack).

    SOURCE is a video file, a folder of images (natural sort order), a camera index (0)
    or a stream URL (rtsp://, http(s)://, ...). The output is a tracks JSON file (schema
    in the README). Existing outputs are never overwritten without --resume or --force.
    Every finished frame is journaled, so Ctrl-C leaves a valid file and `--resume`
    completes a killed run exactly as if it had not stopped. Cameras and streams run until
    they end, --end, or Ctrl-C, and cannot be resumed.

    Several SOURCEs (paths, glob patterns, a .txt list of sources, a folder of videos, a
    folder of image sequences) run as one batch into --out-dir, on the local engine or on
    Ray, with a summary table at the end.
    """
    from posetrack.io.source_list import expand_sources
    from posetrack.io.video import is_live

    if resume and force:
        raise click.UsageError("--resume keeps the finished frames and --force discards them; give one")
    if opts.get("render_trails") and render_out is None:
        raise click.UsageError("--trails draws into the annotated video: give --render too")
    live = len(sources) == 1 and is_live(sources[0])
    items = list(sources) if live else expand_sources(sources)
    opts["posetrack21"] = pt21.pop_options(opts)     # (--export-posetrack21, --gt): Outputs.posetrack21(_gt)
    folders = {"--render": render_out, "--export-posetrack2017": export17, "--export-posetrack2018": export18,
               "--export-coco": export_coco, "--export-csv": export_csv, "--export-posetrack21": opts["posetrack21"][0]}
    targets = {"mot": export_mot, "coco_dataset": export_coco_dataset, "sleap": export_sleap}
    if out_dir is not None or len(items) > 1:
        if any(targets.values()):
            raise click.UsageError("--export-mot, --export-coco-dataset and --export-sleap apply to one source; "
                                   "convert each tracks file with `posetrack convert`")
        _check_batch_args(items, out, out_dir, opts, folders)
        opts["force"] = force
        return _run_many(items, out_dir, render_out, export17, export18, export_coco, export_csv, boxes_dir,
                         dict(engine=engine, workers=workers, gpus_per_worker=gpus_per_worker,
                              cpus_per_worker=cpus_per_worker, address=address, threads=threads),
                         quiet, opts)
    if boxes_dir is not None or engine != "local" or workers or gpus_per_worker is not None or cpus_per_worker \
            or address:
        raise click.UsageError("--boxes-dir, --engine, --workers, --gpus-per-worker, --cpus-per-worker and "
                               "--address apply to batch runs: give --out-dir")
    opts["threads"] = threads
    _run_one(items[0] if live else Path(items[0]), out, render_out, export17, export18, export_coco, export_csv,
             resume, force, quiet, opts, targets)


def _run_one(source, out: Optional[Path], render_out, export17, export18, export_coco, export_csv, resume: bool,
             force: bool, quiet: bool, opts: dict, targets: Optional[dict] = None) -> None:
    """One source into one tracks file (and its optional outputs), with a progress bar and a stage summary."""
    from posetrack.errors import OutputExistsError
    from posetrack.pipeline.batch import default_tracks_path
    from posetrack.pipeline.engines import use_threads
    from posetrack.pipeline.outputs import Outputs
    from posetrack.pipeline.runner import run_video

    if out is None and not isinstance(source, Path):
        raise click.UsageError(f"{source} is a camera or stream: give the tracks file to write with --out")
    out = out or default_tracks_path(source)
    export21, gt21 = opts.pop("posetrack21")
    pt21.check_single(gt21)
    outputs = Outputs(out, render=render_out, posetrack2017=export17, posetrack2018=export18, coco=export_coco,
                      csv=export_csv, render_trails=opts.pop("render_trails", 0), posetrack21=export21,
                      posetrack21_gt=gt21, **(targets or {}))
    threads = opts.pop("threads", None)
    run_opts = run_options(opts)
    _check_boxes([(source, run_opts.models.boxes_file)], run_opts.models.boxes_format)
    fetch_weights(run_opts, quiet)     # every missing weights file at once, before anything is written
    if not quiet:                      # after the weights: a run that cannot start says so, not how long it takes
        _cpu_warning(source, run_opts)
    ctx = click.get_current_context()
    if isinstance(source, Path):  # cameras and streams cannot be resumed
        ctx.ensure_object(dict)["interrupt_hint"] = lambda: _interrupt_advice(ctx, source, out)
    loop = {"fps": None}        # frames computed per second since the first frame, as the library counts them

    def progress(done: int, total: Optional[int], fps: float, people: int) -> None:
        loop["fps"] = fps
        bar(done, total, f"{people} people", rate=fps if total is not None and done >= total else None)

    try:
        with FrameProgress("frames", enabled=not quiet) as bar, use_threads(threads):
            summary = run_video(source, outputs, run_opts, resume=resume, force=force, progress=progress)
    except OutputExistsError as e:
        if e.resumable:
            raise UserError(f"{e.path}: an interrupted run's output; continue it with --resume "
                            "(same options) or overwrite it with --force") from e
        raise UserError(f"{e.path}: already exists; overwrite it with --force or choose another name") from e
    _print_summary(summary, out, loop["fps"], run_opts)


def _cpu_warning(source, opts) -> None:
    """On a CPU with slow settings (the default W48 and detector): the expected time and the faster settings."""
    from posetrack.io.video import open_source
    from posetrack.models.devices import resolve_device
    from posetrack.pipeline.configs import detector_config
    from posetrack.pipeline.cpu_estimate import FASTER, cpu_estimate, format_duration

    if not resolve_device(opts.runtime.device).startswith("cpu"):
        return
    import torch

    models, frames = opts.models, opts.frames
    detector = detector_config(models, opts.runtime)
    detector = None if detector is None else detector.name
    with open_source(source, start=frames.start, end=frames.end, stride=frames.stride) as src:
        count = None if src.indices is None else len(src.indices)
    e = cpu_estimate(models.pose_model, models.flip, detector, opts.tracking.detect_every, frames=count,
                     cores=torch.get_num_threads())
    if e is None or not e.slow:
        return
    what = f"{models.pose_model}{' with the flip test' if models.flip else ''}" + \
        (f" and {detector}" if detector else "")
    total = e.total()
    span = "" if total is None else (f": this run's {e.frames} frames, about {format_duration(total[0])} "
                                     f"({e.cores} cores) to {format_duration(total[1])} (one)")
    click.echo(f"On the CPU, {what} take about {e.seconds_per_frame:.1f} s per frame with one person "
               f"(+{e.seconds_per_person:.1f} s per more person) on one core{span}.", err=True)
    flags = (f"--pose-model {FASTER['pose_model']} {'--flip' if FASTER['flip'] else '--no-flip'} "
             f"--detector {FASTER['detector_name']} --detect-every {FASTER['detect_every']}")
    click.echo(f"Faster: {flags} (about {e.faster_seconds_per_frame:.2f} s per frame; some accuracy is lost, "
               "README: Installing on a CPU-only machine).", err=True)


def _check_boxes(pairs, boxes_format: Optional[str]) -> None:
    """Boxes files read and checked (scores, boxes, keys) before any weights are fetched or loaded.

    ``pairs`` are (source, boxes file or None). Another tool's boxes are placed as the run places them,
    by the source's frame size (normalised Ultralytics labels) and an image folder's names; where the
    source is a camera or stream, or cannot be opened (a batch reports it and goes on), they are left
    to the run.
    """
    from posetrack.errors import SourceError
    from posetrack.io.video import is_live
    from posetrack.pose.detector import boxes_file_format, load_boxes
    from posetrack.tracksfile.foreign import video_facts

    for source, path in pairs:
        if not path:
            continue
        fmt = boxes_format or boxes_file_format(path)
        if fmt == "coco":
            load_boxes(path, input_format=fmt)
            continue
        if is_live(str(source)):
            continue
        try:
            info, names = video_facts(source)
        except (SourceError, OSError):
            continue
        load_boxes(path, frame_size=(info.width, info.height), input_format=fmt, image_names=names)


def _interrupt_advice(ctx: click.Context, source: Path, out: Path) -> str:
    """After Ctrl-C: the --resume command when the run journaled something, else that nothing was kept."""
    from posetrack.tracksfile.journal import journal_path

    if journal_path(out).exists():
        return f"Continue with: {_resume_command(ctx, source, out)}"
    if out.exists():     # the tracks file was finished; an export or the render after it was not
        return (f"Interrupted after {out} was finished, before the other outputs were written: run the command "
                "again with --force to write them all.")
    return "Interrupted before the first frame was finished: nothing to keep or resume; run the command again."


def _resume_command(ctx: click.Context, source: Path, out: Path) -> str:
    """The command line that resumes this run: the options given, plus --resume."""
    import shlex

    from click.core import ParameterSource

    parts = ["posetrack", "run", shlex.quote(str(source)), "--out", shlex.quote(str(out))]
    for param in ctx.command.params:
        if (not isinstance(param, click.Option) or param.name in ("out", "resume", "force")
                or ctx.get_parameter_source(param.name) != ParameterSource.COMMANDLINE):
            continue
        value, name = ctx.params[param.name], max(param.opts, key=len)
        if param.is_flag and param.secondary_opts:
            parts.append(name if value else max(param.secondary_opts, key=len))
        elif param.is_flag:
            parts += [name] if value else []
        else:
            parts += [name, shlex.quote(str(value))]
    return " ".join(parts + ["--resume"])


def _check_batch_args(items, out: Optional[Path], out_dir: Optional[Path], opts: dict, folders: dict) -> None:
    """Usage errors of a batch: no --out-dir, --out or --boxes (one video's), a file name where a folder goes."""
    if out_dir is None:
        raise click.UsageError(f"{len(items)} sources: give --out-dir (one tracks file per source goes there)")
    if out is not None:
        raise click.UsageError("--out names one tracks file; with --out-dir each source gets <name>.tracks.json")
    if opts.get("boxes_file"):
        raise click.UsageError("--boxes holds one video's boxes; for a batch use --boxes-dir (<name>.json per source)")
    for flag, folder in folders.items():
        if folder is not None and folder.suffix.lower() in (".mp4", ".json", ".csv") and not folder.is_dir():
            raise click.UsageError(f"{flag} {folder}: with --out-dir it names a folder (one file per source)")


def _run_many(items, out_dir: Path, render_dir, export17, export18, coco_dir, csv_dir, boxes_dir, engine_opts: dict,
              quiet: bool, opts: dict) -> None:
    """A batch: plan the jobs, run them on the engine with one progress display, print the summary."""
    from posetrack.pipeline.batch import check_jobs, models_options, plan_jobs
    from posetrack.pipeline.outputs import run_inputs

    from ._batch import BatchProgress, make_engine, print_summary

    force = bool(opts.pop("force", False))
    export21, gt21 = opts.pop("posetrack21")
    pt21.check_batch(gt21)
    jobs = plan_jobs(items, out_dir, render_dir=render_dir, posetrack2017_dir=export17,
                     posetrack2018_dir=export18, coco_dir=coco_dir, csv_dir=csv_dir, boxes_dir=boxes_dir,
                     render_trails=opts.pop("render_trails", 0), posetrack21_dir=export21, posetrack21_gt_dir=gt21)
    run_opts = run_options(opts)     # --device checked before an engine starts
    runner = make_engine(**engine_opts)
    check_jobs(jobs, run_inputs(None, run_opts))     # weights and configs too, before any video starts
    _check_boxes([(job.source, job.boxes_file) for job in jobs], run_opts.models.boxes_format)
    fetch_weights(models_options(run_opts, jobs), quiet)    # every missing weights file, before any video starts
    click.get_current_context().ensure_object(dict)["interrupt_hint"] = (
        "Run the same command again to finish: finished videos are skipped, partial ones resume.")
    with BatchProgress(len(jobs), enabled=not quiet) as bar:
        result = runner.run(jobs, run_opts, on_event=bar, force=force)
    print_summary(result, str(out_dir))
    if result.interrupted:
        raise KeyboardInterrupt
    if result.failed:
        raise UserError(f"{len(result.failed)} of {len(jobs)} videos failed (listed above); the others are done")


def _print_summary(summary, out: Path, loop_fps: Optional[float], opts) -> None:
    """The stage table. Its "frames" row is the rate the progress bar ended on (frames computed per second
    from the first frame on); "with start-up" adds opening the source and loading the models."""
    from rich.table import Table

    t = summary.times
    resumed = f" ({summary.resumed} kept from the interrupted run, {t.frames} computed now)" if summary.resumed else ""
    tracked = opts.tracking.tracked
    people = f"{summary.tracks} tracks" if tracked else f"{summary.poses} poses (untracked)"
    # Plain lines, not the table's title and caption: a path is never wrapped, nor read as markup.
    click.echo(f"{summary.frames} frames{resumed}, {people} -> {out}", err=True)
    dropped = _all_dropped(summary, opts) if tracked else None
    if dropped:
        click.secho(dropped, fg="yellow", err=True)
    table = Table()
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("rate", justify="right")
    rate = FrameProgress._format_rate          # the bar's own format: fps, or s/frame below one frame a second
    for stage in ("decode", "detect", "flow", "pose", "track"):
        sec = getattr(t, stage)
        table.add_row(stage, f"{sec:.2f}", rate(t.fps(stage)) if sec > 0 and t.frames else "-")
    if loop_fps:
        table.add_row("frames", f"{t.frames / loop_fps:.2f}", rate(loop_fps))
    table.add_row("with start-up", f"{summary.seconds:.2f}",
                  rate(t.frames / summary.seconds) if t.frames and summary.seconds > 0 else "-")
    stderr_console().print(table)
    click.echo(f"this call: {t.people} poses, {t.pose_calls} pose calls", err=True)
    for line in summary.notes:
        click.secho(line, fg="yellow", err=True)


def _all_dropped(summary, opts) -> Optional[str]:
    """Why a run that estimated poses wrote no track: the tracker's score thresholds left every one out.

    Counted from the summary alone. Boxes scoring below ``box_score`` are dropped before pose
    estimation (:class:`posetrack.pipeline.frames.Pipeline`), so every estimated pose (``pose_crops``)
    passed it; with no track in the file and no refinement (which may remove tracks), each was left
    out by the tracker for having no joint above ``joint_score``, or a box score below ``start_score``
    where a track must start (:meth:`posetrack.tracking.tracker.PoseTracker.update`).
    """
    from posetrack.pipeline.configs import run_tracking

    found = summary.times.pose_crops
    if summary.tracks or not found or opts.tracking.refine:
        return None
    cfg, _ = run_tracking(opts.tracking)
    start = (f" or a box score below {cfg.start_score:g} (start_score, needed to start a track)"
             if cfg.start_score is not None and cfg.start_score > cfg.box_score else "")
    return (f"All {found} poses estimated{' this call' if summary.resumed else ''} were dropped by the tracker "
            f"({cfg.preset or 'custom'} preset): each had no joint above {cfg.joint_score:g} (joint_score){start}. "
            "Change these in the tracker: section of a --tracker-config YAML, or keep every pose with --tracker none.")
