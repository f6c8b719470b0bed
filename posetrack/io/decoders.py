"""Frame decoders behind :func:`posetrack.io.video.open_source`: PyAV, decord, OpenCV, cameras and image folders.

Every reader has the same small interface: ``info`` (a :class:`VideoInfo`), ``name``,
``exact_count`` (True when ``info.frames`` comes from the container's index, so a shorter
decode means the file is cut off), ``count_estimated`` (True when ``info.frames`` is an
estimate: a cut-off Matroska file's stated duration times its frame rate), ``read(selection, batch_size)`` yielding lists of
:class:`Frame` in index order, and ``close()``. At a frame a video reader cannot decode it
yields what it has and raises :class:`FrameFailed`; an image folder raises
:class:`SourceError` naming the image.

Frame times (``Frame.time``, seconds from the start of the source) come from the
container's presentation timestamps: PyAV's ``frame.pts * time_base``, decord's
``get_frame_timestamp``, OpenCV's ``CAP_PROP_POS_MSEC`` (all three agree to the
millisecond on a variable-frame-rate test clip, tests/test_video.py). Cameras are timed by
the monotonic clock when a frame arrives. Image folders carry no times (None): their
frame rate is an assumption (``folder_fps``), not a fact about the frames.

The decoders' own logging (FFmpeg's "[h264 @ 0x...]" lines) is switched off: what went
wrong reaches the user as one warning or error naming the file and frame.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from posetrack.errors import InputError, SourceError
from posetrack.types import DEFAULT_FPS, Frame, VideoInfo

__all__ = ["Selection", "FrameFailed", "OpenFailed", "PyAVReader", "DecordReader", "OpenCVReader",
           "CameraReader", "ImageFolderReader", "IMAGE_SUFFIXES", "DEFAULT_FOLDER_FPS", "list_images",
           "natural_key"]

log = logging.getLogger("posetrack.io.video")

# What cv2.imread reads in every OpenCV wheel; other files in a folder are ignored (and listed in the log).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FOLDER_FPS = DEFAULT_FPS      # an image folder says nothing of its rate

# Seconds a network stream may take to open, and to deliver the next data, before it counts as gone.
STREAM_TIMEOUT = (15.0, 15.0)


class _Damaged(Exception):
    """The container marks a packet damaged or cut off, or the video ends before its stated duration."""


class OpenFailed(Exception):
    """A backend cannot read this source at all (the reason is the message)."""


class FrameFailed(Exception):
    """Decoding stopped at frame ``index``; frames before it were delivered."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


@dataclass(frozen=True)
class Selection:
    """Which frames to deliver: ``start <= index < stop`` (stop None: to the end), every ``stride``-th."""

    start: int = 0
    stop: Optional[int] = None
    stride: int = 1

    def __contains__(self, index: int) -> bool:
        return index >= self.start and (self.stop is None or index < self.stop) and \
            (index - self.start) % self.stride == 0

    def past(self, index: int) -> bool:
        """True when no frame at or after ``index`` is wanted."""
        return self.stop is not None and index >= self.stop

    @property
    def last(self) -> Optional[int]:
        """The last index wanted (None when the end is unknown or nothing is wanted)."""
        if self.stop is None or self.stop <= self.start:
            return None
        return self.start + (self.stop - 1 - self.start) // self.stride * self.stride

    def done(self, index: int) -> bool:
        """True once ``index`` is the last frame wanted, or past it."""
        return self.stop is not None and (self.last is None or index >= self.last)

    @property
    def indices(self) -> Optional[List[int]]:
        """The wanted indices, or None when the end is unknown."""
        return None if self.stop is None else list(range(self.start, self.stop, self.stride))


