"""Frame sources: video files and image folders, decoded ahead of the consumer on a thread.

Videos are read with decord (sequential batched reads) and fall back to OpenCV when
decord is not installed or cannot open the file. A folder of .jpg/.jpeg/.png images
(how PoseTrack ships its sequences) is read in natural order (``frame2`` before
``frame10``). Frame rate, size and count come from the source; folders carry no frame
rate, so ``folder_fps`` (25 by default) stands in.

A file that stops decoding part-way (truncated, corrupt) does not raise: the source
logs a warning naming the file and frame, stops there, and sets ``truncated_at``, so
everything before that frame is kept.

Example:
    >>> from posetrack.video import open_source
    >>> with open_source("clip.mp4", start=10, end=100, stride=2) as source:
    ...     print(source.info.fps, len(source.indices))
    ...     for frame in source:            # posetrack.structures.Frame, RGB uint8
    ...         pass
    ...     if source.truncated_at is not None:
    ...         print("stopped at frame", source.truncated_at)
"""
from __future__ import annotations

import logging
import math
import os
import queue
import re
import threading
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from .errors import ConfigError, InputError, SourceError
from .structures import Frame, VideoInfo

__all__ = ["FrameSource", "open_source", "list_images", "natural_key", "BACKENDS", "IMAGE_SUFFIXES", "DEFAULT_FOLDER_FPS"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DEFAULT_FOLDER_FPS = 25.0


class _OpenFailed(Exception):
    """A backend cannot read this file at all (the reason is the message)."""


class _FrameFailed(Exception):
    """Decoding stopped at frame ``index``; frames before it were delivered."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


def natural_key(name: str) -> list:
    """Sort key that orders digit runs by value: ``frame2`` < ``frame10``."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", name) if t]


def list_images(folder: Path) -> List[Path]:
    """The frames of an image folder (.jpg/.jpeg/.png), in natural sort order (frame2 before frame10)."""
    files = [p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: natural_key(p.name))


def _first_line(exc: BaseException) -> str:
    """The gist of a backend's error: first line, without decord's "[hh:mm:ss] file.cc:123: " prefix."""
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    return re.sub(r"^\[[\d:]+\] \S+:\d+: (Error: )?", "", text)[:200]


def _chunks(indices: Sequence[int], size: int) -> Iterator[List[int]]:
    for i in range(0, len(indices), size):
        yield list(indices[i:i + size])


def _fps_or_default(fps: float, path: Path) -> float:
    if fps and math.isfinite(fps) and fps > 0:
        return float(fps)
    log.warning("%s: the video states no frame rate; assuming %g fps", path, DEFAULT_FOLDER_FPS)
    return DEFAULT_FOLDER_FPS


# ---------------------------------------------------------------- readers
# Each reader knows its VideoInfo and yields lists of Frames for requested (ascending)
# indices; at a frame it cannot decode it yields what it has and raises _FrameFailed.

class _DecordReader:
    """decord: batched reads with ``get_batch``; a failing batch is retried frame by frame."""

    name = "decord"

    def __init__(self, path: Path):
        import decord  # ImportError means "not installed"; open_source falls back

        try:
            self._vr = decord.VideoReader(str(path), ctx=decord.cpu(0))
            n = len(self._vr)
            height, width = self._vr[0].shape[:2] if n else (0, 0)
            fps = self._vr.get_avg_fps()
        except Exception as e:  # decord raises its own DECORDError (an Exception) for everything
            raise _OpenFailed(_first_line(e)) from None
        if n <= 0:
            raise _OpenFailed("no video frames")
        self.info = VideoInfo(str(path), _fps_or_default(fps, path), int(width), int(height), int(n))

    def read(self, indices: Sequence[int], batch_size: int) -> Iterator[List[Frame]]:
        for chunk in _chunks(indices, batch_size):
            try:
                batch = self._vr.get_batch(chunk).asnumpy()
            except Exception:
                yield from self._one_by_one(chunk)
                continue
            yield [Frame(i, batch[k]) for k, i in enumerate(chunk)]

    def _one_by_one(self, chunk: List[int]) -> Iterator[List[Frame]]:
        frames = []
        for i in chunk:
            try:
                frames.append(Frame(i, self._vr[i].asnumpy()))
            except Exception as e:
                if frames:
                    yield frames
                raise _FrameFailed(i, _first_line(e)) from None
        yield frames

    def close(self) -> None:
        self._vr = None


