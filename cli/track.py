"""`posetrack track`: re-track saved poses (a tracks file), then refine the whole file offline."""
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
  posetrack track poses.json --video video.mp4 -o t.json --tracker flowtrack   # the paper's tracker
  posetrack track poses.json --out tracks.json --no-refine            # online tracking only
  posetrack track poses.json -o t.json --export-posetrack2018 pred/seq.json
  posetrack track poses.json --video duet.mp4 -o t.json --max-tracks 2   # never more than two ids
  posetrack track poses.json --out tracks.json --matching hungarian --config my_tracker.yaml

\b
poses.json is any tracks file (e.g. from `posetrack run --tracker none`); its track ids
are ignored. Presets (configs/tracker.yaml): `robust` (the default: lost tracks kept
up to 3 s with camera-compensated motion, occlusion-aware propagation, then offline
stitching, gap interpolation and removal of short tracks) and `flowtrack` (Xiao et al.
2018, as published, no refinement). Without --video the queued poses move with the
preset's motion model (FlowTrack: they stay where they were seen). Poses below the
preset's box_score, or without a joint above joint_score, are left out; interpolated
people are marked "interpolated": true.
"""


@click.command("track", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("poses_file", metavar="POSES", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Tracks file to write (JSON, same schema as the input).")
@click.option("--video", type=click.Path(exists=True, path_type=Path), default=None,
              help="The poses' video (or folder of frames), for optical flow.")
@click.option("--tracker", "preset", default=None, metavar="PRESET",
              help="Tracker preset: robust or flowtrack (or one your --config adds).  [default: robust]")
@click.option("--config", "--tracker-config", "config", default="tracker", show_default=True, metavar="NAME|YAML",
              help="Tracker settings: a shipped config name or a YAML path (presets:, preset:, tracker:, flow:).")
@click.option("--refine/--no-refine", default=None,
              help="Offline refinement of the whole file (stitch, interpolate, drop short tracks).  "
                   "[default: as the preset says; robust: on]")
@click.option("--matching", type=click.Choice(["greedy", "hungarian"]), default=None,
              help="Override the preset's matching.  [default: greedy, as the paper]")
@click.option("--motion", type=click.Choice(["flow", "kalman", "none"]), default=None,
              help="Override how queued poses reach the next frame.  [default: flow, as the paper]")
@click.option("--flow", "flow_method", type=click.Choice(["dis", "raft", "none"]), default=None,
              help="Override the optical flow method (with --video).  [default: dis]")
@click.option("--max-tracks", type=click.IntRange(min=1), default=None, metavar="N",
              help="Never more than N identities (you know how many people are in the scene).")
@click.option("--export-posetrack2017", "export17", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a PoseTrack 2017 (annolist) prediction file.")
@click.option("--export-posetrack2018", "export18", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a PoseTrack 2018 (COCO-style) prediction file.")
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def track(poses_file: Path, out: Path, video: Optional[Path], preset: Optional[str], config: str,
          refine: Optional[bool], matching: Optional[str], motion: Optional[str], flow_method: Optional[str],
          max_tracks: Optional[int], export17: Optional[Path], export18: Optional[Path], force: bool, quiet: bool) -> None:
    """Link the poses of POSES (a tracks.json) into tracks and write them to --out.

    Each pose is matched to the track whose recent poses, moved into its frame by optical
    flow (or, for lost and occluded tracks, by their motion model), are most similar by
    OKS (FlowTrack, Xiao et al. 2018); unmatched poses start new tracks (ids from 0).
    Existing outputs are never overwritten without --force; no output may be an input.
    """
    from dataclasses import replace

    from posetrack.io.guard import check_writes
    from posetrack.pipeline.retrack import retrack
    from posetrack.pipeline.runner import Outputs, write_exports
    from posetrack.tracking.tracker import load_tracking_config
    from posetrack.tracksfile.codec import read_tracks, write_tracks

    check_writes({"tracks": out, "posetrack2017": export17, "posetrack2018": export18},
                 {"poses": poses_file, "video": video, "tracker_config": config}, force=force)
    tracker_cfg, flow_cfg = load_tracking_config(config, preset=preset)
    tracker_cfg = replace(tracker_cfg, **{k: v for k, v in (("matching", matching), ("motion", motion),
                                                            ("max_tracks", max_tracks)) if v})
    if refine is not None:
        tracker_cfg = replace(tracker_cfg, refine=replace(tracker_cfg.refine, enabled=refine))
    if flow_method:
        flow_cfg = replace(flow_cfg, method=flow_method)
    poses = read_tracks(poses_file)
    if video is None and tracker_cfg.motion == "flow":
        log.info("no --video: no optical flow; poses move with the tracker's motion model")
    with FrameProgress("tracking", total=len(poses.frames), enabled=not quiet) as bar:
        def progress(result) -> None:
            bar.advance()

        if video is not None and tracker_cfg.motion == "flow":
            from posetrack.io.video import open_source

            with open_source(video) as source:
                tracks = retrack(poses, tracker_cfg, source, flow_cfg, progress)
        else:
            tracks = retrack(poses, tracker_cfg, None, flow_cfg, progress)
    write_tracks(out, tracks)
    outputs = Outputs(tracks=out, posetrack2017=export17, posetrack2018=export18)
    for note in write_exports(outputs, tracks, video if video is not None else tracks.header.video.path):
        click.echo(note, err=True)
    ids = {int(i) for f in tracks.frames if f.track_ids is not None for i in f.track_ids}
    n_people = sum(len(f) for f in tracks.frames)
    click.echo(f"{len(tracks.frames)} frames, {n_people} poses, {len(ids)} tracks -> {out}", err=True)
