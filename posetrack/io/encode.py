"""Writing annotated frames: an H.264 MP4 through PyAV (which bundles FFmpeg), or PNG files.

The MP4 is made to play anywhere: H.264 in yuv420p, tagged BT.709, with its index at
the front of the file (``+faststart``) so browsers start playing before the download
ends. Frames stream through the encoder one at a time, so memory does not grow with the
length of the video.

Timing: each frame is shown at its source time. ``write(image, time=t)`` stamps the frame
with ``t`` seconds (counted from the first frame written) on a 1/90000 s clock, so a
variable-frame-rate source keeps its timing exactly; without times, frames are spaced
``1 / fps`` apart. ``fps`` is the nominal rate of the output: the source's rate, divided
by N when only every N-th frame is written (a stride-N render then plays at fps / N, in
real time). The last frame lasts ``1 / fps``.

Fallbacks when this FFmpeg build has no H.264 encoder (the writer then raises
:class:`EncoderNotFoundError` saying so): ``codec="mpeg4"`` writes MPEG-4 Part 2 into the
MP4 (plays in VLC and desktop players, not in most browsers), and
:class:`PngFramesWriter` writes lossless PNG frames that any tool can assemble.

Odd sizes: yuv420p keeps colour at half resolution, so H.264 needs an even width and
height. A frame with an odd side is padded by repeating its last column or row; the
video is then one pixel wider or taller than the source (logged once).

Example:
    >>> from posetrack.io.encode import open_writer
    >>> with open_writer("annotated.mp4", fps=25.0, size=(1280, 720)) as writer:
    ...     for frame in frames:                  # Frame: .image (720, 1280, 3) uint8 RGB, .time seconds
    ...         writer.write(frame.image, frame.index, time=frame.time)
"""
from __future__ import annotations

import logging
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from posetrack.errors import ConfigError, EncoderError, InputError