def natural_key(name: str) -> list:
    """Sort key that orders digit runs by value: ``frame2`` < ``frame10``."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", name) if t]


def list_images(folder: Path) -> List[Path]:
    """The frames of an image folder (IMAGE_SUFFIXES, any case), in natural sort order (frame2 before frame10)."""
    files = [p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: natural_key(p.name))


def reason_of(exc: BaseException) -> str:
    """The gist of a decoder's error in plain words: no error numbers, source files or C function names."""
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    text = text.splitlines()[0]
    text = re.sub(r"^(\[[\d:]+\] \S+:\d+: )+(Error: )?", "", text)   # decord: "[13:27:50] file.cc:292: "
    text = re.sub(r"^\[Errno -?\d+\] ", "", text)                      # PyAV without strerror
    text = re.sub(r": '\w+\(\)'$", "", text)                          # PyAV: ": 'avcodec_send_packet()'"
    text = re.sub(r" with -?\d+$", "", text)                           # decord: "av_read_frame failed with 1094995529"
    return text[:200]


def _fps_or_default(fps: float, where: str) -> float:
    if fps and math.isfinite(fps) and fps > 0:
        return float(fps)
    log.warning("%s: the video states no frame rate; assuming %g fps", where, DEFAULT_FOLDER_FPS)
    return DEFAULT_FOLDER_FPS


def _chunks(indices: Sequence[int], size: int) -> Iterator[List[int]]:
    for i in range(0, len(indices), size):
        yield list(indices[i:i + size])


# OpenCV reads this once, when it first opens or writes a video with FFmpeg: AV_LOG_QUIET (-8)
# keeps FFmpeg's "[h264 @ 0x...]" lines off stderr. A value the user set is kept.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def _quiet_decord() -> None:
    import decord

    decord.logging.set_level(decord.logging.QUIET)


@contextlib.contextmanager
def _quiet_opencv():
    """OpenCV's own "[ WARN:0@0.01] ..." lines off while opening a capture (restored after)."""
    import cv2

    old = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(old)


# ---------------------------------------------------------------- PyAV

