"""`posetrack run`: video in, tracked poses out."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import click

from ._common import CONTEXT

log = logging.getLogger("posetrack")

EPILOG = """\b
Examples:
  posetrack run video.mp4 --out tracks.json
  posetrack run video.mp4 --out tracks.json --render annotated.mp4
  posetrack run frames/ --pose-weights posetrack18 --export-posetrack2017 pred/seq.json
  posetrack run video.mp4 --boxes dets.json --tracker none --device cuda --half
  posetrack run video.mp4 --out tracks.json --resume      # after an interrupted run
"""


def pipeline_options(command):
    """The detector / pose / tracker options `run` and `eval --dataset-root` share."""
    for option in reversed(_PIPELINE_OPTIONS):
        command = option(command)
    return command


_PIPELINE_OPTIONS = [
    click.option("--pose-model", default="w48_384x288", show_default=True,
              help="Pose model config (see `posetrack models`) or a YAML path."),
    click.option("--pose-weights", default=None,
              help="Weights: a name from the model config (coco, posetrack18), a .pth/.safetensors file or a URL."
                   "  [default: the config's default, coco]"),
    click.option("--detector", "detector_name", default=None,
              help="torchvision detector name.  [default: from configs/detector.yaml]"),
    click.option("--detector-weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local detector weights (offline use)."),
    click.option("--boxes", "boxes_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Precomputed boxes: a COCO detection-results JSON (image_id = 0-based frame). No detector is loaded."),
    click.option("--tracker", "tracker_mode", default=None, metavar="PRESET|none",
              help="Tracker preset of --tracker-config: robust or flowtrack (the paper); `none` saves "
                   "untracked poses.  [default: robust]"),
    click.option("--refine", is_flag=True,
                 help="Refine the finished file offline: stitch fragments, interpolate short gaps "
                      "(marked \"interpolated\"), drop short tracks (the preset's refine settings)."),
    click.option("--tracker-config", default="tracker", show_default=True,
              help="Tracker settings: a config name or a YAML path."),
    click.option("--matching", type=click.Choice(["greedy", "hungarian"]), default=None,
              help="Override the tracker's matching.  [default: greedy, as the paper]"),
    click.option("--flow", "flow_method", type=click.Choice(["dis", "raft", "none"]), default=None,
              help="Optical flow for propagation and similarity.  [default: dis]"),
    click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
    click.option("--half", is_flag=True, help="float16 pose network on GPU."),
    click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Person crops per pose forward pass."),
    click.option("--frame-batch", type=click.IntRange(min=1), default=8, show_default=True,
              help="Frames decoded, detected and estimated together."),
    click.option("--flip/--no-flip", default=True, show_default=True, help="Flip test (official setting)."),
    click.option("--decode", type=click.Choice(["argmax", "dark"]), default="argmax", show_default=True,
              help="Heatmap decoding: official argmax + quarter offset, or DARK."),
]


@click.command("run", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("source", type=click.Path(exists=True, path_type=Path))
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
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its journal / partial output.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(source: Path, out: Optional[Path], **opts) -> None:
    """Detect people, estimate their keypoints with HRNet and track them (FlowTrack).

    SOURCE is a video file or a folder of images (natural sort order). The output is a
    tracks JSON file (schema in the README). Every finished frame is journaled, so
    Ctrl-C leaves a valid file and `--resume` completes a killed run.
    """
    from posetrack.runner import RunOptions, run_video

    out = out or source.with_name(source.name.rstrip("/").split(".")[0] + ".tracks.json")
    options = RunOptions(**opts)
    progress = None if opts["quiet"] else _Progress()
    try:
        summary = run_video(source, out, options, progress=progress)
    finally:
        if progress is not None:
            progress.stop()
    _print_summary(summary, out)


class _Progress:
    """A rich progress bar fed by the runner's callback."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[fps]:>5.1f} fps"), TextColumn("{task.fields[people]} people"),
                             TimeRemainingColumn(), transient=False)
        self._task = None

    def __call__(self, done: int, total: int, fps: float, people: int) -> None:
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task("frames", total=total, fps=0.0, people=0)
        self._bar.update(self._task, completed=done, fps=fps, people=people)

    def stop(self) -> None:
        if self._task is not None:
            self._bar.stop()


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
    table.add_row("total", f"{summary.seconds:.2f}", f"{summary.frames / max(summary.seconds, 1e-9):.1f}")
    Console(stderr=True).print(table)
    for line in summary.notes:
        click.secho(line, fg="yellow", err=True)
