"""`posetrack track`: re-track saved poses (a tracks file, or another tool's), then refine the whole file offline."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from . import _posetrack21 as pt21
from ._common import CONTEXT, OutputFile, RegistryChoice, pose_formats
from ._progress import FrameProgress

EPILOG = """\b
Examples:
  posetrack track poses.json --video video.mp4 --out tracks.json    # flow from the video
  posetrack track poses.json --video video.mp4 -o t.json --tracker flowtrack   # the paper's tracker
  posetrack track poses.json --out tracks.json --no-refine            # online tracking only
  posetrack track poses.json -o t.json --export-posetrack2018 pred/seq.json
  posetrack track poses.json -o t.json --export-posetrack21 pred/seq.json --gt gt/seq.json
  posetrack track poses.json --video duet.mp4 -o t.json --max-tracks 2   # never more than two ids
  posetrack track poses.json --out tracks.json --matching hungarian --config my_tracker.yaml
  posetrack track alphapose-results.json --video video.mp4 -o tracks.json   # another tool's poses
  posetrack track openpose_json/ --video video.mp4 -o t.json --export-mot mot.txt

\b
POSES is a tracks file (e.g. from `posetrack run --tracker none`), or another tool's poses
(mmpose, AlphaPose, OpenPose, Ultralytics; README "Formats in and out"), which need
--video for the frame size and rate; track ids in the input are ignored. Presets
(configs/tracker.yaml): `robust` (the default: lost tracks kept up to 3 s with
camera-compensated motion, occlusion-aware propagation, then offline stitching,
re-identification, re-linking where people meet, leaving out poses two people could
share, gap interpolation and removal of short tracks) and `flowtrack` (Xiao et al. 2018, as
published, no refinement). Without --video the queued poses move with the
preset's motion model (FlowTrack: they stay where they were seen). Poses below the
preset's box_score, or without a joint above joint_score, are left out; interpolated
people are marked "interpolated": true.
"""


def _track_options(command):
    """The tracker options, their choices read from the library's registries and presets."""
    from posetrack.pipeline.options import option_choices
    from posetrack.tracking.motion import MOTIONS

    from ._common import tracker_presets

    presets, tracker, flow = tracker_presets()
    choices = option_choices("matching", "flow_method")
    options = [
        click.option("--tracker", "preset", default=None, metavar="PRESET",
                     help=f"Tracker preset: {' or '.join(presets)} (or one your --config adds).  "
                          f"[default: {presets[0]}]"),
        click.option("--config", "--tracker-config", "config", default="tracker", show_default=True,
                     metavar="NAME|YAML", help="Tracker settings: a shipped config name or a YAML path (presets:, "
                                               "preset:, tracker:, flow:)."),
        click.option("--refine/--no-refine", default=None,
                     help="Offline refinement of the whole file: stitch, re-identify people who leave and come "
                          "back and undo id swaps where people meet (these two need --video: colours), "
                          "interpolate, drop short tracks.  "
                          f"[default: as the preset says; {presets[0]}: {'on' if tracker.refine.enabled else 'off'}]"),
        click.option("--matching", type=RegistryChoice(lambda: choices["matching"]), default=None,
                     help=f"Override the preset's matching.  [default: {tracker.matching}, from the preset]"),
        click.option("--motion", type=RegistryChoice(lambda: tuple(MOTIONS)), default=None,
                     help=f"Override how queued poses reach the next frame.  [default: {tracker.motion}, from the "
                          "preset]"),
        click.option("--flow", "flow_method", type=RegistryChoice(lambda: choices["flow_method"]), default=None,
                     help=f"Override the optical flow method (with --video).  [default: {flow.method}]"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("track", context_settings=CONTEXT, epilog=EPILOG)
@click.argument("poses_file", metavar="POSES", type=click.Path(exists=True, path_type=Path))
@click.option("--input-format", default=None, type=RegistryChoice(pose_formats),
              help="The format of POSES.  [default: told from its content]")
@click.option("-o", "--out", type=OutputFile(), required=True,
              help="Tracks file to write (JSON, same schema as the input).")
@click.option("--video", type=click.Path(exists=True, path_type=Path), default=None,
              help="The poses' video (or folder of frames), for optical flow; another tool's poses take their "
                   "frame size, rate and count from it.")
@_track_options
@click.option("--max-tracks", type=click.IntRange(min=1), default=None, metavar="N",
              help="Never more than N identities (you know how many people are in the scene).")
@click.option("--export-posetrack2017", "export17", type=OutputFile(), default=None,
              help="Also write a PoseTrack 2017 (annolist) prediction file.")
@click.option("--export-posetrack2018", "export18", type=OutputFile(), default=None,
              help="Also write a PoseTrack 2018 (COCO-style) prediction file.")
@click.option("--export-mot", "export_mot", type=OutputFile(), default=None,
              help="Also write MOTChallenge text (frame,id,x,y,w,h,conf,-1,-1,-1; frames from 1).")
@click.option("--export-coco-dataset", "export_coco_dataset", type=OutputFile(),
              default=None, help="Also write a COCO keypoints dataset with track_id attributes (CVAT imports tracks).")
@click.option("--export-sleap", "export_sleap", type=OutputFile(), default=None,
              help="Also write a SLEAP .slp or NWB .nwb file (needs posetrack[sleap]).")
@pt21.posetrack21_options
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def track(poses_file: Path, input_format: Optional[str], out: Path, video: Optional[Path], preset: Optional[str],
          config: str, refine: Optional[bool], matching: Optional[str], motion: Optional[str],
          flow_method: Optional[str], max_tracks: Optional[int], export17: Optional[Path], export18: Optional[Path],
          export_mot: Optional[Path], export_coco_dataset: Optional[Path], export_sleap: Optional[Path], force: bool,
          quiet: bool,
          **posetrack21) -> None:
    """Link the poses of POSES (a tracks.json, or another tool's poses) into tracks and write them to --out.

    Each pose is matched to the track whose recent poses, moved into its frame by optical
    flow (or, for lost and occluded tracks, by their motion model), are most similar by
    OKS (FlowTrack, Xiao et al. 2018); unmatched poses start new tracks (ids from 0).
    Existing outputs are never overwritten without --force; no output may be an input.
    """
    from posetrack.pipeline.retrack import retrack_file

    export21, gt21 = pt21.pop_options(posetrack21)
    pt21.check_single(gt21)
    overrides = {k: v for k, v in (("matching", matching), ("motion", motion), ("refine.enabled", refine),
                                   ("max_tracks", max_tracks)) if v is not None}
    with FrameProgress("tracking", enabled=not quiet) as bar:
        tracks, notes = retrack_file(poses_file, out, video=video, config=config, preset=preset, overrides=overrides,
                                     flow_method=flow_method, posetrack2017=export17, posetrack2018=export18,
                                     force=force, progress=bar, input_format=input_format, mot=export_mot,
                                     coco_dataset=export_coco_dataset, sleap=export_sleap, posetrack21=export21,
                                     posetrack21_gt=gt21)
    for note in notes:
        click.echo(note, err=True)
    ids = {int(i) for f in tracks.frames if f.track_ids is not None for i in f.track_ids}
    n_people = sum(len(f) for f in tracks.frames)
    click.echo(f"{len(tracks.frames)} frames, {n_people} poses, {len(ids)} tracks -> {out}", err=True)
