"""`posetrack run`: video in, tracked poses out."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import click

from ._common import CONTEXT, FrameProgress, UserError, fetch_weights, pipeline_options, run_options
from ._sources import SourceParam

log = logging.getLogger("posetrack")

EPILOG = """\b
Examples:
  posetrack run video.mp4 --out tracks.json
  posetrack run video.mp4 --out tracks.json --render annotated.mp4
  posetrack run frames/ --pose-weights posetrack18 --export-posetrack2017 pred/seq.json
  posetrack run video.mp4 --boxes dets.json --tracker none --device cuda --half
  posetrack run video.mp4 --out tracks.json --resume      # after an interrupted run
  posetrack run video.mp4 --export-coco results.json --export-csv people.csv
  posetrack run 0 --out webcam.tracks.json --render webcam.mp4 --end 300   # camera 0, 300 frames
  posetrack run rtsp://camera.local/stream --out cam.tracks.json          # Ctrl-C to stop
  posetrack run video.mp4 --out tracks.json --force       # overwrite an earlier run's outputs
  posetrack run video.mp4 --detect-every 2                # detector on every 2nd frame
"""


@click.command("run", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("source", type=SourceParam())
@pipeline_options
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Tracks file to write (JSON).  [default: SOURCE name + .tracks.json]")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True, help="First frame (0-based).")
@click.option("--end", type=click.IntRange(min=1), default=None, help="Stop before this frame.")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True, help="Process every N-th frame.")
@click.option("--render", "render_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an annotated H.264 MP4 while running (no second decode).")
@click.option("--export-posetrack2017", "export17", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a PoseTrack 2017 (annolist) prediction file.")
@click.option("--export-posetrack2018", "export18", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a PoseTrack 2018 (COCO-style) prediction file.")
@click.option("--export-coco", "export_coco", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write COCO keypoint results (JSON list; image_id = 0-based frame index).")
@click.option("--export-csv", "export_csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a CSV with one row per person and frame (box, score, x/y/score per joint).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted run (same options): finished frames are kept, the result is "
                   "the file an uninterrupted run writes (not for cameras and streams).")
@click.option("--force", is_flag=True, help="Overwrite existing outputs (and an interrupted run's journal).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(source, out: Optional[Path], render_out: Optional[Path], export17: Optional[Path],
        export18: Optional[Path], export_coco: Optional[Path], export_csv: Optional[Path], resume: bool, force: bool,
        quiet: bool, **opts) -> None:
    """Detect people, estimate their keypoints with HRNet and track them (FlowTrack).

    SOURCE is a video file, a folder of images (natural sort order), a camera index (0)
    or a stream URL (rtsp://, http(s)://, ...). The output is a tracks JSON file (schema
    in the README). Existing outputs are never overwritten without --resume or --force.
    Every finished frame is journaled, so Ctrl-C leaves a valid file and `--resume`
    completes a killed run exactly as if it had not stopped. Cameras and streams run until
    they end, --end, or Ctrl-C, and cannot be resumed.
    """
    from posetrack.errors import OutputExistsError
    from posetrack.runner import Outputs, run_video

    if resume and force:
        raise click.UsageError("--resume keeps the finished frames and --force discards them; give one")
    if out is None and not isinstance(source, Path):
        raise click.UsageError(f"{source} is a camera or stream: give the tracks file to write with --out")
    out = out or source.with_name(source.name.rstrip("/").split(".")[0] + ".tracks.json")
    outputs = Outputs(out, render=render_out, posetrack2017=export17, posetrack2018=export18, coco=export_coco,
                      csv=export_csv)
    run_opts = run_options(opts)
    fetch_weights(run_opts, quiet)     # every missing weights file at once, before anything is written
    ctx = click.get_current_context()
    if isinstance(source, Path):  # cameras and streams cannot be resumed
        ctx.ensure_object(dict)["interrupt_hint"] = f"Continue with: {_resume_command(ctx, source, out)}"
    try:
        with FrameProgress("frames", enabled=not quiet) as bar:
            summary = run_video(source, outputs, run_opts, resume=resume, force=force,
                                progress=lambda done, total, fps, people: bar(done, total, f"{people} people"))
    except OutputExistsError as e:
        if e.resumable:
            raise UserError(f"{e.path}: an interrupted run's output; continue it with --resume "
                            "(same options) or overwrite it with --force") from e
        raise UserError(f"{e.path}: already exists; overwrite it with --force or choose another name") from e
    _print_summary(summary, out)


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


def _print_summary(summary, out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    t = summary.times
    resumed = f" ({summary.resumed} kept from the interrupted run, {t.frames} computed now)" if summary.resumed else ""
    table = Table(title=f"{summary.frames} frames{resumed}, {summary.tracks} tracks -> {out}",
                  caption=f"this call: {t.people} poses, {t.pose_calls} pose calls")
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