class PyAVReader:
    """PyAV (FFmpeg): sequential decoding with exact timestamps; files, and http(s)/rtsp/rtmp streams.

    ``info.frames`` is the container's frame count; when the container states none (Matroska,
    WebM, raw streams) the packets are counted without decoding. A live stream's length is
    unknown (None) unless its container states one.
    """

    name = "pyav"

    def __init__(self, target: str, live: bool = False):
        self._target = target
        self.live = live
        self._pending = None                  # a live source's probe container, reused by the first read
        container = self._open()
        try:
            stream = self._video_stream(container)
            cc = stream.codec_context
            width, height = int(cc.width or 0), int(cc.height or 0)
            rate = stream.average_rate or stream.guessed_rate
            frames = int(stream.frames or 0) or None
            self._duration = _stated_duration(stream) if frames is None and not live else None
            self.count_estimated = False
            if frames is None and not live:
                frames, latest = self._count_packets(container, stream)
                start = float(stream.start_time * stream.time_base) if stream.start_time is not None \
                    and stream.time_base else 0.0
                frames = self._estimate_cut_count(frames, [t - start for t in latest], float(rate or 0), target)
            tb = stream.time_base
            self._t0 = float(stream.start_time * tb) if stream.start_time is not None and tb and not live else None
        except OpenFailed:
            container.close()
            raise
        except Exception as e:  # av.FFmpegError and PyAV's ValueErrors while probing
            container.close()
            raise OpenFailed(reason_of(e)) from None
        if width <= 0 or height <= 0:
            container.close()
            raise OpenFailed("the video stream states no frame size")
        if live:
            self._pending = container
        else:
            container.close()
        if frames is not None and frames <= 0:
            raise OpenFailed("no video frames")
        self.exact_count = frames is not None and not live
        self.info = VideoInfo(target, _fps_or_default(float(rate or 0), target), width, height, frames, live)

    def _open(self):
        import av

        try:
            return av.open(self._target, timeout=STREAM_TIMEOUT if self.live else None)
        except (av.FFmpegError, OSError, ValueError) as e:
            raise OpenFailed(reason_of(e)) from None

    @staticmethod
    def _video_stream(container):
        if not container.streams.video:
            raise OpenFailed("no video stream")
        return container.streams.video[0]

    @staticmethod
    def _count_packets(container, stream) -> Tuple[int, List[float]]:
        """Frames of a container that states no count: its video packets, read without decoding.

        Returns the count and the two latest packet times (seconds, ascending; fewer when unknown).
        """
        import av

        n, latest = 0, []
        tb = stream.time_base
        try:
            for packet in container.demux(stream):
                if packet.size > 0:
                    n += 1
                    if packet.pts is not None and tb:
                        latest = sorted(latest + [float(packet.pts * tb)])[-2:]
        except av.FFmpegError:
            pass  # a damaged tail: the decode finds the frame where it stops
        return n, latest

    def _estimate_cut_count(self, counted: int, latest: List[float], rate: float, target: str) -> int:
        """The frame count of a file whose packets were counted: ``counted``, unless it is cut off.

        A file that states its duration (Matroska, WebM) but whose packets end more than two
        frame intervals before it was cut off (a download or recording that stopped): its
        length is then estimated from the duration and the frame rate (as an MP4's header
        still counts the frames it lost), so boxes for the lost frames are not an error,
        and ``count_estimated`` is set. Decoding stops where the data ends, with a warning.
        """
        if self._duration is None or not latest:
            return counted
        gap = max(1.0 / rate if rate > 0 else 0.0, latest[-1] - latest[0] if len(latest) == 2 else 0.0, 1e-3)
        if latest[-1] + 2 * gap >= self._duration:
            return counted
        self.count_estimated = True
        estimate = max(counted, int(round(self._duration * rate))) if rate > 0 else counted
        log.debug("%s: the packets end at %.3f s, the header says %.3f s: cut off; about %d frames", target,
                 latest[-1], self._duration, estimate)
        return estimate

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        import av

        container, self._pending = self._pending or self._open(), None
        try:
            stream = self._video_stream(container)
            stream.thread_type = "AUTO"  # frame and slice threads: several times faster on H.264
            t0, index, frames, times = self._t0, -1, [], []
            try:
                for vf in _decode(container, stream):
                    index += 1
                    t = vf.time
                    if t is not None and (t0 is None or index == 0 and t < t0):
                        t0 = t   # times count from the first frame shown (or the stated start, if earlier)
                    times.append(None if t is None else t - t0)
                    if sel.past(index):
                        return
                    if index not in sel:
                        continue
                    frames.append(Frame(index, vf.to_ndarray(format="rgb24"), times[-1]))
                    if len(frames) == batch_size:
                        yield frames
                        frames = []
                    if sel.done(index):
                        break
                if self.info.frames is not None and index >= self.info.frames - 1 or not sel.done(index):
                    self._check_duration(times)   # reached the end of the file (as far as it was counted)
            except (av.FFmpegError, _Damaged) as e:
                if frames:
                    yield frames
                raise FrameFailed(index + 1, reason_of(e)) from None
            if frames:
                yield frames
        finally:
            container.close()

    def _check_duration(self, times: List[Optional[float]]) -> None:
        """A file that states its duration but not its frame count (Matroska, WebM) and stops early is cut off."""
        if self._duration is None or len(times) < 2 or times[-1] is None or times[-2] is None:
            return
        gap = max(times[-1] - times[-2], 1e-3)
        if times[-1] + 2 * gap < self._duration:
            raise _Damaged(f"the video ends at {times[-1] + gap:.3f} s, its header says {self._duration:.3f} s")

    def close(self) -> None:
        if self._pending is not None:
            self._pending.close()
            self._pending = None


