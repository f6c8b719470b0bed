"""Frame sources: video files, image folders, cameras and network streams, decoded ahead on a thread.

What ``open_source`` accepts:

* a video file: read with PyAV (exact timestamps, FFmpeg's formats), falling back to OpenCV
  when PyAV is missing or cannot open the file (decord on request);
* a folder of images (.jpg .jpeg .png .bmp .tif .tiff .webp, how PoseTrack ships its
  sequences), read in natural order (``frame2`` before ``frame10``); other files are
  ignored. Folders carry no frame rate (``folder_fps``, 25 by default, stands in) and no
  frame times (``Frame.time`` is None);
* a camera index (``0`` or ``"0"``), read with OpenCV;
* a stream URL (``rtsp://``, ``rtmp://``, ``http://``, ``https://``, ...), read with PyAV,
  falling back to OpenCV.

Cameras and URLs are *live*: ``info.live`` is True, they are read once front to back and
cannot be resumed. A live source's length is usually unknown: ``info.frames`` and
``source.indices`` are then None and ``source.total`` is None; it ends when the stream
ends, at ``end``, or when the consumer stops.

Each frame carries its presentation time in seconds from the start of the source
(``Frame.time``, from the container's timestamps, variable frame rate included).

A video that stops decoding part-way (cut off, corrupt), or ends before the frame count
its container states (or, for Matroska and WebM, which state none, before the duration
it states: ``info.frames`` is then an estimate and ``frames_exact`` False), does not raise: the source logs a warning naming the file and
frame, stops there, and sets ``truncated_at``, so everything before that frame is kept.
An image folder with a damaged image, or an image of another size, raises
:class:`~posetrack.errors.SourceError` naming the image, after delivering every frame
before it.

Example:
    >>> from posetrack.io.video import open_source
    >>> with open_source("clip.mp4", start=10, end=100, stride=2) as source:
    ...     print(source.info.fps, source.total)
    ...     for frame in source:            # posetrack.types.Frame, RGB uint8, .time in seconds
    ...         pass
    ...     if source.truncated_at is not None:
    ...         print("stopped at frame", source.truncated_at)
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue
import re
import threading
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Union

from posetrack.io.decoders import (DEFAULT_FOLDER_FPS, IMAGE_SUFFIXES, CameraReader, DecordReader, FrameFailed,
                       ImageFolderReader, OpenCVReader, OpenFailed, PyAVReader, Selection, list_images,
                       natural_key)
from posetrack.errors import ConfigError, InputError, SourceError
from posetrack.types import Frame, VideoInfo

__all__ = ["FrameSource", "open_source", "list_images", "natural_key", "is_live", "check_resumable",
           "BACKENDS", "AUTO_BACKENDS", "IMAGE_SUFFIXES", "DEFAULT_FOLDER_FPS"]

log = logging.getLogger(__name__)

SourceLike = Union[str, os.PathLike, int]

# Video-file backends by name. "auto" tries AUTO_BACKENDS in order: PyAV first (exact
# timestamps, a frame count it can vouch for, as fast as OpenCV and 1.3-1.9x decord here:
# benchmarks/video_decode_speed.py), then OpenCV (its own FFmpeg build). decord is used only when
# asked for: on damaged files it prints its own errors to stderr and fills undecodable frames
# with copies of their neighbours ("recovered from nearest frames"), silently.
BACKENDS: Dict[str, Callable[[Path], object]] = {
    "pyav": lambda path: PyAVReader(str(path)),
    "decord": DecordReader,
    "opencv": lambda path: OpenCVReader(str(path)),
}
AUTO_BACKENDS = ("pyav", "opencv")
STREAM_BACKENDS: Dict[str, Callable[[str], object]] = {
    "pyav": lambda url: PyAVReader(url, live=True),
    "opencv": lambda url: OpenCVReader(url, live=True),
}

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def _camera_index(source: SourceLike) -> Optional[int]:
    if isinstance(source, bool):
        return None
    if isinstance(source, int):
        return source
    if isinstance(source, str) and source.strip().isdigit():
        return int(source)
    return None


def is_live(source: SourceLike) -> bool:
    """True for a camera index (``0``, ``"1"``) or a stream URL (``rtsp://``, ``http://``, ...).

    Live sources are read once, front to back: they cannot be resumed or decoded twice.
    A digit string is a camera; write ``./0`` for a file named ``0``.
    """
    return _camera_index(source) is not None or (isinstance(source, str) and bool(_URL.match(source)))


def check_resumable(source: SourceLike) -> None:
    """Raise :class:`ResumeError` when ``source`` is live: its earlier frames cannot be decoded again."""
    from posetrack.errors import ResumeError

    if is_live(source):
        raise ResumeError(f"{_describe(source)}: a live source (camera or stream) cannot be resumed; "
                          "its earlier frames are gone once read")


def _describe(source: SourceLike) -> str:
    index = _camera_index(source)
    return f"camera {index}" if index is not None else str(source)


# ---------------------------------------------------------------- the source

_DONE = object()


class FrameSource:
    """Frames of one source, decoded ahead on a thread into a bounded queue.

    Iterating starts a decoding thread that keeps at most ``prefetch`` batches of
    ``batch_size`` frames ready; an exception in that thread is raised in the consumer
    after the frames decoded before it. Each new iteration decodes from the first index
    again (a live source is opened again: a camera delivers new images).

    Attributes:
        info: the source's frame rate, size, frame count (None: unknown) and liveness.
        indices: the frame indices an iteration yields (start, end and stride applied),
            or None when the source's length is unknown (a live source without ``end``).
        total: ``len(indices)``, or None when unknown.
        backend: the reader in use: "pyav", "decord", "opencv", "camera" or "images".
        truncated_at: None, or the frame at which the last iteration stopped early (the
            frames before it were yielded).
    """

    def __init__(self, reader, selection: Selection, batch_size: int, prefetch: int):
        self._reader = reader
        self._selection = selection
        self.info: VideoInfo = reader.info
        self.indices: Optional[List[int]] = selection.indices
        self.backend: str = reader.name
        self.batch_size = batch_size
        self.prefetch = prefetch
        self.truncated_at: Optional[int] = None
        self._workers: list = []

    @property
    def total(self) -> Optional[int]:
        return None if self.indices is None else len(self.indices)

    @property
    def live(self) -> bool:
        return self.info.live

    @property
    def frames_exact(self) -> bool:
        """``info.frames`` is what the container states or holds, not an estimate.

        False for a cut-off Matroska/WebM file whose packets end before its stated
        duration: ``info.frames`` is then the duration times the frame rate, and decoding
        stops earlier (``truncated_at``).
        """
        return not getattr(self._reader, "count_estimated", False)

    def __len__(self) -> int:
        if self.indices is None:
            raise TypeError(f"{self.info.path}: a live source has no length")
        return len(self.indices)

    def __iter__(self) -> Iterator[Frame]:
        for batch in self._batches():
            yield from batch

    def iter_batches(self, n: Optional[int] = None) -> Iterator[List[Frame]]:
        """Frames in lists of ``n`` (the last list may be shorter).

        An error from the source arrives after the list of the frames decoded before it.
        """
        n = n or self.batch_size
        if n < 1:
            raise InputError(f"batch size must be at least 1, got {n}")
        pending: List[Frame] = []
        try:
            for frame in self:
                pending.append(frame)
                if len(pending) == n:
                    yield pending
                    pending = []
        except Exception:
            if pending:
                yield pending
            raise
        if pending:
            yield pending

    def _batches(self) -> Iterator[List[Frame]]:
        self.truncated_at = None
        q: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        worker = threading.Thread(target=self._produce, args=(q, stop), name="posetrack-decode", daemon=True)
        self._workers.append((stop, worker))
        worker.start()
        try:
            while True:
                item = q.get()
                if item is _DONE:
                    return
                if isinstance(item, FrameFailed):
                    self._report_truncation(item)
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop(stop, worker)

    def _produce(self, q: queue.Queue, stop: threading.Event) -> None:
        def put(item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        batches = self._reader.read(self._selection, self.batch_size)
        last = None
        try:
            for batch in batches:
                batch = [_valid_time(f) for f in batch]
                good = self._good_prefix(batch)
                if good and not put(batch[:good]):
                    return
                last = batch[good - 1].index if good else last
                if good < len(batch):
                    raise self._size_error(batch[good])
            put(self._shortfall(last) or _DONE)
        except BaseException as e:  # handed to the consumer, which re-raises it (or reports a truncation)
            put(e)
        finally:
            batches.close()

    def _good_prefix(self, batch: List[Frame]) -> int:
        """How many frames of ``batch`` are (H, W, 3) uint8 at the source's size, before the first that is not."""
        want = (self.info.height, self.info.width, 3)
        for k, frame in enumerate(batch):
            if frame.image.shape != want or frame.image.dtype.name != "uint8":
                return k
        return len(batch)

    def _size_error(self, frame: Frame) -> SourceError:
        h, w = frame.image.shape[:2]
        return SourceError(f"{self.info.path}: frame {frame.index} is {w}x{h}, the video started at "
                           f"{self.info.width}x{self.info.height}; a source must keep one frame size")

    def _shortfall(self, last: Optional[int]) -> Optional[FrameFailed]:
        """A video whose container states its length and that ended before the last wanted frame: cut off."""
        want = self._selection.last
        if not getattr(self._reader, "exact_count", False) or want is None or (last is not None and last >= want):
            return None
        nxt = self._selection.start if last is None else last + self._selection.stride
        if not self.frames_exact:
            duration = getattr(self._reader, "_duration", None)
            said = f"{duration:.3f} s" if duration else f"about {self.info.frames} frames"
            return FrameFailed(nxt, f"the video ends there, its header says {said}")
        return FrameFailed(nxt, f"the video ends there, its header says {self.info.frames} frames")

    def _report_truncation(self, failure: FrameFailed) -> None:
        self.truncated_at = failure.index
        done = sum(1 for i in self.indices or () if i < failure.index)
        of = f" of {len(self.indices)}" if self.indices is not None else ""
        log.warning("%s: decoding failed at frame %d (%s); stopping there, %d%s frames were read",
                    self.info.path, failure.index, failure.reason, done, of)

    def _stop(self, stop: threading.Event, worker: threading.Thread) -> None:
        stop.set()
        worker.join()
        if (stop, worker) in self._workers:
            self._workers.remove((stop, worker))

    def close(self) -> None:
        """Stop any decoding thread and release the file, camera or stream."""
        for stop, worker in list(self._workers):
            self._stop(stop, worker)
        self._reader.close()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _valid_time(frame: Frame) -> Frame:
    """Frame times are finite and never negative (a container may stamp a frame before its stated start)."""
    t = frame.time
    if t is None or (math.isfinite(t) and t >= 0):
        return frame
    return dataclasses.replace(frame, time=max(t, 0.0) if math.isfinite(t) else None)


def _check_args(start: int, end: Optional[int], stride: int, batch_size: int, prefetch: int) -> None:
    if start < 0:
        raise InputError(f"start must be 0 or more, got {start}")
    if end is not None and end <= start:
        raise InputError(f"end ({end}) must be greater than start ({start})")
    if stride < 1:
        raise InputError(f"stride must be at least 1, got {stride}")
    if batch_size < 1 or prefetch < 1:
        raise InputError(f"batch_size and prefetch must be at least 1, got {batch_size} and {prefetch}")


def _open_with(target, backends: Dict[str, Callable], backend: str, what: str):
    if backend == "auto":
        order = [name for name in AUTO_BACKENDS if name in backends]
    elif backend in backends:
        order = [backend]
    else:
        raise ConfigError(f"unknown video backend {backend!r} for {what}; choose one of: auto, {', '.join(backends)}")
    reasons = []
    for name in order:
        try:
            return backends[name](target)
        except ImportError:
            reasons.append(f"{name} is not installed")
        except OpenFailed as e:
            reasons.append(f"{name}: {e}")
        if len(order) > 1:
            log.info("%s: %s; trying the next video backend", target, reasons[-1])
    raise SourceError(f"{target}: cannot decode this {what} as a video ({'; '.join(reasons)})")


def _open_reader(source: SourceLike, backend: str, folder_fps: float):
    index = _camera_index(source)
    if index is not None:
        return CameraReader(index)
    if isinstance(source, str) and _URL.match(source):
        return _open_with(source, STREAM_BACKENDS, backend, "stream")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        return ImageFolderReader(path, folder_fps)
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty (0 bytes)")
    if backend not in ("auto", *BACKENDS):  # before any decoder is tried
        raise ConfigError(f"unknown video backend {backend!r}; choose one of: auto, {', '.join(BACKENDS)}")
    return _open_with(path, BACKENDS, backend, "file")


def open_source(source: SourceLike, start: int = 0, end: Optional[int] = None, stride: int = 1,
                backend: str = "auto", batch_size: int = 8, prefetch: int = 2,
                folder_fps: float = DEFAULT_FOLDER_FPS) -> FrameSource:
    """Open a video file, image folder, camera or stream URL as a :class:`FrameSource`.

    Args:
        source: a video file, a folder of images, a camera index (``0`` or ``"0"``), or a
            stream URL (rtsp, rtmp, http, https, ...).
        start: first frame index (0-based).
        end: frame index to stop before (exclusive); None or past the end means "to the end".
        stride: yield every ``stride``-th frame from ``start``.
        backend: "auto" (PyAV, then OpenCV), "pyav", "decord" or "opencv";
            ignored for folders and cameras; streams take "pyav" or "opencv".
        batch_size: frames per decoded batch.
        prefetch: batches the decoding thread may hold ready (bounds memory).
        folder_fps: frame rate reported for image folders, which carry none.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        SourceError: an empty or undecodable file, an empty folder, a camera or stream that
            cannot be opened; the message names it.
        ConfigError: an unknown backend.
        InputError: a range that selects no frame.
    """
    _check_args(start, end, stride, batch_size, prefetch)
    reader = _open_reader(source, backend, folder_fps)
    total = reader.info.frames
    if total is not None and start >= total:
        reader.close()
        raise InputError(f"{reader.info.path}: start frame {start} is past the end (the source has {total} frames)")
    stop = end if total is None else (total if end is None else min(end, total))
    return FrameSource(reader, Selection(start, stop, stride), batch_size, prefetch)
