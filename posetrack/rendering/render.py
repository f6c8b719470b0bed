"""Rendering: a video and its tracks become an annotated video, one frame at a time.

:class:`Renderer` draws (Frame, FrameResult) pairs as they come and hands them to a
writer, so ``posetrack run --render`` can draw while it tracks, with no second decode.
:func:`render_video` does the same for a saved ``tracks.json``: it streams the source
through the renderer, in bounded memory, reporting progress through a callback.

Example:
    >>> from posetrack.rendering.draw import DrawStyle
    >>> from posetrack.io.encode import open_writer
    >>> from posetrack.rendering.render import check_tracks_match, render_video
    >>> from posetrack.tracksfile.codec import read_tracks
    >>> from posetrack.io.video import open_source
    >>> tracks = read_tracks("tracks.json")
    >>> source = open_source("video.mp4")
    >>> assert not check_tracks_match(source.info, tracks)
    >>> writer = open_writer("annotated.mp4", source.info.fps, (source.info.width, source.info.height))
    >>> summary = render_video(source, tracks, writer, DrawStyle(trails=10))

Timing: every frame is written at its source time (``Frame.time``), so the annotated video
keeps the source's timing, variable frame rate included; a render of every N-th frame
plays at fps / N (open the writer with ``fps / N``, or pass ``stride=N`` to
:meth:`Renderer.to_file`).
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Callable, Collection, List, Optional, Tuple

import numpy as np

from posetrack.errors import InputError, MismatchError
from posetrack.io.encode import FRAME_FILES, open_writer
from posetrack.io.guard import check_writes
from posetrack.io.video import FrameSource, is_live, open_source
from posetrack.keypoints import KeypointLayout
from posetrack.rendering.draw import DrawStyle, Trails, draw_frame
from posetrack.tracksfile.codec import TrackFile, read_tracks
from posetrack.types import Frame, FrameResult, VideoInfo

__all__ = ["Renderer", "RenderSummary", "render_video", "render_tracks", "check_tracks_match", "select_ids",
           "run_stride", "tracks_range"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderSummary:
    """What a render did.

    Attributes:
        frames: frames written.
        frames_with_people: of those, frames that had someone to draw.
        truncated_at: the frame at which the source stopped decoding, or None.
        video: the source drawn on (size, frame rate), when known.
        stride: every N-th frame was drawn; the output plays at ``video.fps / stride``.
    """

    frames: int
    frames_with_people: int
    truncated_at: Optional[int]
    video: Optional[VideoInfo] = None
    stride: int = 1


def select_ids(result: FrameResult, only_ids: Optional[Collection[int]]) -> FrameResult:
    """The people of ``result`` whose track id is in ``only_ids`` (all of them when None).

    Untracked people (no ids) are dropped when a selection is given: they have no id to match.
    """
    if only_ids is None:
        return result
    if result.track_ids is None:
        return FrameResult(result.frame, result.poses.select(np.zeros(len(result), bool)), None)
    wanted = [i for i in map(int, only_ids) if -2 ** 63 <= i < 2 ** 63]   # no track has an id beyond int64
    keep = np.isin(result.track_ids, np.asarray(wanted, np.int64))
    return FrameResult(result.frame, result.poses.select(keep), result.track_ids[keep])


def check_tracks_match(info: VideoInfo, tracks: TrackFile) -> List[str]:
    """How a tracks file disagrees with the video it is drawn on; empty when they match.

    Compares the frame size, the frame count and the frame indices used by the tracks. A
    tracks file may cover part of the video (a run with an end frame, poses saved for the first
    frames only, a run on a cut-off video that stopped where decoding did), so it may count fewer
    frames than the video, never more; a live source of unknown length is not counted.

    Returns:
        One readable line per difference, e.g. "size: the video is 640x480, the tracks are for 1280x720".
    """
    t = tracks.header.video
    problems = []
    if (info.width, info.height) != (t.width, t.height):
        problems.append(f"size: the video is {info.width}x{info.height}, the tracks are for {t.width}x{t.height}")
    if info.frames is None or t.frames is None:
        return problems
    if t.frames > info.frames:
        problems.append(f"frame count: the video has {info.frames} frames, the tracks file says {t.frames}")
    beyond = [f.frame for f in tracks.frames if f.frame >= info.frames]
    if beyond:
        problems.append(f"frames: the tracks have {len(beyond)} frames past the video's end "
                        f"(first {beyond[0]}, the video ends at {info.frames - 1})")
    return problems


class Renderer:
    """Draws frames with their tracked people and writes them, one frame at a time.

    Owns the writer (``close()`` closes it) and the motion trails. Use as a context
    manager so the writer is closed, and the video playable, even after an error.

    Args:
        writer: an object with ``write(image, index, time=seconds)`` and ``close()`` (see posetrack.io.encode).
        layout: the keypoint layout of the results.
        style: what to draw.
        only_ids: draw only these track ids (None: everyone).
    """

    def __init__(self, writer, layout: KeypointLayout, style: DrawStyle = DrawStyle(),
                 only_ids: Optional[Collection[int]] = None):
        self.writer = writer
        self.layout = layout
        self.style = style
        self.only_ids = None if only_ids is None else frozenset(int(i) for i in only_ids)
        self.trails = Trails(style.trails, style.min_score) if style.trails else None
        self.frames = 0
        self.frames_with_people = 0

    @classmethod
    def to_file(cls, target, info: VideoInfo, layout: KeypointLayout, style: DrawStyle = DrawStyle(),
                only_ids: Optional[Collection[int]] = None, *, frames_dir: bool = False, codec: str = "h264",
                crf: int = 18, stride: int = 1) -> "Renderer":
        """A renderer writing an MP4 (or PNG frames into a folder) at the size of ``info``.

        Frames are shown at their source times; ``stride`` (every N-th frame is added) sets
        the nominal rate ``info.fps / stride`` used for frames without a time.

        Raises:
            EncoderNotFoundError: no encoder for ``codec`` (see posetrack.io.encode).
        """
        if stride < 1:
            raise InputError(f"stride must be at least 1, got {stride}")
        writer = open_writer(target, info.fps / stride, (info.width, info.height), frames_dir=frames_dir,
                             codec=codec, crf=crf)
        return cls(writer, layout, style, only_ids)

    def add(self, frame: Frame, result: Optional[FrameResult]) -> np.ndarray:
        """Draw ``result`` (None: nobody) on ``frame``, write it, and return the drawn image."""
        if result is not None:
            if result.frame != frame.index:
                raise ValueError(f"frame {frame.index} was given the people of frame {result.frame}")
            result = select_ids(result, self.only_ids)
        if self.trails is not None:
            self.trails.update(result)
        image = draw_frame(frame.image, result, self.layout, self.style, self.trails)
        self.writer.write(image, frame.index, time=frame.time)
        self.frames += 1
        self.frames_with_people += bool(result is not None and len(result))
        return image

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render_video(source: FrameSource, tracks: TrackFile, writer, style: DrawStyle = DrawStyle(),
                 start: int = 0, end: Optional[int] = None, only_ids: Optional[Collection[int]] = None,
                 progress: Optional[Progress] = None) -> RenderSummary:
    """Draw ``tracks`` onto the frames of ``source`` and write them, streaming frame by frame.

    Frames without an entry in the tracks, or without people, are written unchanged.
    ``writer`` is closed on return, on errors and on Ctrl-C too, so what was rendered
    stays a playable video.

    Args:
        source: the frames (open it with the start/end/stride to render).
        tracks: the people to draw.
        writer: where frames go (posetrack.io.encode.open_writer).
        style: what to draw.
        start, end: render only source frames ``start <= index < end`` (end None: to the end).
        only_ids: draw only these track ids.
        progress: called as ``progress(done, total)`` after every frame (total None: a live
            source of unknown length).

    Returns:
        A :class:`RenderSummary`.
    """
    people = tracks.by_frame()
    indices = getattr(source, "indices", None)
    total = None if indices is None else sum(1 for i in indices if i >= start and (end is None or i < end))
    done = 0
    if not tracks.complete:
        log.warning("the tracks file is partial (an interrupted run); frames it lacks are drawn without people")
    with Renderer(writer, tracks.layout, style, only_ids) as renderer:
        for frame in source:
            if frame.index < start:
                continue
            if end is not None and frame.index >= end:
                break
            renderer.add(frame, people.get(frame.index))
            done += 1
            if progress is not None:
                progress(done, total)
    return RenderSummary(renderer.frames, renderer.frames_with_people, source.truncated_at)


def run_stride(tracks: TrackFile) -> int:
    """The stride of the run that made ``tracks`` (its header's settings), or 1."""
    return _setting(tracks.header.settings, "stride", 1) or 1


def _setting(settings, name: str, low: int) -> Optional[int]:
    value = settings.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= low else None


def tracks_range(tracks: TrackFile, source_frames: Optional[int] = None) -> Tuple[int, Optional[int]]:
    """The frames a tracks file covers, as (start, end): what a render draws by default.

    The range of the run that made the file (``settings.start`` and ``settings.end``), else the whole
    file; without a recorded end, a file counting fewer frames than the source (``video.frames`` <
    ``source_frames``) ends there. ``end`` is exclusive, None: the source's end.
    """
    settings = tracks.header.settings
    start, end = _setting(settings, "start", 0) or 0, _setting(settings, "end", 1)
    counted = tracks.header.video.frames
    if end is None and counted is not None and source_frames is not None and counted < source_frames:
        end = counted
    return start, end


def _covered(source, tracks: TrackFile) -> Tuple[int, Optional[int]]:
    """:func:`tracks_range` against the source's length (a live source is read once: from its start)."""
    if is_live(source):
        return 0, None
    with open_source(source) as whole:
        return tracks_range(tracks, whole.info.frames)


def _warn_unknown_ids(tracks: TrackFile, only_ids: Optional[Collection[int]]) -> None:
    if not only_ids:
        return
    present = {int(t) for f in tracks.frames if f.track_ids is not None for t in f.track_ids}
    missing = sorted(set(map(int, only_ids)) - present)
    if missing:
        log.warning("No person has track id %s in this tracks file.", ", ".join(map(str, missing)))


def _check_match(info: VideoInfo, tracks: TrackFile, source, name: str, allow_mismatch: bool) -> None:
    """Refuse (or, allowed, warn about) tracks that do not fit the video."""
    problems = check_tracks_match(info, tracks)
    if problems and not allow_mismatch:
        raise MismatchError(f"{name} does not match {source}: {'; '.join(problems)} (allow_mismatch=True draws "
                            "them anyway)", problems, field="allow_mismatch=True")
    if problems:
        log.warning("%s does not match %s (drawing anyway): %s", name, source, "; ".join(problems))


def render_tracks(source, tracks, out, style: DrawStyle = DrawStyle(), *, start: Optional[int] = None,
                  end: Optional[int] = None,
                  stride: Optional[int] = None, only_ids: Optional[Collection[int]] = None, frames_dir: bool = False,
                  codec: str = "h264", crf: int = 18, force: bool = False, allow_mismatch: bool = False,
                  progress: Optional[Progress] = None) -> RenderSummary:
    """Draw a tracks file onto its video and write the result: what ``posetrack render`` and
    :func:`posetrack.render` do.

    Args:
        source: the video file, image folder or stream URL the tracks were made from.
        tracks: a :class:`~posetrack.tracksfile.codec.TrackFile` or the path of a tracks file.
        out: the video to write (.mp4, .m4v, .mov, .mkv), or a folder for PNG frames with ``frames_dir``.
        style: what to draw.
        start, end: render source frames ``start <= index < end`` (end None: to the end). Both None: the
            frames the tracks cover (:func:`tracks_range`: a ``run --end 60`` file draws frames 0-59).
        stride: render every N-th frame; the video plays at fps / N. None: the stride of the run
            that made the tracks (their settings), so a strided run's file is drawn without
            empty frames in between.
        only_ids: draw only these track ids (ids no person has are warned about).
        frames_dir: write lossless PNG frames into the folder ``out`` (the setting ``frames_dir``) instead of a video.
        codec: "h264" (plays everywhere) or "mpeg4" (for FFmpeg builds without H.264).
        crf: H.264 quality (lower is better and bigger; 18 looks like the source).
        force: overwrite ``out`` (a folder counts when it holds frame PNGs).
        allow_mismatch: draw even if the tracks do not match the video (a warning lists how).
        progress: called as ``progress(done, total)`` after every frame.

    Returns:
        A :class:`RenderSummary`, with the video drawn on and the stride used.

    Raises:
        OutputExistsError: ``out`` exists and ``force`` is not set.
        PathConflictError: ``out`` is the source, the tracks file, or inside the source's folder of frames.
        MismatchError: the tracks do not match the video (``problems`` lists each difference),
            unless ``allow_mismatch``.
        EncoderError: no encoder for ``codec`` in this FFmpeg build.
    """
    field = "frames_dir" if frames_dir else "out"
    given = None if isinstance(tracks, TrackFile) else tracks
    check_writes({field: out}, {"source": source, "tracks": given}, force=force,
                 patterns={field: FRAME_FILES} if frames_dir else {})
    track_file = tracks if given is None else read_tracks(given)
    _warn_unknown_ids(track_file, only_ids)
    stride = run_stride(track_file) if stride is None else stride
    if start is None and end is None:
        start, end = _covered(source, track_file)
    with open_source(source, start=start or 0, end=end, stride=stride) as src:
        info = src.info
        _check_match(info, track_file, source, "the tracks" if given is None else str(given), allow_mismatch)
        writer = open_writer(out, info.fps / stride, (info.width, info.height), frames_dir=frames_dir, codec=codec,
                             crf=crf)
        summary = render_video(src, track_file, writer, style, only_ids=only_ids, progress=progress)
    return dataclasses.replace(summary, video=info, stride=stride)