class _OpenCVReader:
    """OpenCV: sequential ``grab``/``read`` (exact frame positions, no keyframe seeking)."""

    name = "opencv"

    def __init__(self, path: Path):
        import cv2

        self._path = path
        cap = cv2.VideoCapture(str(path))
        try:
            if not cap.isOpened():
                raise _OpenFailed("OpenCV cannot open it")
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps = cap.get(cv2.CAP_PROP_FPS)
        finally:
            cap.release()
        if n <= 0 or width <= 0 or height <= 0:
            raise _OpenFailed("no video frames")
        self.info = VideoInfo(str(path), _fps_or_default(fps, path), width, height, n)

    def read(self, indices: Sequence[int], batch_size: int) -> Iterator[List[Frame]]:
        import cv2

        cap = cv2.VideoCapture(str(self._path))
        try:
            pos, frames = 0, []
            for i in indices:
                while pos < i:  # skip frames by grabbing them: exact, unlike CAP_PROP_POS_FRAMES seeks
                    if not cap.grab():
                        break
                    pos += 1
                ok, bgr = cap.read() if pos == i else (False, None)
                if not ok:
                    if frames:
                        yield frames
                    raise _FrameFailed(pos, "OpenCV could not decode it")
                pos += 1
                frames.append(Frame(i, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
                if len(frames) == batch_size:
                    yield frames
                    frames = []
            if frames:
                yield frames
        finally:
            cap.release()

    def close(self) -> None:
        pass


class _ImageFolderReader:
    """A folder of images, one frame per file, in natural sort order."""

    name = "images"

    def __init__(self, folder: Path, fps: float):
        self.files = list_images(folder)
        if not self.files:
            raise SourceError(f"{folder}: no {', '.join(IMAGE_SUFFIXES)} images in this folder")
        if not (fps > 0 and math.isfinite(fps)):
            raise InputError(f"folder_fps must be a positive number, got {fps}")
        first = self._load(self.files[0])
        if first is None:
            raise SourceError(f"{self.files[0]}: cannot read this image")
        self.info = VideoInfo(str(folder), float(fps), first.shape[1], first.shape[0], len(self.files))

    @staticmethod
    def _load(path: Path) -> Optional[np.ndarray]:
        import cv2

        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def read(self, indices: Sequence[int], batch_size: int) -> Iterator[List[Frame]]:
        for chunk in _chunks(indices, batch_size):
            frames = []
            for i in chunk:
                image = self._load(self.files[i])
                if image is None:
                    if frames:
                        yield frames
                    raise _FrameFailed(i, f"cannot read {self.files[i].name}")
                if image.shape[:2] != (self.info.height, self.info.width):
                    raise SourceError(f"{self.files[i]}: image is {image.shape[1]}x{image.shape[0]}, "
                                     f"the sequence is {self.info.width}x{self.info.height}")
                frames.append(Frame(i, image))
            yield frames

    def close(self) -> None:
        pass


# Video backends by name; "auto" tries them in this order.
BACKENDS: Dict[str, Callable[[Path], object]] = {"decord": _DecordReader, "opencv": _OpenCVReader}


def _open_video(path: Path, backend: str):
    if backend == "auto":
        order = list(BACKENDS)
    elif backend in BACKENDS:
        order = [backend]
    else:
        raise ConfigError(f"unknown video backend {backend!r}; choose one of: auto, {', '.join(BACKENDS)}")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty (0 bytes)")
    reasons = []
    for name in order:
        try:
            return BACKENDS[name](path)
        except ImportError:
            reasons.append(f"{name} is not installed")
        except _OpenFailed as e:
            reasons.append(f"{name}: {e}")
        if len(order) > 1:
            log.info("%s: %s; trying the next video backend", path, reasons[-1])
    raise SourceError(f"{path}: cannot decode this file as a video ({'; '.join(reasons)})")


# ---------------------------------------------------------------- the source

_DONE = object()


class FrameSource:
    """Frames of one video or image folder, decoded ahead on a thread into a bounded queue.

    Iterating starts a decoding thread that keeps at most ``prefetch`` batches of
    ``batch_size`` frames ready; an exception in that thread is raised in the consumer.
    Each new iteration decodes from the first index again.

    Attributes:
        info: the source's frame rate, size and total frame count.
        indices: the frame indices an iteration yields (start, end and stride applied).
        backend: the reader in use: "decord", "opencv" or "images".
        truncated_at: None, or the frame at which decoding failed in the last iteration
            (the frames before it were yielded).
    """

    def __init__(self, reader, indices: List[int], batch_size: int, prefetch: int):
        self._reader = reader
        self.info: VideoInfo = reader.info
        self.indices: List[int] = indices
        self.backend: str = reader.name
        self.batch_size = batch_size
        self.prefetch = prefetch
        self.truncated_at: Optional[int] = None
        self._workers: list = []

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[Frame]:
        for batch in self._batches():
            yield from batch

    def iter_batches(self, n: Optional[int] = None) -> Iterator[List[Frame]]:
        """Frames in lists of ``n`` (the last list may be shorter)."""
        n = n or self.batch_size
        if n < 1:
            raise InputError(f"batch size must be at least 1, got {n}")
        pending: List[Frame] = []
        for frame in self:
            pending.append(frame)
            if len(pending) == n:
                yield pending
                pending = []
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
                if isinstance(item, _FrameFailed):
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

        batches = self._reader.read(self.indices, self.batch_size)
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as e:  # handed to the consumer, which re-raises it
            put(e)
        finally:
            batches.close()

    def _report_truncation(self, failure: _FrameFailed) -> None:
        self.truncated_at = failure.index
        done = sum(1 for i in self.indices if i < failure.index)
        log.warning("%s: decoding failed at frame %d (%s); stopping there, %d of %d frames were read",
                    self.info.path, failure.index, failure.reason, done, len(self.indices))

    def _stop(self, stop: threading.Event, worker: threading.Thread) -> None:
        stop.set()
        worker.join()
        if (stop, worker) in self._workers:
            self._workers.remove((stop, worker))

    def close(self) -> None:
        """Stop any decoding thread and release the file."""
        for stop, worker in list(self._workers):
            self._stop(stop, worker)
        self._reader.close()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_args(start: int, end: Optional[int], stride: int, batch_size: int, prefetch: int) -> None:
    if start < 0:
        raise InputError(f"start must be 0 or more, got {start}")
    if end is not None and end <= start:
        raise InputError(f"end ({end}) must be greater than start ({start})")
    if stride < 1:
        raise InputError(f"stride must be at least 1, got {stride}")
    if batch_size < 1 or prefetch < 1:
        raise InputError(f"batch_size and prefetch must be at least 1, got {batch_size} and {prefetch}")


def open_source(path: PathLike, start: int = 0, end: Optional[int] = None, stride: int = 1,
                backend: str = "auto", batch_size: int = 8, prefetch: int = 2,
                folder_fps: float = DEFAULT_FOLDER_FPS) -> FrameSource:
    """Open a video file or a folder of images as a :class:`FrameSource`.

    Args:
        path: a video file, or a folder of .jpg/.jpeg/.png frames.
        start: first frame index (0-based).
        end: frame index to stop before (exclusive); None or past the end means "to the end".
        stride: yield every ``stride``-th frame from ``start``.
        backend: "auto" (decord, falling back to OpenCV), "decord" or "opencv"; ignored for folders.
        batch_size: frames per decoded batch.
        prefetch: batches the decoding thread may hold ready (bounds memory).
        folder_fps: frame rate reported for image folders, which carry none.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: an empty or undecodable file, an empty folder, an unknown backend,
            or a range that selects no frame; the message names the file.
    """
    path = Path(path)
    _check_args(start, end, stride, batch_size, prefetch)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    reader = _ImageFolderReader(path, folder_fps) if path.is_dir() else _open_video(path, backend)
    total = reader.info.frames
    if start >= total:
        reader.close()
        raise InputError(f"{path}: start frame {start} is past the end (the source has {total} frames)")
    stop = total if end is None else min(end, total)
    return FrameSource(reader, list(range(start, stop, stride)), batch_size, prefetch)
