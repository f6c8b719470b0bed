"""What every frame decoder shares: the frame selection, the two failures, file ordering, quiet decoders."""
from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

from posetrack.types import DEFAULT_FPS

log = logging.getLogger("posetrack.io.video")

# What cv2.imread reads in every OpenCV wheel; other files in a folder are ignored (and listed in the log).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FOLDER_FPS = DEFAULT_FPS      # an image folder says nothing of its rate

# Seconds a network stream may take to open, and to deliver the next data, before it counts as gone.
STREAM_TIMEOUT = (15.0, 15.0)


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


def fps_or_default(fps: float, where: str) -> float:
    if fps and math.isfinite(fps) and fps > 0:
        return float(fps)
    log.warning("%s: the video states no frame rate; assuming %g fps", where, DEFAULT_FOLDER_FPS)
    return DEFAULT_FOLDER_FPS


def chunks(indices: Sequence[int], size: int) -> Iterator[List[int]]:
    for i in range(0, len(indices), size):
        yield list(indices[i:i + size])


# OpenCV reads this once, when it first opens or writes a video with FFmpeg: AV_LOG_QUIET (-8)
# keeps FFmpeg's "[h264 @ 0x...]" lines off stderr. A value the user set is kept.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def quiet_decord() -> None:
    import decord

    decord.logging.set_level(decord.logging.QUIET)


class _QuietOpenCV:
    """OpenCV's own log lines ("[ WARN:0@0.01] ...", "[ERROR:0@0.01] global grfmt_png.cpp ...") off while in use.

    OpenCV's log level is one setting for the whole process, and decoding runs in a thread of its own
    beside the caller's: the level is lowered when the first user enters and restored when the last
    one leaves, so overlapping users never restore each other's setting.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0
        self._saved = None

    @contextlib.contextmanager
    def __call__(self):
        import cv2

        with self._lock:
            if self._users == 0:
                self._saved = cv2.utils.logging.getLogLevel()
                cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    cv2.utils.logging.setLogLevel(self._saved)


#: ``with quiet_opencv(): cv2.imread(...)``: what went wrong reaches the user as our own error instead.
quiet_opencv = _QuietOpenCV()
