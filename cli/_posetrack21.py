"""`run` and `track` --export-posetrack21: PoseTrack21 prediction files the official kit reads as they are.

The export is one of the run's outputs (:class:`posetrack.pipeline.outputs.Outputs` ``posetrack21``,
its GT file ``posetrack21_gt``), written with the others once the tracks are done; a bad GT file fails
before any frame is processed. This module adds the two options and their usage rules.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

__all__ = ["posetrack21_options", "pop_options", "check_single", "check_batch"]


def posetrack21_options(command):
    """The ``--export-posetrack21`` and ``--gt`` options."""
    command = click.option(
        "--gt", "posetrack21_gt", type=click.Path(exists=True, path_type=Path), default=None,
        help="With --export-posetrack21: the sequence's PoseTrack21 GT file (with --out-dir, a folder of <name>.json); "
             "its image ids and names are copied, frame k of the video is its k-th image. Without it, ids follow "
             "PoseTrack's rule 10000000000 + 10000 x video number + frame.")(command)
    return click.option(
        "--export-posetrack21", "export21", type=click.Path(path_type=Path), default=None,
        help="Also write a PoseTrack21 prediction file (scored by `posetrack eval` or the official kit)"
             "; with --out-dir, a folder of <name>.json.")(command)


def pop_options(opts: dict) -> Tuple[Optional[Path], Optional[Path]]:
    """(--export-posetrack21, --gt), removed from the command's other options."""
    export21, gt = opts.pop("export21", None), opts.pop("posetrack21_gt", None)
    if gt is not None and export21 is None:
        raise click.UsageError("--gt names the PoseTrack21 GT file for --export-posetrack21; give that option too")
    return export21, gt


def check_single(gt: Optional[Path]) -> None:
    """One video: --gt is one GT file."""
    if gt is not None and gt.is_dir():
        raise click.UsageError(f"--gt {gt}: one video takes one GT file (a folder is for --out-dir)")


def check_batch(gt: Optional[Path]) -> None:
    """A batch: --gt is a folder of <name>.json (the library names any missing file)."""
    if gt is not None and not gt.is_dir():
        raise click.UsageError(f"--gt {gt}: with --out-dir, give the folder of PoseTrack21 GT files (<name>.json)")
