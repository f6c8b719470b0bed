"""`posetrack render`: draw a tracks file onto its video, as an H.264 MP4 or PNG frames."""
from __future__ import annotations

from pathlib import Path

import click

from . import CONTEXT_SETTINGS
from ._common import OutputFile, RegistryChoice, parse_id_list
from ._errors import UserError
from ._progress import FrameProgress
from ._sources import SourceParam

EPILOG = """
\b
Examples:
  posetrack render video.mp4 tracks.json                  # writes video_annotated.mp4
  posetrack render video.mp4 tracks.json -o demo.mp4 --trails 25 --boxes
  posetrack render video.mp4 tracks.json --only-ids 3,7 --start 250 --end 500
  posetrack render frames/ tracks.json --frames-dir annotated/   # PNG frames, no video
  posetrack render video.mp4 tracks.json -o demo.mp4 --force     # replace an earlier demo.mp4
  posetrack render https://host/clip.mp4 tracks.json -o demo.mp4

\b
The MP4 is H.264 (yuv420p) at the source's size and timing: every frame is shown at
its time in the source (variable frame rate included), and a --stride N render plays
at fps/N, in real time. It plays in browsers, on phones and in slides. If this
PyAV/FFmpeg build has no H.264 encoder, use --codec mpeg4 (VLC and desktop players,
not browsers) or --frames-dir.
"""


def _codecs() -> tuple:
    from posetrack.io.encode import CODECS

    return tuple(CODECS)


def _id_list(ctx, param, value):
    return None if value is None else parse_id_list(value)


def default_output(video) -> Path:
    """VIDEO_annotated.mp4 next to the video (or next to a folder of frames)."""
    if not isinstance(video, Path):
        raise click.UsageError(f"{video} is a stream: give the video to write with --out")
    stem = video.name if video.is_dir() else video.stem
    return video.parent / f"{stem}_annotated.mp4"


@click.command("render", context_settings=CONTEXT_SETTINGS, epilog=EPILOG,
               short_help="Draw tracked poses onto a video (H.264 MP4 or PNG frames).")
@click.argument("video", type=SourceParam(cameras=False))
@click.argument("tracks_file", metavar="TRACKS", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=OutputFile(),
              help="Video to write (.mp4, .m4v, .mov or .mkv).  [default: VIDEO_annotated.mp4 next to VIDEO]")
@click.option("--frames-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write lossless PNG frames (frame_000123.png) into this folder instead of a video.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.3,
              help="Hide joints whose keypoint score is below this, and the limbs touching them.")
@click.option("--trails", type=click.IntRange(min=0), default=0, metavar="N",
              help="Draw where each person walked over the last N frames (0: no trails).")
@click.option("--boxes/--no-boxes", default=False, help="Draw each person's box.")
@click.option("--ids/--no-ids", default=True, help="Write each person's track id above their head.")
@click.option("--only-ids", callback=_id_list, metavar="3,7", help="Draw only these track ids.")
@click.option("--start", type=click.IntRange(min=0), default=None,
              help="First frame to render (0-based).  [default: the first frame TRACKS covers]")
@click.option("--end", type=click.IntRange(min=1), default=None,
              help="Stop before this frame (exclusive).  [default: the end of what TRACKS covers]")
@click.option("--stride", type=click.IntRange(min=1, max=10_000_000), default=None, metavar="N",
              help="Render every N-th frame; the video plays at fps/N.  [default: the stride of the run "
                   "that made TRACKS, else 1]")
@click.option("--codec", type=RegistryChoice(_codecs), default="h264",
              help="h264 plays everywhere; mpeg4 is the fallback for FFmpeg builds without H.264.")
@click.option("--crf", type=click.IntRange(0, 51), default=18,
              help="H.264 quality: lower is better and bigger; 18 looks like the source.")
@click.option("--line-scale", type=click.FloatRange(min=0, max=100, min_open=True), default=1.0,
              help="Thicker (>1) or thinner (<1) lines than the size-based default.")
@click.option("--allow-mismatch", is_flag=True,
              help="Render even when the tracks file does not match the video (frame size, frame count).")
@click.option("--force", is_flag=True, help="Overwrite an existing output (or the frame PNGs in --frames-dir).")
def render(video, tracks_file: Path, out, frames_dir, min_score, trails, boxes, ids, only_ids, start, end, stride,
           codec, crf, line_scale, allow_mismatch, force) -> None:
    """Draw the tracked poses of TRACKS (a tracks.json) onto VIDEO (a video file or a folder of frames).

    Each person gets the skeleton of the file's keypoint layout in one stable colour per
    track id, with the id above the head; boxes and motion trails are optional. Frames
    without people are copied unchanged. An existing output is never overwritten without
    --force, and the output may not be the video, the tracks file or inside a folder of frames.
    """
    from posetrack.errors import MismatchError
    from posetrack.rendering.draw import DrawStyle
    from posetrack.rendering.render import render_tracks

    if out is not None and frames_dir is not None:
        raise click.UsageError("--out writes a video and --frames-dir writes PNG frames: choose one")
    if end is not None and end <= (start or 0):
        raise click.BadParameter(f"must be greater than --start ({start or 0})", param_hint="--end")
    if (start is None) != (end is None):
        start = start or 0           # one of them given: the other is the video's own
    target = frames_dir or out or default_output(video)
    style = DrawStyle(min_score=min_score, boxes=boxes, ids=ids, trails=trails, line_scale=line_scale)
    try:
        with FrameProgress("rendering") as bar:
            summary = render_tracks(video, tracks_file, target, style, start=start, end=end, stride=stride,
                                    only_ids=only_ids, frames_dir=frames_dir is not None, codec=codec, crf=crf,
                                    force=force, allow_mismatch=allow_mismatch, progress=bar)
    except MismatchError as e:
        listing = "\n".join(f"  - {p}" for p in e.problems)
        raise UserError(f"{tracks_file} does not match {video}:\n{listing}\nRender the tracks with the video they "
                        "came from, or pass --allow-mismatch to draw them anyway.") from e
    _report(summary, target, frames_dir is not None)


def _report(summary, target: Path, frames_dir: bool) -> None:
    """What was written, at which size and rate; a warning when the video stopped decoding early."""
    info, stride = summary.video, summary.stride
    what = f"PNG frames into {target}/" if frames_dir else str(target)
    rate = f"{info.fps / stride:g} fps (1 frame in {stride} of {info.fps:g} fps)" if stride > 1 else \
        f"{info.fps:g} fps"
    click.echo(f"Wrote {what}: {summary.frames} frames ({summary.frames_with_people} with people), "
               f"{info.width}x{info.height} at {rate}.")
    if summary.truncated_at is not None:
        click.secho(f"The video stopped decoding at frame {summary.truncated_at}; the output ends there.",
                    fg="yellow", err=True)