def _decode(container, stream):
    """The decoded frames of ``stream`` in order; raises _Damaged at a packet the demuxer marks
    damaged (a file cut mid-frame), after the frames the decoder still held."""
    import av

    for packet in container.demux(stream):
        if packet.is_corrupt:
            yield from _held_before(stream, packet)
            raise _Damaged("the data of the next frame is damaged or cut off")
        try:
            frames = packet.decode()
        except av.FFmpegError as e:   # with frame threads the error comes before frames decoded earlier
            yield from _held_before(stream, packet)
            raise _Damaged(reason_of(e)) from None
        yield from frames


def _held_before(stream, packet):
    """Frames the decoder still holds that come before ``packet`` (after it, one would be missing)."""
    import av

    try:
        held = stream.codec_context.decode(None)
    except av.FFmpegError:
        return
    yield from (f for f in held if packet.pts is not None and f.pts is not None and f.pts < packet.pts)


def _stated_duration(stream) -> Optional[float]:
    """The video stream's duration in seconds from Matroska's per-track DURATION tag ("00:00:01.120000000")."""
    tag = (stream.metadata or {}).get("DURATION")
    m = re.match(r"^(\d+):(\d+):(\d+(?:\.\d+)?)$", tag or "")
    return None if m is None else int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


# ---------------------------------------------------------------- decord

class DecordReader:
    """decord: batched reads with ``get_batch``; a failing batch is retried frame by frame."""

    name = "decord"
    exact_count = True  # decord indexes every packet of the file when it opens it

    def __init__(self, path: Path):
        import decord  # ImportError means "not installed"; open_source falls back

        _quiet_decord()
        try:
            self._vr = decord.VideoReader(str(path), ctx=decord.cpu(0))
            n = len(self._vr)
            first = self._vr[0].asnumpy() if n else np.zeros((0, 0, 3), np.uint8)
            fps = self._vr.get_avg_fps()
        except Exception as e:  # decord raises its own DECORDError (an Exception) for everything
            raise OpenFailed(reason_of(e)) from None
        if n <= 0:
            raise OpenFailed("no video frames")
        height, width = first.shape[:2]
        if first.ndim != 3 or first.shape[2] != 3:
            # decord returns (H, 1, 96)-shaped garbage for frames 16 pixels wide or less
            raise OpenFailed(f"decord decodes {width}x{height} frames wrongly")
        self.info = VideoInfo(str(path), _fps_or_default(fps, str(path)), int(width), int(height), int(n))

    def _times(self, chunk: List[int]) -> List[Optional[float]]:
        try:
            return [float(t) for t in self._vr.get_frame_timestamp(chunk)[:, 0]]
        except Exception:
            return [None] * len(chunk)

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        for chunk in _chunks(sel.indices, batch_size):
            try:
                batch = self._vr.get_batch(chunk).asnumpy()
            except Exception:
                yield from self._one_by_one(chunk)
                continue
            yield [Frame(i, batch[k], t) for k, (i, t) in enumerate(zip(chunk, self._times(chunk)))]

    def _one_by_one(self, chunk: List[int]) -> Iterator[List[Frame]]:
        frames = []
        for i in chunk:
            try:
                frames.append(Frame(i, self._vr[i].asnumpy(), self._times([i])[0]))
            except Exception as e:
                if frames:
                    yield frames
                raise FrameFailed(i, reason_of(e)) from None
        yield frames

    def close(self) -> None:
        self._vr = None


# ---------------------------------------------------------------- OpenCV

