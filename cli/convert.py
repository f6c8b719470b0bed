"""`posetrack convert`: a tracks file (or another tool's poses) in, the format the next tool reads out."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ._common import CONTEXT, UserError

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

_TO = ("mot", "coco-dataset", "slp", "nwb", "posetrack", "coco", "csv")


@click.command("convert", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("poses_file", metavar="TRACKS", type=click.Path(exists=True, path_type=Path))
@click.option("--to", "to", type=click.Choice(_TO), required=True, help="The format to write.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The file to write.")
@click.option("--input-format", default=None, metavar="FORMAT",
              type=click.Choice(["posetrack", "mmpose", "alphapose", "openpose", "ultralytics"]),
              help="The format of TRACKS.  [default: told from its content]")
@click.option("--video", type=click.Path(exists=True, path_type=Path), default=None,
              help="The video or image folder the poses were made from (another tool's poses need it; image "
                   "names for coco-dataset).")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def convert(poses_file: Path, to: str, out: Path, input_format: Optional[str], video: Optional[Path],
            force: bool) -> None:
    """Write TRACKS (a tracks.json, or another tool's poses) in the format the next tool reads."""
    import json

    from posetrack.io.atomic import write_atomic
    from posetrack.io.guard import check_writes
    from posetrack.tracksfile.targets import TARGETS, write_target

    from .track import _read_poses

    check_writes({"out": out}, {"tracks": poses_file, "video": video}, force=force)
    if to in TARGETS:
        from posetrack.tracksfile.targets import check_target

        check_target(to, out)
    tracks = _read_poses(poses_file, input_format, video)
    if to in TARGETS:
        names = None
        if video is not None and video.is_dir():
            from posetrack.tracksfile.foreign import video_facts

            names = video_facts(video)[1]
        note = write_target(to, tracks, out, names)
    elif to == "posetrack":
        from posetrack.tracksfile.codec import write_tracks

        write_tracks(out, tracks)
        note = f"wrote {out} (tracks file, {sum(len(f) for f in tracks.frames)} people)"
    elif to == "coco":
        from posetrack.tracksfile.exports import export_coco

        write_atomic(out, [json.dumps(export_coco(tracks), allow_nan=False)])
        note = f"wrote {out} (COCO keypoint results)"
    elif to == "csv":
        from posetrack.tracksfile.exports import export_csv

        note = f"wrote {out} (CSV, {export_csv(tracks, out)} rows)"
    else:  # pragma: no cover - click checks the choice
        raise UserError(f"unknown format {to}")
    click.echo(note, err=True)