__all__ = ["EncoderNotFoundError", "Mp4Writer", "PngFramesWriter", "open_writer", "find_encoder", "frame_rate",
           "CODECS", "VIDEO_SUFFIXES"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

# Codec choices by name -> FFmpeg encoders to try, in order. Hardware encoders (nvenc, qsv)
# are left out: they are listed in many builds but fail to open without the hardware.
CODECS: Dict[str, Tuple[str, ...]] = {"h264": ("libx264", "libopenh264"), "mpeg4": ("mpeg4",)}
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")


# The clock frames are stamped on: 90 kHz, MPEG's system clock (exact for 24, 25, 30, 50, 60 and
# 30000/1001 fps); MPEG-4 Part 2 allows at most 16 bits (65535) there, so it gets 60 kHz.
TIME_BASE = Fraction(1, 90000)
TIME_BASES: Dict[str, Fraction] = {"mpeg4": Fraction(1, 60000)}


class EncoderNotFoundError(EncoderError):
    """This FFmpeg build has no encoder for the requested codec; the message names the fallbacks."""


def frame_rate(fps: float) -> Fraction:
    """A frame rate as the exact fraction containers store: 25 -> 25, 29.97002997 -> 30000/1001."""
    if not (math.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate must be a positive number, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def find_encoder(codec: str = "h264") -> str:
    """The first FFmpeg encoder available for ``codec`` ("h264" or "mpeg4").

    Raises:
        ValueError: an unknown codec name.
        EncoderNotFoundError: none of the codec's encoders is in this FFmpeg build.
    """
    import av

    if codec not in CODECS:
        raise ConfigError(f"unknown codec {codec!r}; choose one of: {', '.join(CODECS)}", field="codec")
    for name in CODECS[codec]:
        try:
            av.codec.Codec(name, "w")
            return name
        except ValueError:  # av's UnknownCodecError
            continue
    raise EncoderNotFoundError(
        f"no {codec} encoder in this FFmpeg (PyAV {av.__version__}; tried {', '.join(CODECS[codec])}). "
        "Install a PyAV wheel that bundles libx264 (pip install --force-reinstall av), "
        'or use codec="mpeg4" (plays in VLC, not in browsers) or frames_dir (PNG frames)',
        fields=("codec=mpeg4", "frames_dir"))


def _encoder_options(encoder: str, crf: int, width: int, height: int, fps: float) -> Tuple[Dict[str, str], int]:
    """Encoder options and bit rate: constant quality for x264, a size-based bit rate for the others."""
    if encoder == "libx264":
        return {"crf": str(crf), "preset": "medium"}, 0
    return {}, int(max(1_000_000, width * height * fps * 0.15))


class Mp4Writer:
    """Streams RGB frames into an MP4 with PyAV: H.264 yuv420p unless another codec is asked for.

    Args:
        path: the video file to write (.mp4, .m4v, .mov or .mkv).
        fps: nominal frame rate of the output (the source's, divided by the stride); frames
            without a time are spaced ``1 / fps`` apart.
        size: (width, height) of every frame.
        codec: "h264" (default) or "mpeg4" (the fallback when no H.264 encoder exists).
        crf: x264 constant quality, 0 (lossless) to 51; 18 looks like the source.

    Raises:
        EncoderNotFoundError: no encoder for ``codec``.
    """

    def __init__(self, path: PathLike, fps: float, size: Tuple[int, int], codec: str = "h264", crf: int = 18):
        import av
        from av.video.reformatter import ColorRange, Colorspace

        self.path = Path(path)
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.encoder = find_encoder(codec)
        if codec != "h264":
            log.warning("%s: writing %s, which plays in VLC and desktop players but not in most browsers",
                        self.path, codec)
        w, h = self.size
        if w < 1 or h < 1:
            raise InputError(f"{self.path}: cannot encode {w}x{h} frames")
        self.coded_size = (w + w % 2, h + h % 2)
        if self.coded_size != self.size:
            log.warning("%s: H.264 needs an even width and height; %dx%d frames are padded to %dx%d",
                        self.path, w, h, *self.coded_size)
        self._to_yuv = dict(format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
        self.frames_written = 0
        self.time_base = TIME_BASES.get(self.encoder, TIME_BASE)
        self._t0: Optional[float] = None       # time of the first frame written (seconds)
        self._last_pts = -1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), "w", container_options={"movflags": "+faststart"})
        try:
            self._stream = self._add_stream(frame_rate(fps), crf)
        except BaseException:
            self._container.close()
            raise

    def _add_stream(self, rate: Fraction, crf: int):
        import av

        stream = self._container.add_stream(self.encoder, rate=rate)
        stream.width, stream.height = self.coded_size
        stream.pix_fmt = "yuv420p"
        stream.time_base = self.time_base
        cc = stream.codec_context
        cc.time_base = self.time_base
        cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709, what browsers assume for video
        cc.color_range = 1  # limited ("MPEG") range
        options, bit_rate = _encoder_options(self.encoder, crf, *self.coded_size, self.fps)
        stream.options = options
        if bit_rate:
            cc.bit_rate = bit_rate
        try:
            cc.open()
        except av.FFmpegError as e:
            raise EncoderNotFoundError(f"{self.path}: the {self.encoder} encoder failed to start ({e})") from e
        return stream

    def write(self, image: np.ndarray, index: Optional[int] = None, time: Optional[float] = None) -> None:
        """Encode one (H, W, 3) uint8 RGB frame, shown at ``time`` seconds (None: 1 / fps after the last).

        ``index`` is accepted for symmetry with PNG output. Times must increase; a time
        that does not is moved one clock tick after the previous frame.
        """
        import av

        w, h = self.size
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == (h, w, 3)):
            raise ValueError(f"{self.path}: frame {self.frames_written} is {getattr(image, 'dtype', '?')} "
                             f"{getattr(image, 'shape', '?')}, the video is {w}x{h} uint8 RGB")
        if self.coded_size != self.size:
            image = np.pad(image, ((0, self.coded_size[1] - h), (0, self.coded_size[0] - w), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24").reformat(**self._to_yuv)
        frame.pts = self._pts(time)
        frame.time_base = self.time_base
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except av.FFmpegError as e:
            raise EncoderError(f"{self.path}: encoding frame {self.frames_written} failed ({e})") from e
        self.frames_written += 1

    def _pts(self, time: Optional[float]) -> int:
        """The frame's timestamp in ``time_base`` ticks from the first frame, strictly increasing."""
        tb = self.time_base
        step = 1 / (self.fps * tb)
        if time is None or not math.isfinite(time):
            pts = 0 if self._last_pts < 0 else self._last_pts + step
        else:
            if self._t0 is None:
                self._t0 = float(time) - (0 if self._last_pts < 0 else float((self._last_pts + step) * tb))
            pts = (float(time) - self._t0) / tb
        pts = max(int(round(pts)), self._last_pts + 1)
        self._last_pts = pts
        return pts

    def close(self) -> None:
        """Flush the encoder and finish the file (safe to call twice)."""
        if self._container is None:
            return
        container, self._container = self._container, None
        try:
            for packet in self._stream.encode(None):
                container.mux(packet)
        finally:
            container.close()

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# The files PngFramesWriter writes (frame_000123.png): a folder holding one already holds an output.
FRAME_FILES = "frame_*.png"


class PngFramesWriter:
    """Writes each frame as ``frame_000123.png`` (named by source frame index) into a folder.

    Args:
        directory: created if missing.
        size: (width, height) every frame must have, or None to accept any.
    """

    def __init__(self, directory: PathLike, size: Optional[Tuple[int, int]] = None):
        self.path = Path(directory)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: exists and is not a folder (PNG frames need a folder)")
        self.path.mkdir(parents=True, exist_ok=True)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.frames_written = 0

    def write(self, image: np.ndarray, index: Optional[int] = None, time: Optional[float] = None) -> Path:
        """Write one (H, W, 3) uint8 RGB frame; returns the file written (``time`` is not kept)."""
        import cv2

        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise ValueError(f"{self.path}: expected an (H, W, 3) uint8 RGB frame, got {getattr(image, 'shape', '?')}")
        if self.size is not None and image.shape[:2] != (self.size[1], self.size[0]):
            raise ValueError(f"{self.path}: frame is {image.shape[1]}x{image.shape[0]}, expected "
                             f"{self.size[0]}x{self.size[1]}")
        out = self.path / f"frame_{self.frames_written if index is None else index:06d}.png"
        if not cv2.imwrite(str(out), np.ascontiguousarray(image[..., ::-1])):
            raise OSError(f"{out}: could not write the PNG")
        self.frames_written += 1
        return out

    def close(self) -> None:
        pass

    def __enter__(self) -> "PngFramesWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_writer(target: PathLike, fps: float, size: Tuple[int, int], *, frames_dir: bool = False,
                codec: str = "h264", crf: int = 18):
    """A writer for ``target``: PNG frames into a folder if ``frames_dir``, else a video file.

    Args:
        target: a .mp4/.m4v/.mov/.mkv file, or a folder when ``frames_dir``.
        fps: nominal frame rate of the output: the source's, divided by the stride.
        size: (width, height) of the frames.
        frames_dir: write PNG frames instead of a video.
        codec: "h264" or "mpeg4" (see the module docstring for the fallback).
        crf: x264 quality (lower is better, 18 is visually lossless).

    Raises:
        ValueError: an unknown video extension or codec.
        EncoderNotFoundError: no encoder for ``codec`` in this FFmpeg build.
    """
    if frames_dir:
        return PngFramesWriter(target, size)
    suffix = Path(target).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise InputError(f"{target}: unknown video extension {suffix or '(none)'!r}; use "
                         f"{', '.join(VIDEO_SUFFIXES)}, or frames_dir (PNG frames)", field="out",
                         fields=("frames_dir",))
    return Mp4Writer(target, fps, size, codec=codec, crf=crf)