class OpenCVReader:
    """OpenCV: sequential ``grab``/``read`` (exact frame positions, no keyframe seeking).

    OpenCV estimates the frame count from the duration when the container states none; it
    is the last fallback, and a decode that ends before that count is reported as cut off.
    """

    name = "opencv"

    def __init__(self, target: str, live: bool = False):
        import cv2

        self._target = target
        self.live = live
        with _quiet_opencv():
            cap = cv2.VideoCapture(target)
        try:
            if not cap.isOpened():
                raise OpenFailed("OpenCV cannot open it")
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps = cap.get(cv2.CAP_PROP_FPS)
        finally:
            cap.release()
        if width <= 0 or height <= 0 or (n <= 0 and not live):
            raise OpenFailed("no video frames")
        frames = None if live and n <= 0 else n
        self.exact_count = not live
        self.info = VideoInfo(target, _fps_or_default(fps, target), width, height, frames, live)

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        import cv2

        with _quiet_opencv():
            cap = cv2.VideoCapture(self._target)
        try:
            index, frames = -1, []
            while not sel.past(index + 1):
                if index + 1 not in sel:  # skip by grabbing: exact, unlike CAP_PROP_POS_FRAMES seeks
                    if not cap.grab():
                        break
                    index += 1
                    continue
                ok, bgr = cap.read()
                if not ok:
                    break
                index += 1
                t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                frames.append(Frame(index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t))
                if len(frames) == batch_size:
                    yield frames
                    frames = []
                if sel.done(index):
                    break
            if frames:
                yield frames
        finally:
            cap.release()

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- cameras

class CameraReader:
    """A camera by index (OpenCV), read until it stops or the selection ends; timed by the monotonic clock."""

    name = "camera"
    exact_count = False

    def __init__(self, index: int):
        import cv2

        self.index = index
        with _quiet_opencv():
            self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"camera {index}: cannot open it (no such camera, or another program is using it)")
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._cap.release()
            raise SourceError(f"camera {index}: opened, but it delivers no frames")
        self._first = bgr
        height, width = bgr.shape[:2]
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(str(index), _fps_or_default(fps, f"camera {index}"), int(width), int(height), None,
                              True)

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        import cv2

        if self._cap is None:
            with _quiet_opencv():
                self._cap = cv2.VideoCapture(self.index)
        cap = self._cap
        self._cap = None
        first, self._first = self._first, None
        t0 = time.monotonic()
        index, frames = -1, []
        try:
            while True:
                bgr = first if first is not None else cap.read()[1]
                first = None
                if bgr is None:
                    break
                index += 1
                if index in sel:
                    frames.append(Frame(index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.monotonic() - t0))
                    if len(frames) == batch_size:
                        yield frames
                        frames = []
                if sel.done(index):
                    break
            if frames:
                yield frames
        finally:
            cap.release()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# ---------------------------------------------------------------- image folders

class ImageFolderReader:
    """A folder of images, one frame per file, in natural sort order; no times (see the module docstring)."""

    name = "images"
    exact_count = True

    def __init__(self, folder: Path, fps: float):
        self.folder = folder
        self.files = list_images(folder)
        others = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() not in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"{folder}: no images in this folder ({', '.join(IMAGE_SUFFIXES)})")
        if others:
            log.info("%s: ignoring %d file(s) that are not images (%s%s)", folder, len(others), others[0],
                     ", ..." if len(others) > 1 else "")
        if not (fps > 0 and math.isfinite(fps)):
            raise InputError(f"folder_fps must be a positive number, got {fps}")
        first = self._load(0)
        self.info = VideoInfo(str(folder), float(fps), first.shape[1], first.shape[0], len(self.files))

    def _load(self, i: int) -> np.ndarray:
        import cv2

        path = self.files[i]
        try:
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        except cv2.error:
            bgr = None
        if bgr is None:
            raise SourceError(f"{path}: cannot read this image (frame {i} of the folder; "
                              "the file is damaged or not an image)")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def read(self, sel: Selection, batch_size: int) -> Iterator[List[Frame]]:
        for chunk in _chunks(sel.indices, batch_size):
            frames = []
            for i in chunk:
                try:
                    image = self._load(i)
                    if image.shape[:2] != (self.info.height, self.info.width):
                        raise SourceError(f"{self.files[i]}: image is {image.shape[1]}x{image.shape[0]}, "
                                          f"the sequence is {self.info.width}x{self.info.height} "
                                          f"(frame {i} of the folder)")
                except SourceError:
                    if frames:
                        yield frames  # the frames before the bad image reach the consumer first
                    raise
                frames.append(Frame(i, image))
            yield frames

    def close(self) -> None:
        pass
