"""`posetrack convert`: a tracks file (or another tool's poses) in, the format the next tool reads out."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ._common import CONTEXT, OutputFile, RegistryChoice, pose_formats

EPILOG = """\b
Examples:
  posetrack convert tracks.json --to mot -o mot/MOT17-02.txt        # TrackEval, py-motmetrics
  posetrack convert tracks.json --to coco-dataset -o cvat.json      # CVAT: COCO Keypoints 1.0, as tracks
  posetrack convert tracks.json --to slp -o clip.slp                # SLEAP, movement (posetrack[sleap])
  posetrack convert tracks.json --to nwb -o clip.nwb                # NWB / ndx-pose (posetrack[sleap])
  posetrack convert alphapose-results.json --video clip.mp4 --to posetrack -o poses.json

\b
Formats out: mot (frame,id,x,y,w,h,conf,-1,-1,-1; frames from 1), coco-dataset (images,
annotations with attributes.track_id, categories with the skeleton), slp, nwb, posetrack
(a tracks file, e.g. from another tool's poses), coco (keypoint results), csv. No conversion
re-tracks: ids are the input's (another tool's poses have none; see `posetrack track`).
"""


def _targets() -> tuple:
    from posetrack.tracksfile.targets import TARGETS

    return tuple(TARGETS)


@click.command("convert", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("poses_file", metavar="TRACKS", type=click.Path(exists=True, path_type=Path))
@click.option("--to", "to", type=RegistryChoice(_targets), required=True, help="The format to write.")
@click.option("-o", "--out", type=OutputFile(), required=True, help="The file to write.")
@click.option("--input-format", default=None, type=RegistryChoice(pose_formats),
              help="The format of TRACKS.  [default: told from its content]")
@click.option("--video", type=click.Path(exists=True, path_type=Path), default=None,
              help="The video or image folder the poses were made from (another tool's poses need it; image "
                   "names for coco-dataset).")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def convert(poses_file: Path, to: str, out: Path, input_format: Optional[str], video: Optional[Path],
            force: bool) -> None:
    """Write TRACKS (a tracks.json, or another tool's poses) in the format the next tool reads."""
    from posetrack.tracksfile.targets import convert_file

    click.echo(convert_file(poses_file, out, to, input_format=input_format, video=video, force=force), err=True)
