"""`posetrack track`: re-track saved poses (a tracks file) with the FlowTrack tracker."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import click

from ._common import CONTEXT, FrameProgress

log = logging.getLogger("posetrack")

EPILOG = """\b
Examples:
  posetrack track poses.json --video video.mp4 --out tracks.json    # flow from the video
  posetrack track poses.json --out tracks.json --motion kalman        # no video: Kalman motion
  posetrack track poses.json --out tracks.json --matching hungarian --config my_tracker.yaml

\b
poses.json is any tracks file (e.g. from `posetrack run --tracker none`); its track ids
are ignored. Without --video the queued poses are compared where they were seen
(--motion flow or none) or where a Kalman filter predicts them (--motion kalman).
Poses below the config's box_score, or without a joint above joint_score, are left out.
"""


@click.command("track", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("poses_file", metavar="POSES", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Tracks file to write (JSON, same schema as the input).")
@click.option("--video", type=click.Path(exists=True, path_type=Path), default=None,
              help="The poses' video (or folder of frames), for optical flow.")
@click.option("--config", "--tracker-config", "config", default="tracker", show_default=True, metavar="NAME|YAML",
              help="Tracker settings: a shipped config name or a YAML path (sections tracker: and flow:).")
@click.option("--matching", type=click.Choice(["greedy", "hungarian"]), default=None,
              help="Override the config's matching.  [default: greedy, as the paper]")
@click.option("--motion", type=click.Choice(["flow", "kalman", "none"]), default=None,
              help="Override how queued poses reach the next frame.  [default: flow, as the paper]")
@click.option("--flow", "flow_method", type=click.Choice(["dis", "raft", "none"]), default=None,
              help="Override the optical flow method (with --video).  [default: dis]")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def track(poses_file: Path, out: Path, video: Optional[Path], config: str, matching: Optional[str],
          motion: Optional[str], flow_method: Optional[str], quiet: bool) -> None:
    """Link the poses of POSES (a tracks.json) into tracks and write them to --out.

    Tracking follows FlowTrack (Xiao et al. 2018): each pose is matched greedily to the
    track whose poses of the last Q frames, moved by optical flow, are most similar by
    OKS; unmatched poses start new tracks (ids from 0).
    """
    from dataclasses import replace

    from posetrack.retrack import retrack
    from posetrack.tracker import load_tracking_config
    from posetrack.tracks_io import read_tracks, write_tracks

    if out.resolve() == poses_file.resolve():
        raise click.BadParameter("the output would overwrite the input poses", param_hint="--out")
    tracker_cfg, flow_cfg = load_tracking_config(config)
    tracker_cfg = replace(tracker_cfg, **{k: v for k, v in (("matching", matching), ("motion", motion)) if v})
    if flow_method:
        flow_cfg = replace(flow_cfg, method=flow_method)
    poses = read_tracks(poses_file)
    if video is None and tracker_cfg.motion == "flow":
        log.info("no --video: tracking by pose similarity alone (--motion kalman predicts motion instead)")
    with FrameProgress("tracking", total=len(poses.frames), enabled=not quiet) as bar:
        def progress(result) -> None:
            bar.advance()

        if video is not None and tracker_cfg.motion == "flow":
            from posetrack.video import open_source

            with open_source(video) as source:
                tracks = retrack(poses, tracker_cfg, source, flow_cfg, progress)
        else:
            tracks = retrack(poses, tracker_cfg, None, flow_cfg, progress)
    write_tracks(out, tracks)
    ids = {int(i) for f in tracks.frames if f.track_ids is not None for i in f.track_ids}
    n_people = sum(len(f) for f in tracks.frames)
    click.echo(f"{len(tracks.frames)} frames, {n_people} poses, {len(ids)} tracks -> {out}", err=True)
