"""Poses from any tool posetrack reads, as a :class:`~posetrack.tracksfile.codec.TrackFile`.

``posetrack track`` and ``posetrack convert`` read their input through :func:`read_poses_file`:
a tracks file as it is, or another tool's poses (:mod:`posetrack.io.formats`) with the header
taken from the video they were made from (frame size, frame rate, frame count, image names).
No tool's file carries the frame size and rate, so without the video they must be given.

Example:
    >>> from posetrack.tracksfile.foreign import read_poses_file
    >>> tracks = read_poses_file("alphapose-results.json", video="clip.mp4")     # doctest: +SKIP
    >>> tracks.header.settings["input"]                                          # doctest: +SKIP
    {'format': 'alphapose', 'path': 'alphapose-results.json'}
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

from posetrack.io.formats import INPUT_FORMATS, ForeignFormatError, Placement, check_format, detect_format, read_poses
from posetrack.keypoints import COCO
from posetrack.tracksfile.codec import TrackFile, TracksHeader, read_tracks
from posetrack.types import FrameResult, VideoInfo

__all__ = ["read_poses_file", "video_facts", "image_file_names"]

PathLike = Union[str, os.PathLike]


def video_facts(video: PathLike) -> Tuple[VideoInfo, Optional[Sequence[str]]]:
    """The :class:`VideoInfo` of a video or image folder (read from its header, no frame decoded
    beyond what opening needs) and, for a folder, its images' file names in frame order.

    Raises:
        FileNotFoundError, SourceError: the video cannot be opened.
    """
    from posetrack.io.video import open_source

    with open_source(video) as source:
        info = source.info
    return info, image_file_names(video)


def image_file_names(source: Optional[PathLike]) -> Optional[List[str]]:
    """An image folder's file names in frame order (placing files that name their frames by image);
    None for anything else (a video, a camera, None)."""
    if source is None or not os.path.isdir(source):
        return None
    from posetrack.io.decoders import list_images

    return [p.name for p in list_images(Path(source))]


def read_poses_file(path: PathLike, input_format: Optional[str] = None, *, video: Optional[PathLike] = None,
                    fps: Optional[float] = None, frame_size: Optional[Tuple[int, int]] = None) -> TrackFile:
    """Read saved poses of any supported tool as a tracks file (COCO-17 layout for other tools).

    Args:
        path: the poses file or folder.
        input_format: a name of :data:`posetrack.io.formats.INPUT_FORMATS`; None: told from the content.
        video: the video or image folder the poses were made from: gives the frame size, rate
            and count, and places frames that files name by image.
        fps, frame_size: the frame rate and (width, height) when no video is given.

    Returns:
        A :class:`TrackFile`; for another tool's poses, no track ids (``track`` assigns them), no
        frame times, and ``settings["input"]`` naming the format and file.

    Raises:
        ForeignFormatError: an unknown format, a boxes-only format, a file that breaks its format,
            frames past the video's end, or no video and no frame size / rate.
        TracksFormatError: a tracks file that breaks its schema.
    """
    path = Path(path)
    name = input_format or detect_format(path)
    fmt = check_format(name)
    if fmt.name == "posetrack":
        return read_tracks(path)
    if not fmt.poses:
        raise ForeignFormatError(f"{path}: {fmt.title} holds boxes, not poses: give it as the boxes file of a run "
                                 "(boxes_file)")
    info, names = video_facts(video) if video is not None else (None, None)
    size = (info.width, info.height) if info is not None else frame_size
    rate = info.fps if info is not None else fps
    if size is None or rate is None:      # checked before reading: every such file needs them
        raise ForeignFormatError(f"{path}: {INPUT_FORMATS[fmt.name].title} holds no frame size or frame rate: "
                                 "give the video the poses were made from (video), or frame_size and fps",
                                 field="video")
    frames = read_poses(path, fmt.name, Placement(frame_size=size, image_names=names,
                                                  source=None if video is None else str(video)))
    return TrackFile(header=_header(path, fmt.name, info, video, size, rate, frames), frames=tuple(
        FrameResult(frame=f, poses=p) for f, p in frames), complete=True)


def _header(path: Path, fmt: str, info: Optional[VideoInfo], video, size, rate, frames: List) -> TracksHeader:
    last = frames[-1][0] if frames else -1
    total = info.frames if info is not None and info.frames is not None else last + 1
    if last >= total:
        raise ForeignFormatError(f"{path}: frame {last} (0-based) is past the end of {video}, which has {total} frames",
                                 field="video")
    record = VideoInfo(path=str(video if video is not None else path), fps=float(rate), width=int(size[0]),
                       height=int(size[1]), frames=max(total, 0))
    return TracksHeader(video=record, layout=COCO, settings={"input": {"format": fmt, "path": str(path)}})
