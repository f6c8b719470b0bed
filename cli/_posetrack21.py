"""`run` and `track` --export-posetrack21: PoseTrack21 prediction files the official kit reads as they are.

The writer is :mod:`posetrack.tracksfile.posetrack21`; this module adds its two options, checks them before
any frame is processed (a bad GT file fails at once), and writes the files once the tracks are done.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import click

__all__ = ["posetrack21_options", "pop_options", "check_single", "write_single", "check_batch", "write_batch"]


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


def check_single(export21: Optional[Path], gt: Optional[Path], force: bool, inputs: Dict[str, Optional[Path]],
                 outputs: Dict[str, Optional[Path]]) -> None:
    """Before a run: the export may not clobber an input, another output or an existing file; the GT file is valid."""
    if export21 is None:
        return
    from posetrack.io.guard import check_distinct, check_writes
    from posetrack.tracksfile.posetrack21 import gt_images

    if gt is not None and gt.is_dir():
        raise click.UsageError(f"--gt {gt}: one video takes one GT file (a folder is for --out-dir)")
    check_writes({"posetrack21": export21}, {**inputs, "gt": gt}, force=force)
    check_distinct([("posetrack21", export21)] + [(k, v) for k, v in outputs.items() if v is not None])
    if gt is not None:
        gt_images(gt)


def write_single(export21: Optional[Path], tracks_path: Path, gt: Optional[Path], source=None) -> None:
    """After a run: write the export from the finished tracks file."""
    if export21 is None:
        return
    from posetrack.tracksfile.codec import read_tracks
    from posetrack.tracksfile.posetrack21 import write_posetrack21

    for note in write_posetrack21(export21, read_tracks(tracks_path), gt, source):
        click.secho(note, fg="yellow", err=True)
    click.echo(f"wrote {export21}", err=True)


def check_batch(export21: Optional[Path], gt: Optional[Path], names: Sequence[str]) -> None:
    """Before a batch: --gt is a folder holding <name>.json for every source."""
    if export21 is None or gt is None:
        return
    if not gt.is_dir():
        raise click.UsageError(f"--gt {gt}: with --out-dir, give the folder of PoseTrack21 GT files (<name>.json)")
    missing = [n for n in names if not (gt / f"{n}.json").is_file()]
    if missing:
        raise click.UsageError(f"--gt {gt}: no GT file for {len(missing)} source(s), e.g. {missing[0]}.json")


def write_batch(export21: Optional[Path], gt: Optional[Path], jobs, result) -> None:
    """After a batch: one <name>.json per finished source."""
    if export21 is None:
        return
    done = {v.name for v in result.videos if v.ok}
    for job in jobs:
        if job.name in done:
            write_single(export21 / f"{job.name}.json", job.outputs.tracks,
                         None if gt is None else gt / f"{job.name}.json", job.source)
