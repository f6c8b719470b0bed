"""`posetrack run`: video in, tracked poses out; many videos on an engine (local processes or Ray)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Tuple

import click

from ._batch import engine_options
from ._common import CONTEXT, FrameProgress, pipeline_options, run_options

log = logging.getLogger("posetrack")

EPILOG = """\b
Examples:
  posetrack run video.mp4 --out tracks.json
  posetrack run video.mp4 --out tracks.json --render annotated.mp4
  posetrack run frames/ --pose-weights posetrack18 --export-posetrack2017 pred/seq.json
  posetrack run video.mp4 --boxes dets.json --tracker none --device cuda --half
  posetrack run video.mp4 --out tracks.json --resume      # after an interrupted run

\b
Many videos (one tracks file per source in --out-dir; run the same command again to
finish an interrupted batch):
  posetrack run clips/*.mp4 --out-dir tracks/
  posetrack run videos.txt --out-dir tracks/ --workers 2          # a list file, 2 processes
  posetrack run PoseTrack/images/val --out-dir out/ --export-posetrack2018 pred/
  posetrack run clips/ --out-dir out/ --engine ray --address auto  # a running Ray cluster
"""


@click.command("run", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@pipeline_options
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Tracks file to write (JSON), one source only.  [default: SOURCE's whole stem + .tracks.json]")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="One tracks file per source here, <name>.tracks.json; names never collide (README).")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True, help="First frame (0-based).")
@click.option("--end", type=click.IntRange(min=1), default=None, help="Stop before this frame.")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True, help="Process every N-th frame.")
@click.option("--render", "render_out", type=click.Path(path_type=Path), default=None,
              help="Also write an annotated H.264 MP4 while running (no second decode); with --out-dir, "
                   "a folder of <name>.mp4.")
@click.option("--export-posetrack2017", "export17", type=click.Path(path_type=Path), default=None,
              help="Also write a PoseTrack 2017 (annolist) prediction file; with --out-dir, a folder of <name>.json.")
@click.option("--export-posetrack2018", "export18", type=click.Path(path_type=Path), default=None,
              help="Also write a PoseTrack 2018 (COCO-style) prediction file; with --out-dir, a folder of <name>.json.")
@click.option("--boxes-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="With --out-dir: precomputed boxes, one COCO detection-results file <name>.json per source.")
@engine_options
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its journal / partial output "
                                             "(with --out-dir this is what a rerun always does).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(sources: Tuple[str, ...], out: Optional[Path], out_dir: Optional[Path], render_out: Optional[Path],
        export17: Optional[Path], export18: Optional[Path], boxes_dir: Optional[Path], engine: str,
        workers: Optional[int], gpus_per_worker: Optional[float], cpus_per_worker: Optional[int],
        address: Optional[str], resume: bool, quiet: bool, **opts) -> None:
    """Detect people, estimate their keypoints with HRNet and track them (FlowTrack).

    SOURCE is a video file or a folder of images (natural sort order). The output is a
    tracks JSON file (schema in the README). Every finished frame is journaled, so
    Ctrl-C leaves a valid file and `--resume` completes a killed run.

    Several SOURCEs (paths, glob patterns, a .txt list of sources, a folder of videos, a
    folder of image sequences) run as one batch into --out-dir, on the local engine or on
    Ray, with a summary table at the end.
    """
    from posetrack.source_list import expand_sources

    items = expand_sources(sources)
    if out_dir is not None or len(items) > 1:
        _check_batch_args(items, out, out_dir, opts, {"--render": render_out, "--export-posetrack2017": export17,
                                                      "--export-posetrack2018": export18})
        return _run_many(items, out_dir, render_out, export17, export18, boxes_dir,
                         dict(engine=engine, workers=workers, gpus_per_worker=gpus_per_worker,
                              cpus_per_worker=cpus_per_worker, address=address),
                         quiet, opts)
    if boxes_dir is not None or engine != "local" or workers or gpus_per_worker is not None or cpus_per_worker \
            or address:
        raise click.UsageError("--boxes-dir, --engine, --workers, --gpus-per-worker, --cpus-per-worker and "
                               "--address apply to batch runs: give --out-dir")
    source = Path(items[0])
    from posetrack.batch import default_tracks_path
    from posetrack.runner import Outputs, run_video

    out = out or default_tracks_path(source)
    outputs = Outputs(out, render=render_out, posetrack2017=export17, posetrack2018=export18)
    click.get_current_context().ensure_object(dict)["interrupt_hint"] = (
        f"Continue with: posetrack run {source} --out {out} --resume")
    with FrameProgress("frames", enabled=not quiet) as bar:
        summary = run_video(source, outputs, run_options(opts), resume=resume,
                            progress=lambda done, total, fps, people: bar(done, total, f"{people} people"))
    _print_summary(summary, out)


def _check_batch_args(items, out: Optional[Path], out_dir: Optional[Path], opts: dict, folders: dict) -> None:
    """Usage errors of a batch: no --out-dir, --out or --boxes (one video's), a file name where a folder goes."""
    if out_dir is None:
        raise click.UsageError(f"{len(items)} sources: give --out-dir (one tracks file per source goes there)")
    if out is not None:
        raise click.UsageError("--out names one tracks file; with --out-dir each source gets <name>.tracks.json")
    if opts.get("boxes_file"):
        raise click.UsageError("--boxes holds one video's boxes; for a batch use --boxes-dir (<name>.json per source)")
    for flag, folder in folders.items():
        if folder is not None and folder.suffix.lower() in (".mp4", ".json") and not folder.is_dir():
            raise click.UsageError(f"{flag} {folder}: with --out-dir it names a folder (one file per source)")


def _run_many(items, out_dir: Path, render_dir, export17, export18, boxes_dir, engine_opts: dict, quiet: bool,
              opts: dict) -> None:
    """A batch: plan the jobs, run them on the engine with one progress display, print the summary."""
    from posetrack.batch import plan_jobs

    from ._batch import BatchProgress, make_engine, print_summary
    from ._common import UserError

    jobs = plan_jobs(items, out_dir, render_dir=render_dir, posetrack2017_dir=export17,
                     posetrack2018_dir=export18, boxes_dir=boxes_dir)
    runner = make_engine(**engine_opts)
    click.get_current_context().ensure_object(dict)["interrupt_hint"] = (
        "Run the same command again to finish: finished videos are skipped, partial ones resume.")
    with BatchProgress(len(jobs), enabled=not quiet) as bar:
        result = runner.run(jobs, run_options(opts), on_event=bar, force=bool(opts.get("force")))
    print_summary(result, str(out_dir))
    if result.interrupted:
        raise KeyboardInterrupt
    if result.failed:
        raise UserError(f"{len(result.failed)} of {len(jobs)} videos failed (listed above); the others are done")


def _print_summary(summary, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    t = summary.times
    table = Table(title=f"{summary.frames} frames, {summary.tracks} tracks, {t.people} poses -> {out}")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("fps", justify="right")
    for stage in ("decode", "detect", "flow", "pose", "track"):
        sec = getattr(t, stage)
        table.add_row(stage, f"{sec:.2f}", f"{t.fps(stage):.1f}" if sec > 0 else "-")
    table.add_row("total", f"{summary.seconds:.2f}", f"{t.frames / max(summary.seconds, 1e-9):.1f}")
    Console(stderr=True).print(table)
    for line in summary.notes:
        click.secho(line, fg="yellow", err=True)
