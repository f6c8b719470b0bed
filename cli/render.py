"""`posetrack render`: draw a tracks file onto its video, as an H.264 MP4 or PNG frames."""
from __future__ import annotations

from pathlib import Path

import click

from . import CONTEXT_SETTINGS
from ._common import FrameProgress, OutputFile, parse_id_list, UserError
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
@click.option("--codec", type=click.Choice(["h264", "mpeg4"]), default="h264",
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
    from posetrack.rendering.draw import DrawStyle
    from posetrack.io.encode import FRAME_FILES
    from posetrack.io.guard import check_writes
    from posetrack.tracksfile.codec import read_tracks
    from posetrack.io.video import open_source

    if out is not None and frames_dir is not None:
        raise click.UsageError("--out writes a video and --frames-dir writes PNG frames: choose one")
    if end is not None and start is not None and end <= start:
        raise click.BadParameter(f"must be greater than --start ({start})", param_hint="--end")
    target = frames_dir or out or default_output(video)
    field = "frames_dir" if frames_dir is not None else "out"
    check_writes({field: target}, {"source": video if isinstance(video, Path) else None, "tracks": tracks_file},
                 force=force, patterns={"frames_dir": FRAME_FILES})
    tracks = read_tracks(tracks_file)
    _warn_unknown_ids(tracks, only_ids)
    start, end, stride = _range(video, tracks, start, end, stride)
    style = DrawStyle(min_score=min_score, boxes=boxes, ids=ids, trails=trails, line_scale=line_scale)
    with open_source(video, start=start, end=end, stride=stride) as source:
        _check_match(source.info, tracks, video, tracks_file, allow_mismatch)
        summary = _render_with_progress(source, tracks, target, style, only_ids, frames_dir is not None, codec, crf,
                                        stride)
        info = source.info
    what = f"PNG frames into {target}/" if frames_dir is not None else str(target)
    rate = f"{info.fps / stride:g} fps (1 frame in {stride} of {info.fps:g} fps)" if stride > 1 else \
        f"{info.fps:g} fps"
    click.echo(f"Wrote {what}: {summary.frames} frames ({summary.frames_with_people} with people), "
               f"{info.width}x{info.height} at {rate}.")
    if summary.truncated_at is not None:
        click.secho(f"The video stopped decoding at frame {summary.truncated_at}; the output ends there.",
                    fg="yellow", err=True)


def _range(video, tracks, start, end, stride):
    """The frames to render: those given, else what the tracks file covers (its run's start, end and stride)."""
    from posetrack.io.video import open_source
    from posetrack.rendering.render import tracks_range

    with open_source(video) as whole:
        covered = tracks_range(tracks, whole.info.frames)
    if start is None and end is None:
        start, end = covered[:2]
    if end is not None and start is not None and end <= start:
        raise click.BadParameter(f"must be greater than the start ({start}) of the frames TRACKS covers",
                                 param_hint="--end")
    return start or 0, end, stride or covered[2]


def _warn_unknown_ids(tracks, only_ids) -> None:
    if not only_ids:
        return
    present = {int(t) for f in tracks.frames if f.track_ids is not None for t in f.track_ids}
    missing = sorted(set(only_ids) - present)
    if missing:
        click.secho(f"No person has track id {', '.join(map(str, missing))} in this tracks file.",
                    fg="yellow", err=True)


def _check_match(info, tracks, video, tracks_file, allow_mismatch: bool) -> None:
    from posetrack.rendering.render import check_tracks_match

    problems = check_tracks_match(info, tracks)
    if not problems:
        return
    listing = "\n".join(f"  - {p}" for p in problems)
    if not allow_mismatch:
        raise UserError(f"{tracks_file} does not match {video}:\n{listing}\n"
                        "Render the tracks with the video they came from, or pass --allow-mismatch to draw them "
                        "anyway.")
    click.secho(f"{tracks_file} does not match {video} (rendering anyway, --allow-mismatch):\n{listing}",
                fg="yellow", err=True)


def _render_with_progress(source, tracks, target, style, only_ids, frames_dir: bool, codec: str, crf: int,
                          stride: int):
    from posetrack.io.encode import open_writer
    from posetrack.rendering.render import render_video

    info = source.info
    writer = open_writer(target, info.fps / stride, (info.width, info.height), frames_dir=frames_dir, codec=codec,
                         crf=crf)
    with FrameProgress("rendering", total=source.total) as bar:
        return render_video(source, tracks, writer, style, only_ids=only_ids,
                            progress=lambda done, total: bar(done, total))
